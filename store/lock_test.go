package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestClaimOnceGoroutines(t *testing.T) {
	ctx := context.Background()
	s := openT(t, tempDB(t))
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := s.ClaimOnce(ctx, "comment:42")
			if err != nil {
				t.Error(err)
			}
			if first {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("wins = %d, want 1", wins.Load())
	}
	if _, err := s.ClaimOnce(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty key: %v", err)
	}
}

func TestClaimOnceTwoStores(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	stores := []*SQLite{openT(t, path), openT(t, path)}
	const keys = 10
	wins := make([]atomic.Int32, keys)
	var wg sync.WaitGroup
	for _, s := range stores {
		for g := 0; g < 25; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < keys; k++ {
					first, err := s.ClaimOnce(ctx, fmt.Sprintf("comment:%d:web", k))
					if err != nil {
						t.Error(err)
						return
					}
					if first {
						wins[k].Add(1)
					}
				}
			}()
		}
	}
	wg.Wait()
	for k := range wins {
		if n := wins[k].Load(); n != 1 {
			t.Fatalf("key %d: %d winners", k, n)
		}
	}
}

// TestLockExclusive: lockers on one key never overlap. counter is a plain int
// so that -race flags any overlap within one store; inside counts holders
// across both stores (which share only the file, invisible to -race).
func TestLockExclusive(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	a, b := openT(t, path), openT(t, path)
	var inside atomic.Int32
	var perStore [2]int
	var wg sync.WaitGroup
	for i, s := range []*SQLite{a, b} {
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; n < 10; n++ {
					unlock, err := s.Lock(ctx, "workload:acme/web:web", time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					if h := inside.Add(1); h != 1 {
						t.Errorf("%d holders at once", h)
					}
					perStore[i]++
					inside.Add(-1)
					unlock()
					unlock() // idempotent
				}
			}()
		}
	}
	wg.Wait()
	if perStore[0]+perStore[1] != 160 {
		t.Fatalf("acquisitions = %v", perStore)
	}
	var rows int
	a.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM locks").Scan(&rows)
	if rows != 0 {
		t.Fatalf("%d lock rows left after unlock", rows)
	}
}

func TestLockKeysIndependent(t *testing.T) {
	s := openT(t, tempDB(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	unlockA, err := s.Lock(ctx, "a", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer unlockA()
	unlockB, err := s.Lock(ctx, "b", time.Hour) // would wait for an hour if keys interfered
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
}

func TestLockExpiredTakenOver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := tempDB(t)
	dead, err := Open(ctx, "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.Lock(ctx, "k", time.Hour); err != nil {
		t.Fatal(err)
	}
	dead.Close() // the holder "crashes": no unlock, no renewal

	s := openT(t, path)
	advance := clock(s)
	lctx, lcancel := context.WithCancel(ctx)
	go func() { time.Sleep(50 * time.Millisecond); lcancel() }()
	if _, err := s.Lock(lctx, "k", time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("lock held by a live lease: %v", err)
	}
	advance(2 * time.Hour)
	unlock, err := s.Lock(ctx, "k", time.Minute)
	if err != nil {
		t.Fatalf("take over expired lease: %v", err)
	}
	unlock()
}

func TestLockContext(t *testing.T) {
	s := openT(t, tempDB(t))
	ctx := context.Background()
	unlock, err := s.Lock(ctx, "k", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Lock(cctx, "k", time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("pre-cancelled: %v", err)
	}
	cctx, cancel = context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := s.Lock(cctx, "k", time.Hour)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while waiting: %v", err)
	}
	if _, err := s.Lock(ctx, "k", 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ttl 0: %v", err)
	}
}

func TestLockRenewed(t *testing.T) {
	s := openT(t, tempDB(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	unlock, err := s.Lock(ctx, "k", 30*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	expiry := func() int64 {
		var n int64
		if err := s.db.QueryRowContext(ctx, "SELECT expires_ns FROM locks WHERE key = 'k'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	first := expiry()
	for expiry() == first { // renewal moves the expiry forward while held
		if ctx.Err() != nil {
			t.Fatal("lease never renewed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
