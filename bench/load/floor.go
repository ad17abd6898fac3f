package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/tinyforge/tinyforge-bot/store"
)

// cpuFloor is acknowledging without the server: HMAC-SHA256 verification
// and a typed JSON decode of the same bodies, in the mix's proportions, on
// every core, for about d. It returns verifications per second.
func cpuFloor(f *fixture, mix map[string]float64, d time.Duration) (float64, error) {
	// A deck of bodies in mix proportions (100 slots).
	var deck []*body
	for _, k := range kinds {
		bs := f.bodies[k]
		if len(bs) == 0 {
			continue
		}
		for i := range int(mix[k]*100 + 0.5) {
			deck = append(deck, bs[i%len(bs)])
		}
	}
	if len(deck) == 0 {
		return 0, fmt.Errorf("cpu floor: no bodies")
	}
	secret := []byte(f.secret)
	var total atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := int64(0)
			for i := w; i < 10_000_000 && time.Now().Before(deadline); i++ {
				b := deck[i%len(deck)]
				raw, err := github.ValidatePayloadFromBody("application/json", bytes.NewReader(b.raw), b.sig, secret)
				if err == nil {
					_, err = github.ParseWebHook(b.event, raw)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				n++
			}
			total.Add(n)
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("cpu floor: %w", firstErr)
	}
	return float64(total.Load()) / time.Since(start).Seconds(), nil
}

// storeFloor is the store's raw insert rate: one Enqueue at a time into a
// fresh SQLite file (WAL, synchronous=FULL), so one transaction and one
// fsync per row. At most maxRows rows or about d.
func storeFloor(dir string, payload []byte, d time.Duration, maxRows int) (float64, error) {
	ctx := context.Background()
	path := filepath.Join(dir, "floor.db")
	st, err := store.Open(ctx, "sqlite", path)
	if err != nil {
		return 0, fmt.Errorf("store floor: %w", err)
	}
	defer func() {
		st.Close()
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
	}()
	start := time.Now()
	deadline := start.Add(d)
	n := 0
	for n < maxRows && time.Now().Before(deadline) {
		if _, err := st.Enqueue(ctx, store.Delivery{ID: fmt.Sprint("floor-", n), Event: "push", Payload: payload}); err != nil {
			return 0, fmt.Errorf("store floor: %w", err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
