package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func openT(t testing.TB, path string) *SQLite {
	t.Helper()
	s, err := Open(context.Background(), "sqlite", path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func tempDB(t testing.TB) string {
	return filepath.Join(t.TempDir(), "sub", "bot.db")
}

// clock makes s's time adjustable; returns a function that moves it forward.
func clock(s *SQLite) (advance func(time.Duration)) {
	var off atomic.Int64
	s.now = func() time.Time { return time.Now().UTC().Add(time.Duration(off.Load())) }
	return func(d time.Duration) { off.Add(int64(d)) }
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	s := openT(t, tempDB(t))
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	m := openT(t, ":memory:")
	if err := m.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, "postgres", "x")
	if err == nil || !strings.Contains(err.Error(), `"postgres"`) {
		t.Fatalf("want error naming the driver, got %v", err)
	}
	var mode, sync string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	if err := s.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != "2" {
		t.Fatalf("synchronous = %q, %v (want 2 = FULL)", sync, err)
	}
	var fk int
	if err := s.db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v", fk, err)
	}
	// DSN pragmas override the defaults.
	n := openT(t, tempDB(t)+"?_pragma=synchronous(NORMAL)")
	if err := n.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != "1" {
		t.Fatalf("override synchronous = %q, %v", sync, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ping after Close = %v", err)
	}
	if _, err := s.Enqueue(ctx, Delivery{ID: "x", Event: "push"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enqueue after Close = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestMigrationsTwiceAndRestart(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	s1, err := Open(ctx, "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s1.AppendAudit(ctx, AuditRecord{Repo: "o/r", Outcome: OutcomeApplied, Workload: "web"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Enqueue(ctx, Delivery{ID: "d1", Event: "push", Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if first, err := s1.ClaimOnce(ctx, "comment:1"); err != nil || !first {
		t.Fatal(first, err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	for i := 0; i < 2; i++ { // migrations run again on the same file: no error, no change
		s := openT(t, path)
		v, err := s.SchemaVersion(ctx)
		if err != nil || v != len(migrations) {
			t.Fatalf("version = %d, %v", v, err)
		}
		var rows int
		s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_version").Scan(&rows)
		if rows != len(migrations) {
			t.Fatalf("schema_version rows = %d", rows)
		}
		recs, err := s.ListAudit(ctx, AuditFilter{})
		if err != nil || len(recs) != 1 || recs[0].Workload != "web" {
			t.Fatalf("audit after restart = %+v, %v", recs, err)
		}
		st, err := s.InboxStats(ctx)
		if err != nil || st.Pending != 1 {
			t.Fatalf("inbox after restart = %+v, %v", st, err)
		}
		if first, err := s.ClaimOnce(ctx, "comment:1"); err != nil || first {
			t.Fatalf("ClaimOnce after restart = %v, %v", first, err)
		}
		s.Close()
	}

	// A database from a newer binary is refused, not downgraded.
	s := openT(t, path)
	if _, err := s.db.ExecContext(ctx, "INSERT INTO schema_version(version, applied_ns) VALUES(999, 0)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, "sqlite", path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("open newer schema: %v", err)
	}
}

func TestConcurrentOpenFreshFile(t *testing.T) {
	path := tempDB(t)
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			s, err := Open(context.Background(), "sqlite", path)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
