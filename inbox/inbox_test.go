package inbox

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge-bot/store"
)

// handler records each call and answers with what fail says for that attempt.
type handler struct {
	mu       sync.Mutex
	calls    map[string][]int // delivery → attempts seen
	fail     func(id string, attempt int) error
	handled  chan string
	onHandle func()
}

func (h *handler) Handles() []string { return []string{"push"} }

func (h *handler) Handle(ctx context.Context, event, id string, payload []byte) error {
	if h.onHandle != nil {
		h.onHandle()
	}
	h.mu.Lock()
	h.calls[id] = append(h.calls[id], Attempt(ctx))
	h.mu.Unlock()
	var err error
	if h.fail != nil {
		err = h.fail(id, Attempt(ctx))
	}
	h.handled <- id
	return err
}

func (h *handler) attempts(id string) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int(nil), h.calls[id]...)
}

func newStore(t *testing.T, path string) *store.SQLite {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newInbox(st *store.SQLite, h *handler) *Inbox {
	in := New(st, Options{Workers: 2, MaxAttempts: 3, RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond, Poll: 5 * time.Millisecond, Logger: zerolog.Nop(), ResumeOnStart: true})
	in.Register(h)
	return in
}

func start(t *testing.T, in *Inbox) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, time.Second) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func schedule(t *testing.T, in *Inbox, id string) {
	t.Helper()
	if err := in.Schedule(context.Background(), githubapp.Dispatch{EventType: "push", DeliveryID: id, Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
}

func waitState(t *testing.T, st *store.SQLite, id, state string) store.Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ds, err := st.ListDeliveries(context.Background(), state, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.ID == id {
				return d
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("delivery %s never reached state %s", id, state)
	return store.Delivery{}
}

func TestDeliveryIsProcessedOnceAndRedeliveryIgnored(t *testing.T) {
	st := newStore(t, filepath.Join(t.TempDir(), "bot.db"))
	h := &handler{calls: map[string][]int{}, handled: make(chan string, 10)}
	in := newInbox(st, h)
	defer start(t, in)()
	schedule(t, in, "d1")
	schedule(t, in, "d1") // GitHub's Redeliver keeps the ID
	waitState(t, st, "d1", store.StateDone)
	schedule(t, in, "d1")
	time.Sleep(20 * time.Millisecond)
	if got := h.attempts("d1"); len(got) != 1 || got[0] != 1 {
		t.Errorf("attempts = %v, want [1]", got)
	}
}

func TestFailuresRetryWithBackoffThenDie(t *testing.T) {
	st := newStore(t, filepath.Join(t.TempDir(), "bot.db"))
	h := &handler{calls: map[string][]int{}, handled: make(chan string, 10), fail: func(id string, attempt int) error {
		if id == "flaky" && attempt >= 2 {
			return nil
		}
		return errors.New("GitHub answered 502")
	}}
	in := newInbox(st, h)
	defer start(t, in)()
	schedule(t, in, "flaky")
	schedule(t, in, "broken")
	waitState(t, st, "flaky", store.StateDone)
	dead := waitState(t, st, "broken", store.StateDead)
	if got := h.attempts("flaky"); len(got) != 2 {
		t.Errorf("flaky attempts = %v, want [1 2]", got)
	}
	if got := h.attempts("broken"); len(got) != 3 || got[2] != 3 {
		t.Errorf("broken attempts = %v, want [1 2 3] (MaxAttempts)", got)
	}
	if dead.LastError != "GitHub answered 502" || dead.Attempts != 3 {
		t.Errorf("dead delivery = %+v", dead)
	}
}

func TestPanicIsAFailureNotACrash(t *testing.T) {
	st := newStore(t, filepath.Join(t.TempDir(), "bot.db"))
	var n atomic.Int32
	h := &handler{calls: map[string][]int{}, handled: make(chan string, 10), onHandle: func() {
		if n.Add(1) == 1 {
			panic("nil map")
		}
	}}
	in := newInbox(st, h)
	defer start(t, in)()
	schedule(t, in, "p")
	d := waitState(t, st, "p", store.StateDone)
	if d.Attempts != 1 {
		t.Errorf("attempts recorded = %d, want 1 failure before success", d.Attempts)
	}
}

func TestInterruptedWorkResumesOnNextStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	// A process that claimed a delivery and died: its lease is still held.
	dead := newStore(t, path)
	if _, err := dead.Enqueue(context.Background(), store.Delivery{ID: "mid", Event: "push", Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if ds, err := dead.Claim(context.Background(), 1, time.Hour); err != nil || len(ds) != 1 {
		t.Fatal(ds, err)
	}

	st := newStore(t, path)
	h := &handler{calls: map[string][]int{}, handled: make(chan string, 10)}
	in := newInbox(st, h)
	defer start(t, in)()
	waitState(t, st, "mid", store.StateDone)
	if got := h.attempts("mid"); len(got) != 1 || got[0] != 2 {
		t.Errorf("attempts = %v, want [2]: the handler must know it may be re-running", got)
	}
}

func TestCrashLoopingDeliveryIsBuried(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	dead := newStore(t, path)
	if _, err := dead.Enqueue(context.Background(), store.Delivery{ID: "poison", Event: "push", Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	// Three processes each claimed it and died while handling it.
	for range 3 {
		if _, err := dead.Claim(context.Background(), 1, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := dead.ReleaseAllLeases(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	st := newStore(t, path)
	h := &handler{calls: map[string][]int{}, handled: make(chan string, 10)}
	in := newInbox(st, h)
	defer start(t, in)()
	d := waitState(t, st, "poison", store.StateDead)
	if len(h.attempts("poison")) != 0 {
		t.Error("a delivery claimed more than MaxAttempts times was handled again")
	}
	if d.LastError == "" {
		t.Error("no reason recorded")
	}
}

func TestShutdownLeavesUnstartedWorkPending(t *testing.T) {
	st := newStore(t, filepath.Join(t.TempDir(), "bot.db"))
	release, started := make(chan struct{}), make(chan struct{}, 10)
	h := &handler{calls: map[string][]int{}, handled: make(chan string, 100), onHandle: func() { started <- struct{}{}; <-release }}
	in := newInbox(st, h)
	stop := start(t, in)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		schedule(t, in, id)
	}
	<-started
	<-started // both workers are now inside a handler
	go func() { time.Sleep(50 * time.Millisecond); close(release) }()
	stop() // waits for the two in flight, releases the rest
	stats, err := st.InboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Done != 2 || stats.Pending != 3 {
		t.Errorf("after shutdown: %+v, want 2 done (in flight) and 3 pending", stats)
	}
	// The next start picks the rest up straight away.
	in2 := newInbox(st, h)
	defer start(t, in2)()
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		waitState(t, st, id, store.StateDone)
	}
}
