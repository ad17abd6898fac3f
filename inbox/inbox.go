// Package inbox makes every acknowledged webhook durable: it is a
// go-githubapp Scheduler that writes a verified delivery to the store before
// the dispatcher answers GitHub, and a pool of workers that process
// deliveries from the store, retry failures with backoff and leave the ones
// that keep failing visible as dead. Pending work survives a crash or restart.
package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge-bot/store"
)

// Queue is the durable part of the inbox.
type Queue interface {
	Enqueue(ctx context.Context, d store.Delivery) (inserted bool, err error)
	Claim(ctx context.Context, limit int, lease time.Duration) ([]store.Delivery, error)
	Complete(ctx context.Context, id string) error
	Fail(ctx context.Context, id string, errMsg string, retryAt time.Time, dead bool) error
	ReleaseLeases(ctx context.Context) error
	ReleaseAllLeases(ctx context.Context) (int64, error)
}

// Observer receives what the inbox does, for metrics. Any field may be nil.
type Observer struct {
	Enqueued  func(event string, duplicate bool)
	Processed func(event, outcome string, received time.Time, took time.Duration) // outcome: done|retry|dead
}

// Options tune the workers.
type Options struct {
	Workers     int           // concurrent handlers; default 4
	MaxAttempts int           // attempts before a delivery is dead; default 8
	RetryBase   time.Duration // first retry delay, doubled each attempt; default 2s
	RetryMax    time.Duration // cap of the retry delay; default 5m
	// Lease is how long a claimed delivery is reserved; a process that dies
	// holding it gives it back when the lease expires (or at once at the next
	// start, with ResumeOnStart). It must outlast the slowest handler, rate
	// limit waits included, or a second worker could take the delivery over.
	// Default 1h.
	Lease time.Duration
	// Poll is how often idle workers look for due retries; default 1s.
	Poll time.Duration
	// ResumeOnStart releases every lease when Run starts, so work a killed
	// process had claimed resumes at once. Only for a single instance per store.
	ResumeOnStart bool
	Logger        zerolog.Logger
	Observer      Observer
	Now           func() time.Time
}

// Inbox is the durable scheduler and its workers.
type Inbox struct {
	q        Queue
	opts     Options
	mu       sync.RWMutex
	handlers map[string]githubapp.EventHandler
	wake     chan struct{}
}

var _ githubapp.Scheduler = (*Inbox)(nil)

// New makes an inbox over q. Register handlers before Run.
func New(q Queue, opts Options) *Inbox {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = 2 * time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 5 * time.Minute
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Hour
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Inbox{q: q, opts: opts, handlers: map[string]githubapp.EventHandler{}, wake: make(chan struct{}, 1)}
}

// Register makes the inbox able to process the handlers' events, also for
// deliveries stored by an earlier process.
func (in *Inbox) Register(handlers ...githubapp.EventHandler) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i := len(handlers) - 1; i >= 0; i-- { // the first handler wins, as in the dispatcher
		for _, ev := range handlers[i].Handles() {
			in.handlers[ev] = handlers[i]
		}
	}
}

// Schedule stores the delivery durably; it returns only once the delivery
// would survive a crash, so the dispatcher's 2xx is a promise. A redelivery
// of a stored ID is acknowledged and not processed again.
func (in *Inbox) Schedule(ctx context.Context, d githubapp.Dispatch) error {
	id := d.DeliveryID
	if id == "" {
		// Without GitHub's ID, identical bodies of one event are one delivery.
		sum := sha256.Sum256(append([]byte(d.EventType+"\x00"), d.Payload...))
		id = "sha256:" + hex.EncodeToString(sum[:16])
	}
	inserted, err := in.q.Enqueue(ctx, store.Delivery{ID: id, Event: d.EventType, Payload: d.Payload, ReceivedAt: in.opts.Now()})
	if err != nil {
		return fmt.Errorf("store delivery %s (%s): %w", id, d.EventType, err)
	}
	if in.opts.Observer.Enqueued != nil {
		in.opts.Observer.Enqueued(d.EventType, !inserted)
	}
	if !inserted {
		zerolog.Ctx(ctx).Info().Str("delivery", id).Msg("redelivery of a stored webhook; not processing it again")
		return nil
	}
	in.signal()
	return nil
}

func (in *Inbox) signal() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// Run processes deliveries until ctx is cancelled, then waits up to grace for
// the handlers in flight and gives the rest back to the queue for the next
// start.
func (in *Inbox) Run(ctx context.Context, grace time.Duration) error {
	if in.opts.ResumeOnStart {
		n, err := in.q.ReleaseAllLeases(ctx)
		if err != nil {
			return fmt.Errorf("resume interrupted deliveries: %w", err)
		}
		if n > 0 {
			in.opts.Logger.Info().Int64("deliveries", n).Msg("resuming deliveries a previous process had started")
		}
	}
	work := make(chan store.Delivery)
	// Handlers run on a context that outlives ctx by the grace period, so a
	// SIGTERM lets in-flight work finish rather than cutting API calls short.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	var wg sync.WaitGroup
	for range in.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range work {
				in.process(hctx, d)
			}
		}()
	}

	claimErr := in.feed(ctx, work)
	close(work)

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		in.opts.Logger.Warn().Dur("grace", grace).Msg("shutdown grace over; abandoning in-flight deliveries to the next start")
		hcancel()
		<-done
	}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	if err := in.q.ReleaseLeases(rctx); err != nil {
		return errors.Join(claimErr, fmt.Errorf("release inbox leases: %w", err))
	}
	return claimErr
}

// feed claims due deliveries and hands them to idle workers.
func (in *Inbox) feed(ctx context.Context, work chan<- store.Delivery) error {
	ticker := time.NewTicker(in.opts.Poll)
	defer ticker.Stop()
	// A few deliveries per worker per claim: one transaction hands out many,
	// and none waits long for a worker (so its lease stays meaningful).
	claimBatch := 4 * in.opts.Workers
	for {
		batch, err := in.q.Claim(ctx, claimBatch, in.opts.Lease)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			in.opts.Logger.Error().Err(err).Msg("claim deliveries from the inbox")
		}
		for _, d := range batch {
			select {
			case work <- d:
			case <-ctx.Done():
				// Not started: Run releases our leases once the workers stop.
				return nil
			}
		}
		if len(batch) == claimBatch {
			continue // more may be waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-in.wake:
		case <-ticker.C:
		}
	}
}

// attemptKey carries the attempt number to handlers.
type attemptKey struct{}

// Attempt returns which attempt at its delivery a handler is running: 1 the
// first time, more on retries or after a restart that interrupted it. A
// handler seeing more than 1 may find its own earlier side effects.
func Attempt(ctx context.Context) int {
	if n, ok := ctx.Value(attemptKey{}).(int); ok {
		return n
	}
	return 1
}

func (in *Inbox) process(ctx context.Context, d store.Delivery) {
	in.mu.RLock()
	h := in.handlers[d.Event]
	in.mu.RUnlock()
	attempt := max(d.Claims, d.Attempts+1)
	logger := in.opts.Logger.With().Str(githubapp.LogKeyEventType, d.Event).Str(githubapp.LogKeyDeliveryID, d.ID).Int("attempt", attempt).Logger()
	ctx = logger.WithContext(context.WithValue(ctx, attemptKey{}, attempt))
	start := in.opts.Now()

	var err error
	if attempt > in.opts.MaxAttempts {
		// Claimed this often without a recorded failure: processing it keeps
		// killing the process. Stop before it takes the next start down too.
		err = fmt.Errorf("claimed %d times without finishing; giving up", d.Claims)
	} else {
		err = in.run(ctx, h, d)
	}
	outcome := "done"
	switch {
	case err == nil:
		if cerr := in.q.Complete(ctx, d.ID); cerr != nil {
			logger.Error().Err(cerr).Msg("mark delivery done")
		}
	default:
		dead := attempt >= in.opts.MaxAttempts
		retryAt := in.opts.Now().Add(in.backoff(d.Attempts))
		outcome = "retry"
		if dead {
			outcome = "dead"
		}
		logger.Error().Err(err).Bool("dead", dead).Time("retry_at", retryAt).Msg("processing webhook failed")
		if ferr := in.q.Fail(ctx, d.ID, err.Error(), retryAt, dead); ferr != nil {
			logger.Error().Err(ferr).Msg("record failed delivery")
		}
	}
	if in.opts.Observer.Processed != nil {
		in.opts.Observer.Processed(d.Event, outcome, d.ReceivedAt, in.opts.Now().Sub(start))
	}
}

// run calls the handler, turning a panic into an error so one bad delivery
// cannot take the worker down.
func (in *Inbox) run(ctx context.Context, h githubapp.EventHandler, d store.Delivery) (err error) {
	if h == nil {
		return nil // an event no handler claims any more: nothing to do
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v\n%s", r, debug.Stack())
		}
	}()
	return h.Handle(ctx, d.Event, d.ID, d.Payload)
}

// backoff is the delay before attempt n+1: exponential from RetryBase with
// jitter, capped at RetryMax.
func (in *Inbox) backoff(attempts int) time.Duration {
	d := in.opts.RetryBase << min(attempts, 20)
	if d <= 0 || d > in.opts.RetryMax {
		d = in.opts.RetryMax
	}
	return d/2 + rand.N(d/2+1)
}
