package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers driver "sqlite"
)

// defaultPragmas are applied to every connection, before the DSN's own.
var defaultPragmas = []string{
	"busy_timeout(10000)",
	"journal_mode(WAL)",
	"synchronous(FULL)",
	"foreign_keys(ON)",
}

// maxBatch is the most deliveries one group commit inserts.
const maxBatch = 256

// SQLite is the embedded [Store]. It is safe for concurrent use; several
// SQLite values (in one process or several) may share one database file.
type SQLite struct {
	db    *sql.DB
	owner string // identifies this instance's leases
	now   func() time.Time

	reqs       chan *enqueueReq
	quit       chan struct{} // closed by Close
	writerDone chan struct{} // closed when the group-commit writer exits
	closeOnce  sync.Once
	closeErr   error
	bg         sync.WaitGroup // lease renewers

	insertDelivery   *sql.Stmt // prepared once, used by the writer
	insertPayload    *sql.Stmt
	completeDelivery *sql.Stmt

	batches atomic.Int64 // group commits done (observability, tests)
}

// Open opens (creating if needed) the store at dsn and migrates it. driver
// must be "sqlite". dsn is a file path, whose parent directory is created,
// optionally followed by "?" and modernc.org/sqlite parameters (for example
// "_pragma=synchronous(NORMAL)"), or ":memory:" for a private in-memory
// database (tests).
func Open(ctx context.Context, driver, dsn string) (*SQLite, error) {
	if driver != "sqlite" {
		return nil, fmt.Errorf("store: open: unsupported driver %q (supported: sqlite)", driver)
	}
	path, query, _ := strings.Cut(dsn, "?")
	if path == "" {
		return nil, fmt.Errorf("store: open: empty database path: %w", ErrInvalid)
	}
	memory := path == ":memory:" || strings.Contains(path, "mode=memory")
	if !memory && !strings.HasPrefix(path, "file:") {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store: open %s: create directory: %w", path, err)
		}
		// Create the file private to the bot's user if it does not exist yet.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
		f.Close()
	}
	params := make([]string, 0, len(defaultPragmas)+2)
	for _, p := range defaultPragmas {
		params = append(params, "_pragma="+p)
	}
	params = append(params, "_txlock=immediate")
	if query != "" {
		params = append(params, query)
	}
	db, err := sql.Open("sqlite", path+"?"+strings.Join(params, "&"))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)

	s := &SQLite{
		db:         db,
		owner:      randomID(),
		now:        func() time.Time { return time.Now().UTC() },
		reqs:       make(chan *enqueueReq),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	if err := s.migrateRetry(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s.insertDelivery, err = db.PrepareContext(ctx, `INSERT INTO deliveries(id, event, received_ns, attempts, state, next_attempt_ns)
		VALUES(?, ?, ?, 0, 'pending', ?) ON CONFLICT(id) DO NOTHING`)
	if err == nil {
		s.insertPayload, err = db.PrepareContext(ctx, `INSERT INTO delivery_payloads(id, payload) VALUES(?, ?)
			ON CONFLICT(id) DO UPDATE SET payload = excluded.payload`)
	}
	if err == nil {
		// Completing a done delivery again is a no-op that still finds the row.
		s.completeDelivery, err = db.PrepareContext(ctx, `UPDATE deliveries
			SET state = 'done', lease_until_ns = 0, lease_owner = '', finished_ns = CASE WHEN state = 'done' THEN finished_ns ELSE ? END
			WHERE id = ?`)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: prepare: %w", path, err)
	}
	go s.writer()
	return s, nil
}

// Close stops the group-commit writer and lease renewers and closes the
// database. Leases held by this instance are not released (see
// ReleaseLeases and the unlock functions); they expire.
func (s *SQLite) Close() error {
	s.closeOnce.Do(func() {
		close(s.quit)
		<-s.writerDone
		s.bg.Wait()
		s.insertDelivery.Close()
		s.insertPayload.Close()
		s.completeDelivery.Close()
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

func (s *SQLite) closed() bool {
	select {
	case <-s.quit:
		return true
	default:
		return false
	}
}

// Ping proves the store is writable: it writes one row of a one-row table.
func (s *SQLite) Ping(ctx context.Context) error {
	if s.closed() {
		return fmt.Errorf("store: ping: %w", ErrClosed)
	}
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO heartbeat(id, at_ns, owner) VALUES(1, ?, ?)
		 ON CONFLICT(id) DO UPDATE SET at_ns = excluded.at_ns, owner = excluded.owner`,
		nanos(s.now()), s.owner)
	if err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// migrations are numbered from 1 by position; append only, never edit one
// that has shipped.
var migrations = []string{
	// 1: audit, exactly-once keys, leases, inbox, heartbeat.
	`
CREATE TABLE audit (
	id                 INTEGER PRIMARY KEY AUTOINCREMENT,
	time_ns            INTEGER NOT NULL,
	delivery_id        TEXT    NOT NULL DEFAULT '',
	repo               TEXT    NOT NULL DEFAULT '',
	number             INTEGER NOT NULL DEFAULT 0,
	comment_id         INTEGER NOT NULL DEFAULT 0,
	actor_login        TEXT    NOT NULL DEFAULT '',
	actor_id           INTEGER NOT NULL DEFAULT 0,
	permission         TEXT    NOT NULL DEFAULT '',
	workload           TEXT    NOT NULL DEFAULT '',
	workload_id        TEXT    NOT NULL DEFAULT '',
	sha                TEXT    NOT NULL DEFAULT '',
	changes            TEXT    NOT NULL DEFAULT '[]',
	outcome            TEXT    NOT NULL,
	tinyforge_event_id TEXT    NOT NULL DEFAULT '',
	error              TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_time ON audit(time_ns, id);
CREATE INDEX audit_repo_time ON audit(repo, time_ns, id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;

CREATE TABLE once_keys (
	key        TEXT PRIMARY KEY,
	claimed_ns INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE locks (
	key        TEXT PRIMARY KEY,
	owner      TEXT    NOT NULL,
	expires_ns INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE deliveries (
	id              TEXT PRIMARY KEY,
	event           TEXT    NOT NULL,
	payload         BLOB    NOT NULL,
	received_ns     INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	state           TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
	next_attempt_ns INTEGER NOT NULL,
	lease_until_ns  INTEGER NOT NULL DEFAULT 0,
	lease_owner     TEXT    NOT NULL DEFAULT '',
	last_error      TEXT    NOT NULL DEFAULT '',
	finished_ns     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX deliveries_ready ON deliveries(state, next_attempt_ns, received_ns);
CREATE INDEX deliveries_lease_owner ON deliveries(lease_owner) WHERE lease_owner <> '';

CREATE TABLE heartbeat (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	at_ns INTEGER NOT NULL,
	owner TEXT    NOT NULL
);
`,
	// 2: how often a delivery was claimed, so a delivery whose processing
	// kills the process is noticed (attempts only counts recorded failures)
	// and handlers know they may be re-running interrupted work.
	`ALTER TABLE deliveries ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;`,
	// 3: the claim query walks pending rows oldest first and needs their
	// due time and lease; covering them keeps it from reading every pending
	// row's payload (it was quadratic in the backlog).
	`CREATE INDEX deliveries_claim ON deliveries(state, received_ns, id, next_attempt_ns, lease_until_ns);`,
	// 4: payloads in a table of their own. SQLite rewrites a whole row on
	// every update, and a delivery's row is updated when it is claimed and
	// when it is done: with the payload inline that rewrote kilobytes each
	// time. Now a payload is written once.
	`
CREATE TABLE delivery_payloads (
	id      TEXT PRIMARY KEY,
	payload BLOB NOT NULL
);
INSERT INTO delivery_payloads(id, payload) SELECT id, payload FROM deliveries;
ALTER TABLE deliveries DROP COLUMN payload;
CREATE TRIGGER deliveries_drop_payload AFTER DELETE ON deliveries
BEGIN DELETE FROM delivery_payloads WHERE id = old.id; END;
`,
	// 5: deliveries_claim serves every query deliveries_ready did, and
	// ReleaseLeases (at shutdown) can scan the pending rows; each index
	// dropped is one write less per claim and per completion.
	`DROP INDEX deliveries_ready; DROP INDEX deliveries_lease_owner;`,
}

// migrateRetry runs migrate, retrying while the file is busy. Processes
// opening a fresh file at once race to switch it to WAL mode, and SQLite
// reports SQLITE_BUSY for that without consulting busy_timeout.
func (s *SQLite) migrateRetry(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	backoff := time.Millisecond
	for {
		err := s.migrate(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("migrate: %w (last: %v)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

// isBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED (any extended code).
func isBusy(err error) bool {
	var c interface{ Code() int }
	if !errors.As(err, &c) {
		return false
	}
	switch c.Code() & 0xff {
	case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
		return true
	}
	return false
}

// migrate brings the schema up to date in one IMMEDIATE transaction, so two
// processes opening a fresh file at once do not both migrate.
func (s *SQLite) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		applied_ns INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: schema_version: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("migrate: database schema version %d is newer than this binary supports (%d); refusing to downgrade", current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("migrate: version %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version(version, applied_ns) VALUES(?, ?)`, v, nanos(s.now())); err != nil {
			return fmt.Errorf("migrate: record version %d: %w", v, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

// SchemaVersion reports the schema version of the open database.
func (s *SQLite) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func randomID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}
