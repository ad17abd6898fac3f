// Package store is tinyforge-bot's durable state: the webhook inbox, the
// exactly-once command keys, per-workload leases and the append-only audit
// log. The default implementation, [SQLite], embeds SQLite through
// modernc.org/sqlite (pure Go, no cgo). Callers should depend on the [Store]
// interface, which a Postgres implementation can satisfy later (every method
// maps onto ordinary SQL: INSERT ... ON CONFLICT DO NOTHING, UPDATE ...
// RETURNING, row leases with an expiry column).
//
// # Decisions
//
// Durability. The database runs in WAL mode with synchronous=FULL: every
// commit fsyncs the WAL. A returned Enqueue (or AppendAudit, ClaimOnce, ...)
// therefore survives a SIGKILL of the process and also an OS crash or power
// loss, provided the disk honours fsync. (With synchronous=NORMAL a SIGKILL
// would still lose nothing, because the WAL frames are in the OS page cache,
// but a power loss could roll back the last transactions committed since the
// previous checkpoint; since GitHub never redelivers on its own, an
// acknowledged webhook lost that way is lost for good, so FULL is the
// default.) The fsync per commit is amortised by group commit: concurrent
// Enqueue calls are handed to one writer goroutine, which inserts everything
// queued (up to 256 deliveries) in one transaction and wakes all waiters.
// A DSN may override pragmas, e.g. "bot.db?_pragma=synchronous(NORMAL)";
// the caller's pragmas are applied after the defaults.
//
// Connections. One *sql.DB with MaxOpenConns=1. SQLite admits one writer at a
// time; several connections in one process would only contend on the file
// lock and wait in SQLite's sleeping busy handler, while one connection queues
// callers in Go at no cost (reads are short here). It also makes ":memory:"
// work for tests. Across processes (or two Stores on one file) the file lock
// arbitrates: busy_timeout=10s, and every transaction is BEGIN IMMEDIATE, so
// a reader never has to upgrade to a writer (which would fail with
// SQLITE_BUSY without waiting). Foreign keys are on.
//
// Migrations. Numbered, forward-only, each applied once inside one IMMEDIATE
// transaction together with its row in schema_version; opening a file written
// by a newer binary (a higher version than this one knows) is an error.
//
// Encoding. Times are INTEGER unix nanoseconds in UTC (0 means the zero
// time), so ordering and range filters are integer comparisons; they come
// back as UTC time.Time. Payloads are BLOBs, stored verbatim. Audit field
// changes are a JSON array in a TEXT column.
//
// Errors. Every error names the operation and the key or ID involved
// ("store: complete delivery \"abc\": ..."), wraps the cause (errors.Is works
// with [ErrNotFound], [ErrClosed], [ErrInvalid], context errors), and never includes a
// payload or any other stored content. Redacting secrets from
// AuditRecord.Error is the caller's job; the store writes it as given.
//
// Audit is append-only: there is no update or delete method, and triggers in
// the schema abort any UPDATE or DELETE on the audit table.
//
// Leases. Lock keeps a row (key, owner, expires_at); while held it is renewed
// every ttl/3, so ttl only bounds how long a crashed holder blocks others.
// Claim marks deliveries leased until now+lease; the lease is not renewed, so
// choose it longer than the processing timeout. If a lease expires while work
// is still running, a second worker may process the same delivery; handlers
// stay safe through ClaimOnce and Lock.
package store
