package store

import (
	"context"
	"errors"
	"time"
)

// Store is what the bot needs from durable state. [SQLite] implements it; a
// Postgres implementation can satisfy it later.
type Store interface {
	Ping(ctx context.Context) error
	Close() error

	AppendAudit(ctx context.Context, rec AuditRecord) (int64, error)
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditRecord, error)

	ClaimOnce(ctx context.Context, key string) (first bool, err error)
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(), err error)

	Enqueue(ctx context.Context, d Delivery) (inserted bool, err error)
	Claim(ctx context.Context, limit int, lease time.Duration) ([]Delivery, error)
	Complete(ctx context.Context, id string) error
	Fail(ctx context.Context, id string, errMsg string, retryAt time.Time, dead bool) error
	ListDeliveries(ctx context.Context, state string, limit int) ([]Delivery, error)
	InboxStats(ctx context.Context) (InboxStats, error)
	ReleaseLeases(ctx context.Context) error
	PruneDone(ctx context.Context, before time.Time) (int64, error)
}

var _ Store = (*SQLite)(nil)

var (
	// ErrNotFound is returned (wrapped) when an ID does not exist.
	ErrNotFound = errors.New("not found")
	// ErrClosed is returned (wrapped) by calls on a closed store.
	ErrClosed = errors.New("store closed")
	// ErrInvalid is returned (wrapped) for arguments the store refuses.
	ErrInvalid = errors.New("invalid argument")
)

// Audit outcomes.
const (
	OutcomeApplied = "applied"
	OutcomeNoop    = "noop"
	OutcomeDenied  = "denied"
	OutcomeRefused = "refused"
	OutcomeFailed  = "failed"
)

// Delivery states.
const (
	StatePending = "pending"
	StateDone    = "done"
	StateDead    = "dead"
)

// FieldChange is one field of a workload's config before and after a sync.
type FieldChange struct {
	Field string `json:"field"`
	From  any    `json:"from"`
	To    any    `json:"to"`
}

// AuditRecord is one sync attempt. Time zero means "now" on append.
type AuditRecord struct {
	ID               int64         `json:"id"`
	Time             time.Time     `json:"time"`
	DeliveryID       string        `json:"delivery_id"`
	Repo             string        `json:"repo"`
	Number           int           `json:"number"`
	CommentID        int64         `json:"comment_id"`
	ActorLogin       string        `json:"actor_login"`
	ActorID          int64         `json:"actor_id"`
	Permission       string        `json:"permission"`
	Workload         string        `json:"workload"`
	WorkloadID       string        `json:"workload_id"`
	SHA              string        `json:"sha"`
	Changes          []FieldChange `json:"changes"`
	Outcome          string        `json:"outcome"` // applied|noop|denied|refused|failed
	TinyforgeEventID string        `json:"tinyforge_event_id"`
	Error            string        `json:"error"`
}

// AuditFilter selects audit records. Zero fields do not filter. Limit > 0
// returns at most that many records, the oldest matching ones first; page on
// with AfterID set to the last ID seen.
type AuditFilter struct {
	Repo    string
	Since   time.Time // records with Time >= Since
	AfterID int64     // records with ID > AfterID
	Limit   int
}

// Delivery is one webhook in the inbox.
type Delivery struct {
	ID            string    `json:"id"` // X-GitHub-Delivery
	Event         string    `json:"event"`
	Payload       []byte    `json:"payload"`
	ReceivedAt    time.Time `json:"received_at"` // zero = now on Enqueue
	Attempts      int       `json:"attempts"`
	State         string    `json:"state"`           // pending|done|dead
	NextAttemptAt time.Time `json:"next_attempt_at"` // zero = ReceivedAt on Enqueue
	LastError     string    `json:"last_error"`
	LeasedUntil   time.Time `json:"leased_until"` // set by Claim, cleared by Complete/Fail/ReleaseLeases
	Claims        int       `json:"claims"`       // times Claim handed it out, this claim included
}

// InboxStats summarises the inbox. OldestPending is the zero time when
// nothing is pending.
type InboxStats struct {
	Pending, Dead, Done int
	OldestPending       time.Time
}
