package tinyforge_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-bot/tinyforge"
	"github.com/tinyforge/tinyforge-bot/tinyforge/tinyforgetest"
)

// fakeClock records the sleeps a client asks for and advances by them.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
	onWait func() // called inside sleep (e.g. to cancel a context)
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 6, 22, 12, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.sleeps = append(f.sleeps, d)
	f.t = f.t.Add(d)
	hook := f.onWait
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	return ctx.Err()
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// fixture is a fake Tinyforge with the sample workloads and files.
type fixture struct {
	srv   *tinyforgetest.Server
	files *tinyforgetest.MapFileSource
	clock *fakeClock
	ids   map[string]tinyforge.ID // by name
	shas  map[string]string       // file sha by workload name
}

const (
	shopRepo = "https://github.com/acme/shop.git"
	docsRepo = "git@github.com:acme/docs.git"
)

func newFixture(t *testing.T, opts ...tinyforgetest.Option) *fixture {
	t.Helper()
	files := tinyforgetest.NewMapFileSource()
	f := &fixture{files: files, clock: newFakeClock(), ids: map[string]tinyforge.ID{}, shas: map[string]string{}}
	opts = append([]tinyforgetest.Option{tinyforgetest.WithFileSource(files)}, opts...)
	f.srv = tinyforgetest.New(opts...)
	t.Cleanup(f.srv.Close)
	for _, w := range tinyforgetest.SampleWorkloads() {
		f.ids[w.Name] = f.srv.AddWorkload(w)
	}
	f.shas["shop-api"] = files.Put(shopRepo, "main", ".tinyforge.yml", []byte("version: 1\ndeploy:\n  port: 9090\n  healthcheck: /healthz\n  deploy_strategy: blue-green\n"))
	f.shas["docs-site"] = files.Put(docsRepo, "gh-pages", ".tinyforge.yml", []byte("version: 1\ndeploy:\n  deploy_strategy: recreate\n"))
	return f
}

// client returns a client for the fixture with the fake clock and fast,
// deterministic retries.
func (f *fixture) client(t *testing.T, token string, opts ...tinyforge.Option) *tinyforge.Client {
	t.Helper()
	base := []tinyforge.Option{
		tinyforge.WithTestClock(f.clock.Now, f.clock.Sleep),
		tinyforge.WithRetry(4, time.Minute),
		tinyforge.WithBackoff(100*time.Millisecond, time.Second),
	}
	c, err := tinyforge.New(f.srv.URL(), token, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) admin(t *testing.T, opts ...tinyforge.Option) *tinyforge.Client {
	return f.client(t, tinyforgetest.AdminToken, opts...)
}
