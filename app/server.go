package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/gregjones/httpcache"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge-bot/config"
	"github.com/tinyforge/tinyforge-bot/handlers"
	"github.com/tinyforge/tinyforge-bot/inbox"
	"github.com/tinyforge/tinyforge-bot/store"
	"github.com/tinyforge/tinyforge-bot/tinyforge"
)

// userAgent identifies the bot to GitHub and Tinyforge.
const userAgent = "tinyforge-bot/1"

// Server is the running GitHub App: webhook endpoint, durable inbox and
// operational endpoints.
type Server struct {
	cfg     *config.Config
	logger  zerolog.Logger
	store   *store.SQLite
	inbox   *inbox.Inbox
	metrics *metrics
	handler http.Handler
	tf      *tinyforge.Client

	readyMu    sync.Mutex
	readyAt    time.Time
	readyError error
}

// NewServer builds every part from a validated config. Close releases them.
func NewServer(ctx context.Context, cfg *config.Config, logger zerolog.Logger) (*Server, error) {
	st, err := store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Server{cfg: cfg, logger: logger, store: st}
	s.metrics = newMetrics(st.InboxStats)

	s.tf, err = tinyforge.New(cfg.Tinyforge.URL, string(cfg.Tinyforge.Token),
		tinyforge.WithTimeout(cfg.Tinyforge.Timeout),
		tinyforge.WithUserAgent(userAgent),
		tinyforge.WithObserver(func(method, route string, status int, err error, d time.Duration) {
			s.metrics.tinyforgeCalls.WithLabelValues(method, route, statusLabel(status)).Inc()
			s.metrics.tinyforgeDuration.WithLabelValues(method, route).Observe(d.Seconds())
		}))
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("tinyforge client: %w", err)
	}

	cc, err := githubapp.NewDefaultCachingClientCreator(cfg.GitHub,
		githubapp.WithClientUserAgent(userAgent),
		githubapp.WithClientTimeout(30*time.Second),
		// Conditional requests: unchanged content comes back as 304, which
		// GitHub does not count against the rate limit.
		githubapp.WithClientCaching(true, func() httpcache.Cache { return httpcache.NewMemoryCache() }),
		githubapp.WithClientMiddleware(githubMiddleware(s.metrics, logger, sleepCtx)),
	)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("github client creator: %w", err)
	}

	base := &handlers.Base{
		ClientCreator: cc,
		Tinyforge:     s.tf,
		Workloads:     tinyforge.NewResolver(s.tf, cfg.Tinyforge.CacheTTL),
		Store:         st,
		AppID:         cfg.GitHub.App.IntegrationID,
		Policy:        handlers.SyncPolicy{Permission: cfg.Sync.Permission, Users: cfg.Sync.Users, Teams: cfg.Sync.Teams},
		Observer: handlers.Observer{
			CheckCompleted: func(c string) { s.metrics.checks.WithLabelValues(c).Inc() },
			SyncOutcome:    func(o string) { s.metrics.syncs.WithLabelValues(o).Inc() },
		},
	}
	hs := []githubapp.EventHandler{
		&handlers.Push{Base: base},
		&handlers.PullRequest{Base: base},
		&handlers.IssueComment{Base: base},
		&handlers.CheckRun{Base: base},
		&handlers.CheckSuite{Base: base},
		&handlers.Installation{Base: base},
	}
	for i, h := range hs {
		hs[i] = rateLimitPatient{h}
	}
	s.inbox = inbox.New(st, inbox.Options{
		Workers:     cfg.Inbox.Workers,
		MaxAttempts: cfg.Inbox.MaxAttempts,
		RetryBase:   cfg.Inbox.RetryBase,
		// One instance per SQLite file (see docs/operations.md).
		ResumeOnStart: true,
		Logger:        logger,
		Observer: inbox.Observer{
			Enqueued: func(event string, dup bool) {
				outcome := "accepted"
				if dup {
					outcome = "duplicate"
				}
				s.metrics.webhooks.WithLabelValues(event, outcome).Inc()
			},
			Processed: func(event, outcome string, _ time.Time, took time.Duration) {
				s.metrics.processed.WithLabelValues(event, outcome).Inc()
				s.metrics.processing.WithLabelValues(event).Observe(took.Seconds())
			},
		},
	})
	s.inbox.Register(hs...)

	dispatcher := githubapp.NewEventDispatcher(hs, cfg.GitHub.App.WebhookSecret,
		githubapp.WithScheduler(s.inbox),
		githubapp.WithErrorCallback(s.webhookError),
	)
	mux := http.NewServeMux()
	mux.Handle("POST "+githubapp.DefaultWebhookRoute, http.MaxBytesHandler(dispatcher, maxWebhookBytes))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		respondJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	s.handler = withLogger(logger, mux)
	return s, nil
}

// rateLimitPatient makes go-github wait for an exhausted primary rate limit
// to reset before sending, instead of failing at once: the delivery waits
// and its work is done rather than retried into the dead list.
type rateLimitPatient struct{ githubapp.EventHandler }

func (h rateLimitPatient) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	ctx = context.WithValue(ctx, github.SleepUntilPrimaryRateLimitResetWhenRateLimited, true)
	return h.EventHandler.Handle(ctx, eventType, deliveryID, payload)
}

// maxWebhookBytes is GitHub's cap on a delivery: larger payloads are never sent.
const maxWebhookBytes = 25 << 20

// Handler serves the webhook and operational endpoints.
func (s *Server) Handler() http.Handler { return s.handler }

// Store is the server's store (the demo and tests read the audit log from it).
func (s *Server) Store() *store.SQLite { return s.store }

// RunWorkers processes the inbox until ctx is cancelled, then waits up to the
// configured grace for in-flight work.
func (s *Server) RunWorkers(ctx context.Context) error {
	return s.inbox.Run(ctx, s.cfg.Server.ShutdownGrace)
}

// Close releases the store.
func (s *Server) Close() error { return s.store.Close() }

// Serve answers on l until ctx is cancelled, then stops accepting, lets
// in-flight requests and deliveries finish within the grace period and
// leaves the rest pending for the next start.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	workersDone := make(chan error, 1)
	wctx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	go func() { workersDone <- s.RunWorkers(wctx) }()

	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(l) }()
	s.logger.Info().Str("address", l.Addr().String()).Msg("serving")

	go s.pruneDone(wctx)

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	// One grace period for everything: the listener closes at once, requests
	// in flight and handlers in flight finish side by side, and what is left
	// stays pending in the inbox for the next start.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.Server.ShutdownGrace)
	defer cancel()
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Shutdown(shutdownCtx) }()
	stopWorkers()
	if serr := <-httpDone; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		// Connections still open after the grace (a client that connected
		// and sent nothing counts as busy for 5 s) are cut: every delivery
		// already acknowledged is in the store, so nothing is lost.
		s.logger.Warn().Err(serr).Msg("closing connections still open after the shutdown grace")
		_ = hs.Close()
	}
	if werr := <-workersDone; werr != nil {
		err = errors.Join(err, werr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	s.logger.Info().Msg("stopped")
	return err
}

// keepDone is how long processed deliveries stay in the inbox: long enough
// to recognise GitHub redeliveries and to investigate, short enough that the
// store does not grow without bound.
const keepDone = 7 * 24 * time.Hour

func (s *Server) pruneDone(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := s.store.PruneDone(ctx, time.Now().Add(-keepDone)); err != nil && ctx.Err() == nil {
			s.logger.Warn().Err(err).Msg("prune processed deliveries")
		} else if n > 0 {
			s.logger.Info().Int64("deliveries", n).Msg("pruned processed deliveries")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// webhookError answers a delivery that could not be accepted. An invalid
// signature is the sender's fault (400); a store failure is ours (503), so
// GitHub shows it as failed and it can be redelivered.
func (s *Server) webhookError(w http.ResponseWriter, r *http.Request, err error) {
	event := r.Header.Get("X-GitHub-Event")
	var ve githubapp.ValidationError
	if errors.As(err, &ve) {
		s.metrics.webhooks.WithLabelValues(event, "rejected").Inc()
		zerolog.Ctx(r.Context()).Warn().Err(err).Str("remote", r.RemoteAddr).Msg("rejected webhook")
		http.Error(w, "invalid webhook: "+ve.Cause.Error(), http.StatusBadRequest)
		return
	}
	s.metrics.webhooks.WithLabelValues(event, "error").Inc()
	zerolog.Ctx(r.Context()).Error().Err(err).Msg("could not store webhook")
	http.Error(w, "could not store the delivery; please redeliver", http.StatusServiceUnavailable)
}

// readyCacheFor keeps /readyz cheap when probed often.
const readyCacheFor = 10 * time.Second

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	s.readyMu.Lock()
	if time.Since(s.readyAt) > readyCacheFor {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		s.readyError = s.checkReady(ctx)
		s.readyAt = time.Now()
		cancel()
	}
	err := s.readyError
	s.readyMu.Unlock()
	if err != nil {
		respondJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": err.Error()})
		return
	}
	respondJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) checkReady(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("store not writable: %w", err)
	}
	if _, err := s.tf.ListWorkloads(ctx); err != nil {
		return fmt.Errorf("tinyforge unreachable: %w", err)
	}
	return nil
}

func respondJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// withLogger gives every request the base logger, which go-githubapp's
// dispatcher reads from the context.
func withLogger(logger zerolog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(logger.WithContext(r.Context())))
	})
}
