package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// enqueueReq is one write for the group-commit writer: insert d, or, when
// complete is set, mark that delivery done. Completions ride in the same
// transactions as inserts, so neither costs an fsync of its own under load.
type enqueueReq struct {
	d        Delivery
	complete string
	resp     chan enqueueResp // buffered(1): the writer never blocks on it
}

func (r *enqueueReq) op() string {
	if r.complete != "" {
		return fmt.Sprintf("complete delivery %q", r.complete)
	}
	return fmt.Sprintf("enqueue delivery %q", r.d.ID)
}

type enqueueResp struct {
	inserted bool
	err      error
}

// Enqueue stores d as pending. When it returns nil the delivery is durable
// (committed with synchronous=FULL), so the webhook may be acknowledged. A
// delivery whose ID is already stored, in any state, is left as it is and
// inserted is false. Concurrent calls are group-committed by one writer
// goroutine. If ctx ends while waiting, Enqueue returns ctx's error, but the
// delivery may still be committed; enqueueing it again is safe.
func (s *SQLite) Enqueue(ctx context.Context, d Delivery) (bool, error) {
	if d.ID == "" || d.Event == "" {
		return false, fmt.Errorf("store: enqueue delivery %q: id and event are required: %w", d.ID, ErrInvalid)
	}
	if d.Payload == nil {
		d.Payload = []byte{}
	}
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = s.now()
	}
	if d.NextAttemptAt.IsZero() {
		d.NextAttemptAt = d.ReceivedAt
	}
	r := &enqueueReq{d: d, resp: make(chan enqueueResp, 1)}
	select {
	case s.reqs <- r:
	case <-s.quit:
		return false, fmt.Errorf("store: enqueue delivery %q: %w", d.ID, ErrClosed)
	case <-ctx.Done():
		return false, fmt.Errorf("store: enqueue delivery %q: %w", d.ID, ctx.Err())
	}
	select {
	case res := <-r.resp:
		return res.inserted, res.err
	case <-ctx.Done():
		return false, fmt.Errorf("store: enqueue delivery %q: %w", d.ID, ctx.Err())
	}
}

// writer is the single group-commit goroutine: it takes one request, gathers
// whatever else is already waiting (up to maxBatch), commits them in one
// transaction and answers each.
func (s *SQLite) writer() {
	defer close(s.writerDone)
	batch := make([]*enqueueReq, 0, maxBatch)
	for {
		select {
		case <-s.quit:
			return
		case r := <-s.reqs:
			batch = append(batch[:0], r)
		}
	gather:
		for len(batch) < maxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		s.commitBatch(batch)
		clear(batch)
	}
}

func (s *SQLite) commitBatch(batch []*enqueueReq) {
	fail := func(err error) {
		for _, r := range batch {
			r.resp <- enqueueResp{err: fmt.Errorf("store: %s: %w", r.op(), err)}
		}
	}
	// Not tied to any caller's context: one caller giving up must not abort
	// the others' commit.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	insert := tx.StmtContext(ctx, s.insertDelivery)
	insertPayload := tx.StmtContext(ctx, s.insertPayload)
	complete := tx.StmtContext(ctx, s.completeDelivery)
	now := nanos(s.now())
	results := make([]enqueueResp, len(batch))
	for i, r := range batch {
		d := r.d
		// A failing statement rolls back only itself, not the transaction.
		var res sql.Result
		if r.complete != "" {
			res, err = complete.ExecContext(ctx, now, r.complete)
		} else {
			res, err = insert.ExecContext(ctx, d.ID, d.Event, nanos(d.ReceivedAt), nanos(d.NextAttemptAt))
		}
		if err == nil {
			var n int64
			n, err = res.RowsAffected()
			results[i].inserted = n == 1
			if r.complete != "" && n != 1 {
				err = ErrNotFound
			}
			if err == nil && r.complete == "" && n == 1 {
				_, err = insertPayload.ExecContext(ctx, d.ID, d.Payload)
			}
		}
		if err != nil {
			results[i].err = fmt.Errorf("store: %s: %w", r.op(), err)
		}
	}
	insert.Close()
	insertPayload.Close()
	complete.Close()
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	s.batches.Add(1)
	for i, r := range batch {
		r.resp <- results[i]
	}
}

const deliveryCols = `id, event, received_ns, attempts, state, next_attempt_ns, last_error, lease_until_ns, claims`

type scanner interface{ Scan(...any) error }

func scanDelivery(sc scanner) (Delivery, error) {
	var d Delivery
	var recv, next, lease int64
	if err := sc.Scan(&d.ID, &d.Event, &recv, &d.Attempts, &d.State, &next, &d.LastError, &lease, &d.Claims); err != nil {
		return d, err
	}
	d.ReceivedAt, d.NextAttemptAt, d.LeasedUntil = fromNanos(recv), fromNanos(next), fromNanos(lease)
	return d, nil
}

// Claim leases up to limit pending deliveries that are due (NextAttemptAt <=
// now) and not leased by anyone, oldest first, until now+lease. Another
// Claim, in this process or another, does not return them until the lease
// expires (the holder died) or is released.
func (s *SQLite) Claim(ctx context.Context, limit int, lease time.Duration) ([]Delivery, error) {
	if limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("store: claim deliveries: limit %d, lease %v: %w", limit, lease, ErrInvalid)
	}
	if s.closed() {
		return nil, fmt.Errorf("store: claim deliveries: %w", ErrClosed)
	}
	now := nanos(s.now())
	until := now + int64(lease)
	tx, err := s.db.BeginTx(ctx, nil) // IMMEDIATE: select and update under the write lock
	if err != nil {
		return nil, fmt.Errorf("store: claim deliveries: begin: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `UPDATE deliveries SET lease_until_ns = ?, lease_owner = ?, claims = claims + 1
		WHERE id IN (
			SELECT id FROM deliveries
			WHERE state = 'pending' AND next_attempt_ns <= ? AND lease_until_ns <= ?
			ORDER BY received_ns, id LIMIT ?)
		RETURNING `+deliveryCols, until, s.owner, now, now, limit)
	if err != nil {
		return nil, fmt.Errorf("store: claim deliveries: %w", err)
	}
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: claim deliveries: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("store: claim deliveries: %w", err)
	}
	rows.Close()
	if err := fillPayloads(ctx, tx, out); err != nil {
		return nil, fmt.Errorf("store: claim deliveries: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: claim deliveries: commit: %w", err)
	}
	slices.SortFunc(out, func(a, b Delivery) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Complete marks the delivery done and drops its lease. Completing a done
// delivery again is a no-op; an unknown ID is ErrNotFound.
func (s *SQLite) Complete(ctx context.Context, id string) error {
	r := &enqueueReq{complete: id, resp: make(chan enqueueResp, 1)}
	select {
	case s.reqs <- r:
	case <-s.quit:
		return fmt.Errorf("store: complete delivery %q: %w", id, ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("store: complete delivery %q: %w", id, ctx.Err())
	}
	select {
	case res := <-r.resp:
		return res.err
	case <-ctx.Done():
		return fmt.Errorf("store: complete delivery %q: %w", id, ctx.Err())
	}
}

// Fail records a failed attempt: attempts+1, LastError=errMsg, lease dropped.
// With dead the delivery becomes dead (kept for inspection, never claimed
// again); otherwise it stays pending and is due again at retryAt. Failing a
// done delivery is refused (ErrInvalid); an unknown ID is ErrNotFound.
func (s *SQLite) Fail(ctx context.Context, id string, errMsg string, retryAt time.Time, dead bool) error {
	if s.closed() {
		return fmt.Errorf("store: fail delivery %q: %w", id, ErrClosed)
	}
	state := StatePending
	finished := int64(0)
	if dead {
		state = StateDead
		finished = nanos(s.now())
	}
	if retryAt.IsZero() {
		retryAt = s.now()
	}
	res, err := s.db.ExecContext(ctx, `UPDATE deliveries
		SET attempts = attempts + 1, last_error = ?, next_attempt_ns = ?, state = ?,
		    lease_until_ns = 0, lease_owner = '', finished_ns = ?
		WHERE id = ? AND state <> 'done'`, errMsg, nanos(retryAt), state, finished, id)
	if err := s.checkOne(res, err, "fail delivery", id); err != nil {
		var st string
		if qerr := s.db.QueryRowContext(ctx, `SELECT state FROM deliveries WHERE id = ?`, id).Scan(&st); qerr == nil && st == StateDone {
			return fmt.Errorf("store: fail delivery %q: already done: %w", id, ErrInvalid)
		}
		return err
	}
	return nil
}

func (s *SQLite) checkOne(res sql.Result, err error, op, id string) error {
	if err != nil {
		return fmt.Errorf("store: %s %q: %w", op, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s %q: %w", op, id, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s %q: %w", op, id, ErrNotFound)
	}
	return nil
}

// ListDeliveries returns deliveries in state (all states when ""), oldest
// first, at most limit of them when limit > 0.
func (s *SQLite) ListDeliveries(ctx context.Context, state string, limit int) ([]Delivery, error) {
	switch state {
	case "", StatePending, StateDone, StateDead:
	default:
		return nil, fmt.Errorf("store: list deliveries: state %q: %w", state, ErrInvalid)
	}
	if s.closed() {
		return nil, fmt.Errorf("store: list deliveries: %w", ErrClosed)
	}
	q := `SELECT ` + deliveryCols + ` FROM deliveries`
	var args []any
	if state != "" {
		q += ` WHERE state = ?`
		args = append(args, state)
	}
	q += ` ORDER BY received_ns, id`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list deliveries: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list deliveries: %w", err)
	}
	rows.Close()
	if err := fillPayloads(ctx, s.db, out); err != nil {
		return nil, fmt.Errorf("store: list deliveries: %w", err)
	}
	return out, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// fillPayloads reads the payloads of ds from their own table.
func fillPayloads(ctx context.Context, q querier, ds []Delivery) error {
	for start := 0; start < len(ds); start += 100 {
		chunk := ds[start:min(start+100, len(ds))]
		args := make([]any, len(chunk))
		byID := make(map[string]int, len(chunk))
		for i, d := range chunk {
			args[i] = d.ID
			byID[d.ID] = start + i
		}
		rows, err := q.QueryContext(ctx, `SELECT id, payload FROM delivery_payloads WHERE id IN (?`+strings.Repeat(",?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return fmt.Errorf("read payloads: %w", err)
		}
		for rows.Next() {
			var id string
			var payload []byte
			if err := rows.Scan(&id, &payload); err != nil {
				rows.Close()
				return fmt.Errorf("read payloads: %w", err)
			}
			ds[byID[id]].Payload = payload
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("read payloads: %w", err)
		}
	}
	for i := range ds {
		if ds[i].Payload == nil {
			ds[i].Payload = []byte{}
		}
	}
	return nil
}

// InboxStats counts deliveries by state and reports the oldest pending one's
// ReceivedAt.
func (s *SQLite) InboxStats(ctx context.Context) (InboxStats, error) {
	var st InboxStats
	if s.closed() {
		return st, fmt.Errorf("store: inbox stats: %w", ErrClosed)
	}
	var oldest sql.NullInt64
	// Each part reads only the claim index, never the payloads.
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM deliveries WHERE state = 'pending'),
		(SELECT COUNT(*) FROM deliveries WHERE state = 'dead'),
		(SELECT COUNT(*) FROM deliveries WHERE state = 'done'),
		(SELECT MIN(received_ns) FROM deliveries WHERE state = 'pending')`).Scan(&st.Pending, &st.Dead, &st.Done, &oldest)
	if err != nil {
		return st, fmt.Errorf("store: inbox stats: %w", err)
	}
	if oldest.Valid {
		st.OldestPending = fromNanos(oldest.Int64)
	}
	return st, nil
}

// ReleaseLeases drops the leases this instance holds on pending deliveries,
// so they are claimable at once (graceful shutdown: work claimed but not
// finished goes back to the queue without waiting for lease expiry).
func (s *SQLite) ReleaseLeases(ctx context.Context) error {
	if s.closed() {
		return fmt.Errorf("store: release leases: %w", ErrClosed)
	}
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET lease_until_ns = 0, lease_owner = ''
		WHERE lease_owner = ? AND state = 'pending'`, s.owner)
	if err != nil {
		return fmt.Errorf("store: release leases: %w", err)
	}
	return nil
}

// PruneDone deletes done deliveries finished before before and returns how
// many it removed. Pending and dead deliveries are kept. A pruned ID is no
// longer recognised as a duplicate by Enqueue, so keep done deliveries longer
// than GitHub may redeliver (redeliveries are manual, for up to 3 days).
func (s *SQLite) PruneDone(ctx context.Context, before time.Time) (int64, error) {
	if s.closed() {
		return 0, fmt.Errorf("store: prune deliveries: %w", ErrClosed)
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM deliveries WHERE state = 'done' AND finished_ns < ?`, nanos(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: prune deliveries: %w", err)
	}
	return n, nil
}

// ReleaseAllLeases makes every pending delivery claimable now, whoever leased
// it. A single instance calls it at start: leases still held then belong to
// a process that died, and its work should resume at once rather than when
// the leases expire. Never call it while another instance shares the store.
func (s *SQLite) ReleaseAllLeases(ctx context.Context) (int64, error) {
	if s.closed() {
		return 0, fmt.Errorf("store: release all leases: %w", ErrClosed)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE deliveries SET lease_until_ns = 0, lease_owner = ''
		WHERE state = 'pending' AND lease_owner <> ''`)
	if err != nil {
		return 0, fmt.Errorf("store: release all leases: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Requeue gives a dead delivery another round of attempts (an operator's
// decision once the cause is fixed): it becomes pending and due now, with its
// attempt and claim counts reset. Only dead deliveries can be requeued.
func (s *SQLite) Requeue(ctx context.Context, id string) error {
	if s.closed() {
		return fmt.Errorf("store: requeue delivery %q: %w", id, ErrClosed)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE deliveries
		SET state = 'pending', attempts = 0, claims = 0, next_attempt_ns = ?, finished_ns = 0, lease_until_ns = 0, lease_owner = ''
		WHERE id = ? AND state = 'dead'`, nanos(s.now()), id)
	if err := s.checkOne(res, err, "requeue delivery", id); err != nil {
		var st string
		if qerr := s.db.QueryRowContext(ctx, `SELECT state FROM deliveries WHERE id = ?`, id).Scan(&st); qerr == nil {
			return fmt.Errorf("store: requeue delivery %q: it is %s, not dead: %w", id, st, ErrInvalid)
		}
		return err
	}
	return nil
}
