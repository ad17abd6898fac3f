package tinyforge

import (
	"context"
	"sort"
	"sync"
	"time"
)

// WorkloadLister is what a Resolver needs (a *Client is one).
type WorkloadLister interface {
	ListWorkloads(ctx context.Context) ([]Workload, error)
}

// Resolver maps a repository to its GitOps-enabled workloads. It caches the
// workload list for a TTL; when the cache is stale, exactly one refresh runs
// however many callers ask (the others wait for it, each bounded by its own
// context). A failed refresh is not cached and its error is returned to the
// callers that waited for it; the next call tries again.
type Resolver struct {
	lister WorkloadLister
	ttl    time.Duration
	now    func() time.Time

	mu        sync.Mutex
	list      []Workload
	fetchedAt time.Time
	valid     bool
	gen       uint64 // bumped by Invalidate: an older in-flight refresh is not cached
	inflight  *refresh
}

type refresh struct {
	done chan struct{}
	list []Workload
	err  error
}

// NewResolver returns a Resolver over lister caching for ttl (ttl <= 0: every
// call lists, but concurrent callers still share one ListWorkloads).
func NewResolver(lister WorkloadLister, ttl time.Duration) *Resolver {
	return &Resolver{lister: lister, ttl: ttl, now: time.Now}
}

// Invalidate drops the cached list; the next call lists again.
func (r *Resolver) Invalidate() {
	r.mu.Lock()
	r.valid = false
	r.gen++
	r.inflight = nil
	r.mu.Unlock()
}

// WorkloadsForRepo returns deep copies of the GitOps-enabled workloads whose
// source_config.repo_url normalises to fullName ("owner/name" or any URL
// NormalizeRepoURL accepts; case-insensitive), sorted by name then id.
// Use Workload.Branch and Workload.GitOpsFile for the tracked branch and path.
func (r *Resolver) WorkloadsForRepo(ctx context.Context, fullName string) ([]Workload, error) {
	want, ok := NormalizeRepoURL(fullName)
	if !ok {
		return nil, nil
	}
	list, err := r.workloads(ctx)
	if err != nil {
		return nil, err
	}
	var out []Workload
	for _, w := range list {
		if !w.GitOpsEnabled {
			continue
		}
		if got, ok := NormalizeRepoURL(w.RepoURL()); ok && got == want {
			out = append(out, w.Clone())
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (r *Resolver) workloads(ctx context.Context) ([]Workload, error) {
	r.mu.Lock()
	if r.valid && r.ttl > 0 && r.now().Sub(r.fetchedAt) < r.ttl {
		list := r.list
		r.mu.Unlock()
		return list, nil
	}
	f := r.inflight
	if f == nil {
		f = &refresh{done: make(chan struct{})}
		r.inflight = f
		gen := r.gen
		// The refresh outlives the caller that started it (others may be
		// waiting); the lister's own timeouts bound it.
		go r.run(context.WithoutCancel(ctx), f, gen)
	}
	r.mu.Unlock()
	select {
	case <-f.done:
		return f.list, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *Resolver) run(ctx context.Context, f *refresh, gen uint64) {
	list, err := r.lister.ListWorkloads(ctx)
	r.mu.Lock()
	f.list, f.err = list, err
	if r.inflight == f {
		r.inflight = nil
	}
	if err == nil && gen == r.gen {
		r.list, r.fetchedAt, r.valid = list, r.now(), true
	}
	r.mu.Unlock()
	close(f.done)
}
