package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// ClaimOnce reports true exactly once per key, ever: the first caller (in
// any goroutine or process sharing the database) gets true, every later one
// false. Keys are durable and never expire. Use e.g. "comment:<id>" or
// "comment:<id>:<workload>".
func (s *SQLite) ClaimOnce(ctx context.Context, key string) (bool, error) {
	if key == "" {
		return false, fmt.Errorf("store: claim once: empty key: %w", ErrInvalid)
	}
	if s.closed() {
		return false, fmt.Errorf("store: claim once %q: %w", key, ErrClosed)
	}
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO once_keys(key, claimed_ns) VALUES(?, ?) ON CONFLICT(key) DO NOTHING`, key, nanos(s.now()))
	if err != nil {
		return false, fmt.Errorf("store: claim once %q: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: claim once %q: %w", key, err)
	}
	return n == 1, nil
}

// Lock takes the lease named key, waiting (polling with a growing, jittered
// backoff up to 250ms) until it is free or expired, or ctx is done. The lease
// lasts ttl and is renewed every ttl/3 while held, so ttl bounds how long a
// crashed holder blocks others. unlock releases it; calling it more than once
// is harmless. Locks are not reentrant: a second Lock on a held key waits.
func (s *SQLite) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	if key == "" {
		return nil, fmt.Errorf("store: lock: empty key: %w", ErrInvalid)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("store: lock %q: ttl %v: %w", key, ttl, ErrInvalid)
	}
	token := s.owner + ":" + randomID()
	backoff := 2 * time.Millisecond
	for {
		if s.closed() {
			return nil, fmt.Errorf("store: lock %q: %w", key, ErrClosed)
		}
		ok, err := s.tryLock(ctx, key, token, ttl)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("store: lock %q: %w", key, ctx.Err())
			}
			return nil, fmt.Errorf("store: lock %q: %w", key, err)
		}
		if ok {
			break
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("store: lock %q: %w", key, ctx.Err())
		case <-s.quit:
			t.Stop()
			return nil, fmt.Errorf("store: lock %q: %w", key, ErrClosed)
		case <-t.C:
		}
		backoff = min(backoff*2, 250*time.Millisecond)
	}

	stop := make(chan struct{})
	s.bg.Add(1)
	go s.renew(key, token, ttl, stop)
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			if s.closed() {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// Best effort: if this fails the lease simply expires.
			_, _ = s.db.ExecContext(ctx, `DELETE FROM locks WHERE key = ? AND owner = ?`, key, token)
		})
	}, nil
}

func (s *SQLite) tryLock(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	now := s.now()
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO locks(key, owner, expires_ns) VALUES(?, ?, ?)
		 ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, expires_ns = excluded.expires_ns
		 WHERE locks.expires_ns <= ?`,
		key, token, nanos(now.Add(ttl)), nanos(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// renew extends the lease every ttl/3 until stop or Close.
func (s *SQLite) renew(key, token string, ttl time.Duration, stop <-chan struct{}) {
	defer s.bg.Done()
	tick := time.NewTicker(max(ttl/3, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-s.quit:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), ttl)
			_, _ = s.db.ExecContext(ctx, `UPDATE locks SET expires_ns = ? WHERE key = ? AND owner = ?`,
				nanos(s.now().Add(ttl)), key, token)
			cancel()
		}
	}
}
