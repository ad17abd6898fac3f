package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestClaimsCountAndReleaseAllLeases(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	dead := openT(t, path) // stands for a process that claims and then dies
	if _, err := dead.Enqueue(ctx, Delivery{ID: "d1", Event: "push", Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	got, err := dead.Claim(ctx, 10, time.Hour)
	if err != nil || len(got) != 1 || got[0].Claims != 1 {
		t.Fatalf("first claim = %+v, %v; want one delivery with Claims 1", got, err)
	}

	next := openT(t, path) // the restarted process
	if again, _ := next.Claim(ctx, 10, time.Hour); len(again) != 0 {
		t.Fatalf("a leased delivery was claimed again before its lease ended: %+v", again)
	}
	n, err := next.ReleaseAllLeases(ctx)
	if err != nil || n != 1 {
		t.Fatalf("ReleaseAllLeases = %d, %v; want 1", n, err)
	}
	again, err := next.Claim(ctx, 10, time.Hour)
	if err != nil || len(again) != 1 || again[0].Claims != 2 || again[0].Attempts != 0 {
		t.Fatalf("claim after restart = %+v, %v; want Claims 2, Attempts 0", again, err)
	}
	if err := next.Complete(ctx, "d1"); err != nil {
		t.Fatal(err)
	}
	if n, _ := next.ReleaseAllLeases(ctx); n != 0 {
		t.Errorf("released %d leases of finished work", n)
	}
}

func TestRequeueDeadDelivery(t *testing.T) {
	ctx := context.Background()
	s := openT(t, tempDB(t))
	for _, id := range []string{"dead", "pending"} {
		if _, err := s.Enqueue(ctx, Delivery{ID: id, Event: "push", Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Fail(ctx, "dead", "boom", time.Time{}, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Requeue(ctx, "pending"); err == nil {
		t.Error("requeued a pending delivery")
	}
	if err := s.Requeue(ctx, "missing"); err == nil {
		t.Error("requeued an unknown delivery")
	}
	if err := s.Requeue(ctx, "dead"); err != nil {
		t.Fatal(err)
	}
	ds, err := s.Claim(ctx, 10, time.Minute)
	if err != nil || len(ds) != 2 {
		t.Fatalf("claim after requeue = %+v, %v", ds, err)
	}
	for _, d := range ds {
		if d.ID == "dead" && (d.Attempts != 0 || d.Claims != 1 || d.State != StatePending) {
			t.Errorf("requeued delivery = %+v", d)
		}
	}
}

// TestPayloadMigrationKeepsPendingWork opens a store file written before
// payloads had their own table and finds its pending delivery intact.
func TestPayloadMigrationKeepsPendingWork(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	s := openT(t, path)
	// Rebuild the file as version 3 left it.
	if _, err := s.db.ExecContext(ctx, `DROP TABLE deliveries; DROP TABLE delivery_payloads; DELETE FROM schema_version;`); err != nil {
		t.Fatal(err)
	}
	for v, m := range migrations[:3] {
		if v == 0 {
			m = m[strings.Index(m, "CREATE TABLE deliveries"):strings.Index(m, "CREATE TABLE heartbeat")]
		}
		if _, err := s.db.ExecContext(ctx, m); err != nil {
			t.Fatalf("migration %d: %v", v+1, err)
		}
		if _, err := s.db.ExecContext(ctx, `INSERT INTO schema_version(version, applied_ns) VALUES(?, 0)`, v+1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO deliveries(id, event, payload, received_ns, state, next_attempt_ns) VALUES('old', 'push', x'7b7d', 1, 'pending', 1)`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s2 := openT(t, path)
	if v, _ := s2.SchemaVersion(ctx); v != len(migrations) {
		t.Fatalf("schema version %d, want %d", v, len(migrations))
	}
	ds, err := s2.Claim(ctx, 10, time.Minute)
	if err != nil || len(ds) != 1 || string(ds[0].Payload) != "{}" {
		t.Fatalf("after migration: %+v, %v", ds, err)
	}
}
