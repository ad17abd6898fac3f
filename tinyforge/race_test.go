package tinyforge_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/tinyforge/tinyforge-bot/tinyforge"
	"github.com/tinyforge/tinyforge-bot/tinyforge/tinyforgetest"
)

// TestConcurrentSyncs: 50 concurrent syncs of one workload, each expecting
// one of several commits while the file keeps changing under them. Every
// sync is applied (200) or refused (409); the event log holds exactly one
// event per applied sync; replaying the events in order reproduces the final
// config (no lost or interleaved update).
func TestConcurrentSyncs(t *testing.T) {
	const versions = 5
	type version struct {
		sha  string
		port float64
		body []byte
	}
	vs := make([]version, versions)
	for i := range vs {
		port := 9001 + i
		vs[i] = version{
			sha:  fmt.Sprintf("%040x", i+1),
			port: float64(port),
			body: []byte(fmt.Sprintf("version: 1\ndeploy:\n  port: %d\n  healthcheck: /healthz\n", port)),
		}
	}
	bySHA := map[string]version{}
	for _, v := range vs {
		bySHA[v.sha] = v
	}
	// The tracked branch moves on every fetch: each fetch sees the next commit.
	var mu sync.Mutex
	fetches := 0
	src := tinyforgetest.FileSourceFunc(func(ctx context.Context, repoURL, branch, path string) ([]byte, string, error) {
		mu.Lock()
		defer mu.Unlock()
		v := vs[fetches%versions]
		fetches++
		return v.body, v.sha, nil
	})

	f := newFixture(t)
	f.srv.SetFileSource(src)
	id := f.ids["shop-api"]
	before, _ := f.srv.Workload(id)
	c := f.admin(t)

	const n = 50
	type outcome struct {
		res *tinyforge.SyncResult
		err error
	}
	out := make([]outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			expected := vs[i%versions].sha
			if i%10 == 9 {
				expected = "" // no expectation: always applied
			}
			res, err := c.Sync(context.Background(), id, expected)
			out[i] = outcome{res, err}
		}()
	}
	wg.Wait()

	applied := map[tinyforge.ID]*tinyforge.SyncResult{}
	for i, o := range out {
		switch {
		case o.err == nil:
			if _, dup := applied[o.res.EventID]; dup {
				t.Fatalf("event id %s returned twice", o.res.EventID)
			}
			applied[o.res.EventID] = o.res
			v, ok := bySHA[o.res.SHA]
			if !ok || o.res.Workload.SourceConfig["port"] != v.port {
				t.Errorf("sync %d: sha %s applied port %v", i, o.res.SHA, o.res.Workload.SourceConfig["port"])
			}
		case errors.Is(o.err, tinyforge.ErrConflict):
			if i%10 == 9 {
				t.Errorf("sync %d without expectation refused: %v", i, o.err)
			}
		default:
			t.Errorf("sync %d: unexpected error %v", i, o.err)
		}
	}
	if len(applied) == 0 {
		t.Fatal("no sync applied")
	}

	events := f.srv.Events()
	if len(events) != len(applied) {
		t.Fatalf("%d events for %d applied syncs", len(events), len(applied))
	}
	port := before.SourceConfig["port"]
	for _, ev := range events {
		res, ok := applied[ev.ID]
		if !ok || res.SHA != ev.SHA || ev.WorkloadID != id {
			t.Fatalf("event %+v has no matching applied sync", ev)
		}
		want := bySHA[ev.SHA].port
		var change *tinyforge.FieldChange
		for i := range ev.Applied {
			if ev.Applied[i].Field == "deploy.port" {
				change = &ev.Applied[i]
			}
		}
		switch {
		case change == nil && port != want:
			t.Fatalf("event %s: port %v -> %v not recorded", ev.ID, port, want)
		case change != nil && (change.From != port || change.To != want):
			t.Fatalf("event %s: recorded %v -> %v, but the config held %v (lost or interleaved update)", ev.ID, change.From, change.To, port)
		}
		port = want
	}
	final, _ := f.srv.Workload(id)
	last := events[len(events)-1]
	if final.SourceConfig["port"] != port || final.GitOpsLastSyncSHA != last.SHA || final.GitOpsLastSyncAt == nil {
		t.Errorf("final %+v, last event %+v", final, last)
	}
	for k, v := range before.SourceConfig {
		if k != "port" && final.SourceConfig[k] != v {
			t.Errorf("key %s changed: %v -> %v", k, v, final.SourceConfig[k])
		}
	}
}
