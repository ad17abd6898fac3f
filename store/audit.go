package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

func validOutcome(o string) bool {
	switch o {
	case OutcomeApplied, OutcomeNoop, OutcomeDenied, OutcomeRefused, OutcomeFailed:
		return true
	}
	return false
}

// AppendAudit stores rec (ID is ignored) and returns its ID. A zero Time is
// set to now. Outcome must be one of applied|noop|denied|refused|failed.
func (s *SQLite) AppendAudit(ctx context.Context, rec AuditRecord) (int64, error) {
	if !validOutcome(rec.Outcome) {
		return 0, fmt.Errorf("store: append audit (delivery %q): outcome %q: %w", rec.DeliveryID, rec.Outcome, ErrInvalid)
	}
	if s.closed() {
		return 0, fmt.Errorf("store: append audit (delivery %q): %w", rec.DeliveryID, ErrClosed)
	}
	if rec.Time.IsZero() {
		rec.Time = s.now()
	}
	changes := rec.Changes
	if changes == nil {
		changes = []FieldChange{}
	}
	cj, err := json.Marshal(changes)
	if err != nil {
		return 0, fmt.Errorf("store: append audit (delivery %q): encode changes: %w", rec.DeliveryID, err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO audit(
		time_ns, delivery_id, repo, number, comment_id, actor_login, actor_id, permission,
		workload, workload_id, sha, changes, outcome, tinyforge_event_id, error)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		nanos(rec.Time), rec.DeliveryID, rec.Repo, rec.Number, rec.CommentID, rec.ActorLogin, rec.ActorID,
		rec.Permission, rec.Workload, rec.WorkloadID, rec.SHA, string(cj), rec.Outcome, rec.TinyforgeEventID, rec.Error)
	if err != nil {
		return 0, fmt.Errorf("store: append audit (delivery %q): %w", rec.DeliveryID, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("store: append audit (delivery %q): %w", rec.DeliveryID, err)
	}
	return id, nil
}

// ListAudit returns the records matching f, oldest first (by time, then ID).
func (s *SQLite) ListAudit(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	if s.closed() {
		return nil, fmt.Errorf("store: list audit: %w", ErrClosed)
	}
	var where []string
	var args []any
	if f.Repo != "" {
		where = append(where, "repo = ?")
		args = append(args, f.Repo)
	}
	if !f.Since.IsZero() {
		where = append(where, "time_ns >= ?")
		args = append(args, nanos(f.Since))
	}
	if f.AfterID > 0 {
		where = append(where, "id > ?")
		args = append(args, f.AfterID)
	}
	q := `SELECT id, time_ns, delivery_id, repo, number, comment_id, actor_login, actor_id, permission,
		workload, workload_id, sha, changes, outcome, tinyforge_event_id, error FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time_ns, id"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	var out []AuditRecord
	for rows.Next() {
		var r AuditRecord
		var t int64
		var cj string
		if err := rows.Scan(&r.ID, &t, &r.DeliveryID, &r.Repo, &r.Number, &r.CommentID, &r.ActorLogin, &r.ActorID,
			&r.Permission, &r.Workload, &r.WorkloadID, &r.SHA, &cj, &r.Outcome, &r.TinyforgeEventID, &r.Error); err != nil {
			return nil, fmt.Errorf("store: list audit: %w", err)
		}
		r.Time = fromNanos(t)
		if err := json.Unmarshal([]byte(cj), &r.Changes); err != nil {
			return nil, fmt.Errorf("store: list audit: record %d: decode changes: %w", r.ID, err)
		}
		if len(r.Changes) == 0 {
			r.Changes = nil
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	return out, nil
}
