package tinyforge_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tinyforge/tinyforge-bot/tinyforge"
	"github.com/tinyforge/tinyforge-bot/tinyforge/tinyforgetest"
)

func TestNormalizeRepoURL(t *testing.T) {
	ok := map[string]string{
		"https://github.com/Acme/Shop":              "acme/shop",
		"https://github.com/acme/shop.git":          "acme/shop",
		"https://github.com/acme/shop/":             "acme/shop",
		"https://github.com/acme/shop.git/":         "acme/shop",
		"http://GitHub.com/ACME/shop":               "acme/shop",
		"https://ghe.example.com:8443/acme/shop":    "acme/shop",
		"ssh://git@github.com/acme/shop.git":        "acme/shop",
		"ssh://git@github.com:22/acme/shop.git":     "acme/shop",
		"git+ssh://git@github.com/acme/shop":        "acme/shop",
		"git://github.com/acme/shop.git":            "acme/shop",
		"git@github.com:Acme/Shop.git":              "acme/shop",
		"git@github.com:acme/shop":                  "acme/shop",
		"git@github.com:/acme/shop.git":             "acme/shop",
		"github.com:acme/shop.git":                  "acme/shop",
		"  https://github.com/acme/shop.git  ":      "acme/shop",
		"acme/shop":                                 "acme/shop",
		"Acme/my.repo_name-2":                       "acme/my.repo_name-2",
		"https://github.com/acme/shop.github.io":    "acme/shop.github.io",
		"https://x-access-token@github.com/a/b.git": "a/b",
	}
	for in, want := range ok {
		got, good := tinyforge.NormalizeRepoURL(in)
		if !good || got != want {
			t.Errorf("NormalizeRepoURL(%q) = %q, %v; want %q", in, got, good, want)
		}
	}
	bad := []string{
		"", "   ", "shop", "https://github.com/acme", "https://github.com/", "https://github.com/acme/shop/tree/main",
		"https://github.com/acme/shop?tab=readme", "https://github.com/acme/shop#readme", "ftp://github.com/acme/shop",
		"file:///srv/git/acme/shop.git", "git@github.com:acme", "git@github.com:acme/shop/extra", "../acme/shop",
		"acme/..", "acme/.", "https://github.com/acme/sh op", "acme\\shop", "https://github.com/a%2Fb/c", "group/sub/repo",
		"https://github.com//shop",
	}
	for _, in := range bad {
		if got, good := tinyforge.NormalizeRepoURL(in); good {
			t.Errorf("NormalizeRepoURL(%q) = %q, ok; want not ok", in, got)
		}
	}
}

func TestResolverFiltersAndSorts(t *testing.T) {
	f := newFixture(t)
	add := func(name, repo string, enabled bool) tinyforge.ID {
		return f.srv.AddWorkload(tinyforge.Workload{Name: name, Source: "dockerfile", GitOpsEnabled: enabled, GitOpsPath: "ops/tf.yml",
			SourceConfig: map[string]any{"repo_url": repo, "branch": "release"}})
	}
	add("b-worker", "git@github.com:ACME/shop.git", true)
	add("a-admin", "ssh://git@github.com/acme/shop", true)
	add("c-disabled", "https://github.com/acme/shop", false)
	add("d-other", "https://github.com/acme/shopping", true)
	add("e-broken", "not a url", true)

	r := tinyforge.NewResolver(f.admin(t), time.Minute)
	ws, err := r.WorkloadsForRepo(context.Background(), "Acme/Shop")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range ws {
		names = append(names, w.Name)
	}
	if want := []string{"a-admin", "b-worker", "shop-api"}; !jsonEqual(names, want) {
		t.Fatalf("names = %v, want %v", names, want)
	}
	if ws[0].Branch() != "release" || ws[0].GitOpsFile() != "ops/tf.yml" || ws[2].Branch() != "main" {
		t.Errorf("branch/path: %+v", ws)
	}
	// Callers get copies: mutating them does not touch the cache.
	ws[0].SourceConfig["repo_url"] = "https://github.com/evil/x"
	again, _ := r.WorkloadsForRepo(context.Background(), "https://github.com/acme/shop.git")
	if len(again) != 3 || again[0].RepoURL() != "ssh://git@github.com/acme/shop" {
		t.Errorf("cache was mutated: %+v", again)
	}
	if n := f.srv.RequestCount("GET", tinyforge.RouteWorkloads); n != 1 {
		t.Errorf("list calls = %d, want 1", n)
	}
	if ws, err := r.WorkloadsForRepo(context.Background(), "nobody/nothing"); err != nil || len(ws) != 0 {
		t.Errorf("unknown repo: %v %v", ws, err)
	}
}

type countingLister struct {
	calls atomic.Int32
	gate  chan struct{} // if non-nil, each call waits for it
	mu    sync.Mutex
	err   error
	list  []tinyforge.Workload
}

func (l *countingLister) ListWorkloads(ctx context.Context) ([]tinyforge.Workload, error) {
	l.calls.Add(1)
	if l.gate != nil {
		<-l.gate
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.list, l.err
}

func sampleList() []tinyforge.Workload {
	return []tinyforge.Workload{{ID: "1", Name: "shop", Source: "dockerfile", GitOpsEnabled: true,
		SourceConfig: map[string]any{"repo_url": "https://github.com/acme/shop", "branch": "main"}}}
}

func TestResolverTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &countingLister{list: sampleList()}
		r := tinyforge.NewResolver(l, time.Minute)
		ctx := context.Background()
		get := func() int {
			ws, err := r.WorkloadsForRepo(ctx, "acme/shop")
			if err != nil {
				t.Fatal(err)
			}
			return len(ws)
		}
		get()
		time.Sleep(59 * time.Second)
		get()
		if n := l.calls.Load(); n != 1 {
			t.Fatalf("calls within TTL = %d, want 1", n)
		}
		time.Sleep(2 * time.Second)
		get()
		if n := l.calls.Load(); n != 2 {
			t.Fatalf("calls after TTL = %d, want 2", n)
		}
		r.Invalidate()
		get()
		if n := l.calls.Load(); n != 3 {
			t.Fatalf("calls after Invalidate = %d, want 3", n)
		}
		// Errors are returned, not cached.
		time.Sleep(2 * time.Minute)
		l.mu.Lock()
		l.err = errors.New("tinyforge down")
		l.mu.Unlock()
		if _, err := r.WorkloadsForRepo(ctx, "acme/shop"); err == nil {
			t.Fatal("expected the lister's error")
		}
		l.mu.Lock()
		l.err = nil
		l.mu.Unlock()
		if get() != 1 || l.calls.Load() != 5 {
			t.Fatalf("after error: calls = %d", l.calls.Load())
		}
	})
}

func TestResolverSingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &countingLister{list: sampleList(), gate: make(chan struct{})}
		r := tinyforge.NewResolver(l, time.Minute)

		// One caller gives up while waiting; the shared refresh goes on.
		cctx, cancel := context.WithCancel(context.Background())
		var cancelledErr error
		done := make(chan struct{})
		go func() {
			_, cancelledErr = r.WorkloadsForRepo(cctx, "acme/shop")
			close(done)
		}()

		const callers = 20
		var wg sync.WaitGroup
		results := make([]int, callers)
		errs := make([]error, callers)
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ws, err := r.WorkloadsForRepo(context.Background(), "acme/shop")
				results[i], errs[i] = len(ws), err
			}()
		}
		synctest.Wait() // every caller is now blocked on the one refresh
		cancel()
		<-done
		if !errors.Is(cancelledErr, context.Canceled) {
			t.Errorf("cancelled caller: %v", cancelledErr)
		}
		close(l.gate)
		wg.Wait()
		for i := range callers {
			if errs[i] != nil || results[i] != 1 {
				t.Errorf("caller %d: %d, %v", i, results[i], errs[i])
			}
		}
		if n := l.calls.Load(); n != 1 {
			t.Errorf("ListWorkloads calls = %d, want 1", n)
		}
	})
}

// Over real HTTP: 20 concurrent callers against a slow Tinyforge cause one
// GET /api/workloads.
func TestResolverSingleFlightHTTP(t *testing.T) {
	f := newFixture(t)
	f.srv.InjectFault("GET", tinyforge.RouteWorkloads, tinyforgetest.Fault{Latency: 50 * time.Millisecond})
	r := tinyforge.NewResolver(f.admin(t), time.Minute)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ws, err := r.WorkloadsForRepo(context.Background(), "acme/shop"); err != nil || len(ws) != 1 {
				t.Errorf("%v %v", ws, err)
			}
		}()
	}
	wg.Wait()
	if n := f.srv.RequestCount("GET", tinyforge.RouteWorkloads); n != 1 {
		t.Errorf("list requests = %d, want 1", n)
	}
}
