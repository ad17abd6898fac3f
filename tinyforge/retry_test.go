package tinyforge_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-bot/tinyforge"
	"github.com/tinyforge/tinyforge-bot/tinyforge/tinyforgetest"
)

func TestRetryTransientThenSuccess(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault tinyforgetest.Fault
	}{
		{"503", tinyforgetest.Fault{Status: 503, Times: 2}},
		{"502", tinyforgetest.Fault{Status: 502, Times: 2}},
		{"504", tinyforgetest.Fault{Status: 504, Times: 2}},
		{"429", tinyforgetest.Fault{Status: 429, Times: 2}},
		{"dropped connection", tinyforgetest.Fault{Drop: true, Times: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.srv.InjectFault("GET", tinyforge.RouteGitOps, tc.fault)
			st, err := f.admin(t).GetGitOps(context.Background(), f.ids["shop-api"])
			if err != nil || st.Status != tinyforge.StatusOK {
				t.Fatalf("%+v %v", st, err)
			}
			if n := f.srv.RequestCount("GET", tinyforge.RouteGitOps); n != 3 {
				t.Errorf("attempts = %d, want 3", n)
			}
			// Exponential backoff from 100ms (jitter is the identity here).
			if got := f.clock.Sleeps(); len(got) != 2 || got[0] != 100*time.Millisecond || got[1] != 200*time.Millisecond {
				t.Errorf("sleeps = %v", got)
			}
		})
	}
}

func TestRetryPutIsIdempotent(t *testing.T) {
	f := newFixture(t)
	f.srv.InjectFault("PUT", tinyforge.RouteGitOps, tinyforgetest.Fault{Status: 502, Times: 1})
	if _, err := f.admin(t).SetGitOps(context.Background(), f.ids["shop-api"], true, ".tinyforge.yml"); err != nil {
		t.Fatal(err)
	}
	if n := f.srv.RequestCount("PUT", tinyforge.RouteGitOps); n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}
}

func TestRetryBoundedAttempts(t *testing.T) {
	f := newFixture(t)
	f.srv.InjectFault("", tinyforge.RouteWorkloads, tinyforgetest.Fault{Status: 503})
	_, err := f.admin(t).ListWorkloads(context.Background())
	if !errors.Is(err, tinyforge.ErrUnavailable) || !errors.Is(err, tinyforge.ErrServer) {
		t.Fatalf("err = %v", err)
	}
	var ae *tinyforge.APIError
	if !errors.As(err, &ae) || ae.Attempts() != 4 || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Errorf("err = %v (attempts %d)", err, ae.Attempts())
	}
	if n := f.srv.RequestCount("GET", tinyforge.RouteWorkloads); n != 4 {
		t.Errorf("attempts = %d, want 4", n)
	}
	// Backoff doubles and is capped at the maximum (1s here).
	f2 := newFixture(t)
	f2.srv.InjectFault("", tinyforge.RouteWorkloads, tinyforgetest.Fault{Status: 503})
	c := f2.admin(t, tinyforge.WithRetry(7, time.Hour))
	c.ListWorkloads(context.Background())
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	got := f2.clock.Sleeps()
	if len(got) != len(want) {
		t.Fatalf("sleeps = %v", got)
	}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Errorf("sleep %d = %v, want %v", i, got[i], want[i]*time.Millisecond)
		}
	}
}

func TestRetryBoundedElapsed(t *testing.T) {
	f := newFixture(t)
	f.srv.InjectFault("", tinyforge.RouteWorkloads, tinyforgetest.Fault{Status: 503, Header: http.Header{"Retry-After": {"4"}}})
	c := f.admin(t, tinyforge.WithRetry(100, 10*time.Second))
	_, err := c.ListWorkloads(context.Background())
	if !errors.Is(err, tinyforge.ErrUnavailable) {
		t.Fatal(err)
	}
	// 4s + 4s fit in 10s; a third wait would not.
	if n := f.srv.RequestCount("GET", tinyforge.RouteWorkloads); n != 3 {
		t.Errorf("attempts = %d, want 3", n)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	f := newFixture(t)
	c := f.admin(t, tinyforge.WithMaxRetryAfter(20*time.Second))
	date := func(d time.Duration) string { return f.clock.Now().Add(d).UTC().Format(http.TimeFormat) }
	for _, tc := range []struct {
		header func() string
		want   time.Duration
	}{
		{func() string { return "7" }, 7 * time.Second},
		{func() string { return "0" }, 0},
		{func() string { return date(12 * time.Second) }, 12 * time.Second},
		{func() string { return date(-time.Hour) }, 0},
		{func() string { return "3600" }, 20 * time.Second}, // capped
		{func() string { return date(time.Hour) }, 20 * time.Second},
		{func() string { return "soon" }, 100 * time.Millisecond}, // ignored: backoff
		{func() string { return "-3" }, 100 * time.Millisecond},
	} {
		f.clock.mu.Lock()
		f.clock.sleeps = nil
		f.clock.mu.Unlock()
		h := tc.header()
		f.srv.InjectFault("GET", tinyforge.RouteWorkload, tinyforgetest.Fault{Status: 503, Times: 1, Header: http.Header{"Retry-After": {h}}})
		if _, err := c.GetWorkload(context.Background(), f.ids["shop-api"]); err != nil {
			t.Fatal(err)
		}
		if got := f.clock.Sleeps(); len(got) != 1 || got[0] != tc.want {
			t.Errorf("Retry-After %q: slept %v, want %v", h, got, tc.want)
		}
	}
}

func TestTimeoutRetriedForGetNotForSync(t *testing.T) {
	f := newFixture(t)
	c := f.admin(t, tinyforge.WithTimeout(50*time.Millisecond))
	f.srv.InjectFault("GET", tinyforge.RouteWorkload, tinyforgetest.Fault{Latency: time.Minute, Times: 1})
	if _, err := c.GetWorkload(context.Background(), f.ids["shop-api"]); err != nil {
		t.Fatalf("timeout then success: %v", err)
	}
	if n := f.srv.RequestCount("GET", tinyforge.RouteWorkload); n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}

	f.srv.InjectFault("POST", tinyforge.RouteGitOpsSync, tinyforgetest.Fault{Latency: time.Minute})
	_, err := c.Sync(context.Background(), f.ids["shop-api"], "")
	if !errors.Is(err, tinyforge.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if !strings.HasPrefix(err.Error(), "POST /api/workloads/1/gitops/sync: timed out") {
		t.Errorf("err = %q", err)
	}
	if n := f.srv.RequestCount("POST", tinyforge.RouteGitOpsSync); n != 1 {
		t.Errorf("sync attempts = %d, want 1", n)
	}
}

func TestSyncNeverRetriedAfterAnswerOrDrop(t *testing.T) {
	for _, fault := range []tinyforgetest.Fault{{Status: 503}, {Status: 502}, {Status: 504}, {Drop: true}, {Malformed: true}} {
		f := newFixture(t)
		f.srv.InjectFault("POST", tinyforge.RouteGitOpsSync, fault)
		_, err := f.admin(t).Sync(context.Background(), f.ids["shop-api"], "")
		if err == nil {
			t.Fatalf("%+v: no error", fault)
		}
		if n := f.srv.RequestCount("POST", tinyforge.RouteGitOpsSync); n != 1 {
			t.Errorf("%+v: sync attempts = %d, want 1", fault, n)
		}
		if fault.Drop && !errors.Is(err, tinyforge.ErrUnavailable) {
			t.Errorf("drop: %v, want ErrUnavailable", err)
		}
	}
}

// A refused connection means nothing was sent: even the sync is retried.
func TestConnectionRefusedRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	var mu sync.Mutex
	var statuses []int
	clock := newFakeClock()
	c, err := tinyforge.New("http://"+addr, "tok-123456789", tinyforge.WithTestClock(clock.Now, clock.Sleep),
		tinyforge.WithRetry(3, time.Minute),
		tinyforge.WithObserver(func(method, route string, status int, err error, d time.Duration) {
			mu.Lock()
			statuses = append(statuses, status)
			mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"get":  func() error { _, err := c.GetWorkload(context.Background(), "1"); return err },
		"sync": func() error { _, err := c.Sync(context.Background(), "1", "abc"); return err },
	} {
		mu.Lock()
		statuses = nil
		mu.Unlock()
		err := call()
		if !errors.Is(err, tinyforge.ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", name, err)
		}
		if !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s: %v", name, err)
		}
		mu.Lock()
		if len(statuses) != 3 {
			t.Errorf("%s: attempts = %d, want 3", name, len(statuses))
		}
		mu.Unlock()
	}
}

func TestCancelledContext(t *testing.T) {
	f := newFixture(t)
	c := f.admin(t)

	// Already cancelled: no request at all.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.ListWorkloads(ctx)
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "GET /api/workloads: ") {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("requests = %d", n)
	}

	// Cancelled while the server is slow: returns with ctx.Err(), no retry.
	f.srv.InjectFault("GET", tinyforge.RouteGitOps, tinyforgetest.Fault{Latency: time.Hour})
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.GetGitOps(ctx, f.ids["shop-api"]); done <- err }()
	for f.srv.RequestCount("GET", tinyforge.RouteGitOps) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err = <-done
	if !errors.Is(err, context.Canceled) || errors.Is(err, tinyforge.ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if n := f.srv.RequestCount("GET", tinyforge.RouteGitOps); n != 1 {
		t.Errorf("attempts = %d, want 1", n)
	}

	// Cancelled while waiting to retry.
	f.srv.InjectFault("GET", tinyforge.RouteWorkloads, tinyforgetest.Fault{Status: 503})
	ctx, cancel = context.WithCancel(context.Background())
	f.clock.onWait = cancel
	_, err = c.ListWorkloads(ctx)
	f.clock.onWait = nil
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v", err)
	}
	if n := f.srv.RequestCount("GET", tinyforge.RouteWorkloads); n != 1 {
		t.Errorf("attempts = %d, want 1", n)
	}

	// A caller deadline is a timeout and a DeadlineExceeded.
	f.srv.InjectFault("GET", tinyforge.RouteWorkload, tinyforgetest.Fault{Latency: time.Hour})
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = c.GetWorkload(ctx, "1")
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, tinyforge.ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
}

func TestJitterBounds(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 2, 3, 100 * time.Millisecond, 5 * time.Second} {
		for range 200 {
			j := tinyforge.HalfJitter(d)
			if j < d/2 || j > d {
				t.Fatalf("jitter(%v) = %v", d, j)
			}
		}
	}
}
