package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func ids(ds []Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func TestInboxFlow(t *testing.T) {
	ctx := context.Background()
	s := openT(t, tempDB(t))
	advance := clock(s)
	t0 := time.Now().UTC().Add(-time.Hour)
	payload := []byte{0, 1, 2, 0xff, '{', '}'}
	for i, id := range []string{"d2", "d1", "d3"} {
		// d1 received first, then d2, then d3
		rt := map[string]time.Duration{"d1": 0, "d2": time.Second, "d3": 2 * time.Second}[id]
		ins, err := s.Enqueue(ctx, Delivery{ID: id, Event: "push", Payload: payload, ReceivedAt: t0.Add(rt)})
		if err != nil || !ins {
			t.Fatalf("enqueue %d: %v %v", i, ins, err)
		}
	}
	if ins, err := s.Enqueue(ctx, Delivery{ID: "d1", Event: "push", Payload: []byte("other")}); err != nil || ins {
		t.Fatalf("duplicate enqueue: inserted=%v err=%v", ins, err)
	}
	if _, err := s.Enqueue(ctx, Delivery{ID: "", Event: "push"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty id: %v", err)
	}
	st, _ := s.InboxStats(ctx)
	if st.Pending != 3 || !st.OldestPending.Equal(t0) {
		t.Fatalf("stats = %+v", st)
	}

	got, err := s.Claim(ctx, 2, time.Minute)
	if err != nil || fmt.Sprint(ids(got)) != "[d1 d2]" {
		t.Fatalf("claim = %v, %v", ids(got), err)
	}
	if !bytes.Equal(got[0].Payload, payload) || got[0].Event != "push" || got[0].State != StatePending || got[0].LeasedUntil.IsZero() {
		t.Fatalf("claimed delivery = %+v", got[0])
	}
	got, _ = s.Claim(ctx, 10, time.Minute)
	if fmt.Sprint(ids(got)) != "[d3]" {
		t.Fatalf("second claim = %v", ids(got))
	}
	if got, _ := s.Claim(ctx, 10, time.Minute); len(got) != 0 {
		t.Fatalf("everything is leased, got %v", ids(got))
	}

	// d1 done.
	if err := s.Complete(ctx, "d1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, "d1"); err != nil {
		t.Fatalf("complete twice: %v", err)
	}
	if err := s.Complete(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("complete unknown: %v", err)
	}
	if err := s.Fail(ctx, "d1", "x", time.Time{}, false); !errors.Is(err, ErrInvalid) {
		t.Fatalf("fail done: %v", err)
	}
	if err := s.Fail(ctx, "nope", "x", time.Time{}, false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fail unknown: %v", err)
	}
	if ins, _ := s.Enqueue(ctx, Delivery{ID: "d1", Event: "push"}); ins {
		t.Fatal("redelivery of a done delivery inserted")
	}

	// d2 fails, retries later, fails for good.
	if err := s.Fail(ctx, "d2", "github: 502", s.now().Add(10*time.Minute), false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Claim(ctx, 10, time.Minute); len(got) != 0 {
		t.Fatalf("retry not due yet, got %v", ids(got))
	}
	advance(11 * time.Minute) // also expires d3's lease
	got, _ = s.Claim(ctx, 10, time.Minute)
	if fmt.Sprint(ids(got)) != "[d2 d3]" || got[0].Attempts != 1 || got[0].LastError != "github: 502" || got[1].Attempts != 0 {
		t.Fatalf("after retry delay and lease expiry: %+v", got)
	}
	if err := s.Fail(ctx, "d2", "github: 502 again", time.Time{}, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, "d3"); err != nil {
		t.Fatal(err)
	}
	advance(time.Hour)
	if got, _ := s.Claim(ctx, 10, time.Minute); len(got) != 0 {
		t.Fatalf("dead/done claimed: %v", ids(got))
	}
	dead, err := s.ListDeliveries(ctx, StateDead, 0)
	if err != nil || len(dead) != 1 || dead[0].ID != "d2" || dead[0].Attempts != 2 || dead[0].LastError != "github: 502 again" {
		t.Fatalf("dead = %+v, %v", dead, err)
	}
	all, _ := s.ListDeliveries(ctx, "", 2)
	if fmt.Sprint(ids(all)) != "[d1 d2]" {
		t.Fatalf("list all limit 2 = %v", ids(all))
	}
	if _, err := s.ListDeliveries(ctx, "weird", 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad state: %v", err)
	}
	st, _ = s.InboxStats(ctx)
	if st != (InboxStats{Pending: 0, Dead: 1, Done: 2}) {
		t.Fatalf("final stats = %+v", st)
	}
	if n, err := s.PruneDone(ctx, time.Now().Add(-24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("prune nothing old: %d, %v", n, err)
	}
	if n, err := s.PruneDone(ctx, s.now().Add(time.Second)); err != nil || n != 2 {
		t.Fatalf("prune done: %d, %v", n, err)
	}
	if st, _ := s.InboxStats(ctx); st != (InboxStats{Dead: 1}) {
		t.Fatalf("after prune = %+v", st)
	}
}

func TestInboxReleaseLeases(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	a, b := openT(t, path), openT(t, path)
	for i := 0; i < 3; i++ {
		a.Enqueue(ctx, Delivery{ID: fmt.Sprint("d", i), Event: "push"})
	}
	got, _ := a.Claim(ctx, 2, time.Hour)
	if len(got) != 2 {
		t.Fatal(ids(got))
	}
	if got, _ := b.Claim(ctx, 10, time.Hour); fmt.Sprint(ids(got)) != "[d2]" {
		t.Fatalf("b claimed %v", ids(got))
	}
	if err := a.ReleaseLeases(ctx); err != nil { // a shuts down gracefully
		t.Fatal(err)
	}
	if got, _ := b.Claim(ctx, 10, time.Hour); fmt.Sprint(ids(got)) != "[d0 d1]" {
		t.Fatalf("after release b claimed %v", ids(got))
	}
}

func TestInboxTwoStoresNeverShare(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	a, b := openT(t, path), openT(t, path)
	const n = 300
	for i := 0; i < n; i++ {
		if _, err := a.Enqueue(ctx, Delivery{ID: fmt.Sprintf("d%03d", i), Event: "push"}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for _, s := range []*SQLite{a, b} {
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := s.Claim(ctx, 7, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					for _, d := range got {
						mu.Lock()
						seen[d.ID]++
						mu.Unlock()
						if err := s.Complete(ctx, d.ID); err != nil {
							t.Error(err)
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d distinct, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("%s claimed %d times", id, c)
		}
	}
	if st, _ := b.InboxStats(ctx); st.Done != n || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestEnqueueConcurrentDurable(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	s, err := Open(ctx, "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ins, err := s.Enqueue(ctx, Delivery{ID: fmt.Sprintf("c%03d", i), Event: "issue_comment", Payload: []byte(`{"n":1}`)})
			if err != nil || !ins {
				t.Errorf("enqueue %d: %v %v", i, ins, err)
			}
		}()
	}
	wg.Wait()
	batches := s.batches.Load()
	t.Logf("%d concurrent Enqueue calls committed in %d transactions", n, batches)
	if batches >= n {
		t.Errorf("no group commit: %d transactions for %d enqueues", batches, n)
	}
	s.Close()

	r := openT(t, path)
	var count int
	if err := r.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'").Scan(&count); err != nil || count != n {
		t.Fatalf("after reopen: %d pending, %v", count, err)
	}
}

func TestEnqueueContext(t *testing.T) {
	s := openT(t, ":memory:")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Enqueue(ctx, Delivery{ID: "x", Event: "push"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
