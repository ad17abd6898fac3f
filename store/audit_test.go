package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAudit(t *testing.T) {
	ctx := context.Background()
	s := openT(t, ":memory:")
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	in := []AuditRecord{
		{Time: base, DeliveryID: "d1", Repo: "acme/web", Number: 7, CommentID: 1001, ActorLogin: "alice", ActorID: 1,
			Permission: "admin", Workload: "web", WorkloadID: "wl_1", SHA: "abc123",
			Changes: []FieldChange{{Field: "deploy.port", From: float64(8080), To: float64(9090)}, {Field: "deploy.healthcheck", From: nil, To: "/healthz"}},
			Outcome: OutcomeApplied, TinyforgeEventID: "ev_1"},
		{Time: base.Add(time.Minute), DeliveryID: "d2", Repo: "acme/api", ActorLogin: "bob", Permission: "write", Outcome: OutcomeDenied},
		{Time: base.Add(2 * time.Minute), DeliveryID: "d3", Repo: "acme/web", Outcome: OutcomeFailed, Error: "tinyforge: 500"},
		{Time: base.Add(3 * time.Minute), DeliveryID: "d4", Repo: "acme/web", Outcome: OutcomeNoop},
	}
	// Append out of order: listing is by time.
	for _, i := range []int{2, 0, 3, 1} {
		id, err := s.AppendAudit(ctx, in[i])
		if err != nil || id <= 0 {
			t.Fatalf("append %d: %d, %v", i, id, err)
		}
	}
	all, err := s.ListAudit(ctx, AuditFilter{})
	if err != nil || len(all) != 4 {
		t.Fatalf("list: %d, %v", len(all), err)
	}
	for i, r := range all {
		if r.DeliveryID != in[i].DeliveryID || !r.Time.Equal(in[i].Time) || r.Time.Location() != time.UTC {
			t.Fatalf("record %d = %+v", i, r)
		}
	}
	got := all[0]
	got.ID = 0
	if got.Repo != "acme/web" || got.Number != 7 || got.CommentID != 1001 || got.ActorID != 1 || got.ActorLogin != "alice" ||
		got.Permission != "admin" || got.WorkloadID != "wl_1" || got.SHA != "abc123" || got.TinyforgeEventID != "ev_1" ||
		len(got.Changes) != 2 || got.Changes[0] != in[0].Changes[0] || got.Changes[1] != in[0].Changes[1] {
		t.Fatalf("round trip: %+v", got)
	}
	if all[1].Changes != nil {
		t.Fatalf("empty changes = %#v", all[1].Changes)
	}

	check := func(f AuditFilter, want ...string) {
		t.Helper()
		recs, err := s.ListAudit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.DeliveryID)
		}
		if strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Fatalf("%+v: got %v want %v", f, ids, want)
		}
	}
	check(AuditFilter{Repo: "acme/web"}, "d1", "d3", "d4")
	check(AuditFilter{Repo: "acme/none"})
	check(AuditFilter{Since: base.Add(time.Minute)}, "d2", "d3", "d4")
	check(AuditFilter{Repo: "acme/web", Since: base.Add(30 * time.Second)}, "d3", "d4")
	check(AuditFilter{Limit: 2}, "d1", "d2")
	check(AuditFilter{Repo: "acme/web", Limit: 1}, "d1")
	check(AuditFilter{AfterID: all[1].ID, Limit: 10}, idsAfter(all, all[1].ID)...)

	// Zero time = now; bad outcome refused.
	before := time.Now()
	id, err := s.AppendAudit(ctx, AuditRecord{Repo: "acme/x", Outcome: OutcomeRefused})
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := s.ListAudit(ctx, AuditFilter{Repo: "acme/x"})
	if len(recs) != 1 || recs[0].ID != id || recs[0].Time.Before(before.Add(-time.Second)) {
		t.Fatalf("now record: %+v", recs)
	}
	if _, err := s.AppendAudit(ctx, AuditRecord{Repo: "acme/x", Outcome: "ok"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad outcome: %v", err)
	}

	// Append-only: raw UPDATE and DELETE are aborted by triggers.
	if _, err := s.db.ExecContext(ctx, `UPDATE audit SET outcome = 'applied' WHERE id = ?`, all[1].ID); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("UPDATE audit: %v", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM audit`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("DELETE audit: %v", err)
	}
	if recs, _ := s.ListAudit(ctx, AuditFilter{}); len(recs) != 5 || recs[1].Outcome != OutcomeDenied {
		t.Fatalf("after tamper attempts: %+v", recs)
	}
}

// idsAfter lists the delivery IDs of records with ID > after, in list order.
func idsAfter(all []AuditRecord, after int64) []string {
	var out []string
	for _, r := range all {
		if r.ID > after {
			out = append(out, r.DeliveryID)
		}
	}
	return out
}
