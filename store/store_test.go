package store

import (
	"context"
	"path/filepath"
	"testing"
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

func TestOpenSmoke(t *testing.T) {
	ctx := context.Background()
	s := openT(t, tempDB(t))
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	m := openT(t, ":memory:")
	if err := m.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, "postgres", "x"); err == nil {
		t.Fatal("want error for postgres driver")
	}
}
