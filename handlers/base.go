// Package handlers turns GitHub webhooks into Tinyforge drift checks and
// comment-driven syncs. Each event has its own file and type; they share Base.
// Handlers return errors only for infrastructure failures (so the inbox retries
// them); an invalid .tinyforge.yml is a result, reported as a failing check.
package handlers

import (
	"context"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/tinyforge/tinyforge-bot/store"
	"github.com/tinyforge/tinyforge-bot/tinyforge"
)

// Tinyforge is the slice of the Tinyforge API the handlers call.
type Tinyforge interface {
	GetWorkload(ctx context.Context, id tinyforge.ID) (*tinyforge.Workload, error)
	Sync(ctx context.Context, id tinyforge.ID, expectedSHA string) (*tinyforge.SyncResult, error)
}

// Workloads maps a repository ("owner/name") to its gitops-enabled workloads.
type Workloads interface {
	WorkloadsForRepo(ctx context.Context, fullName string) ([]tinyforge.Workload, error)
}

// Store is the durable state the sync path needs: exactly-once claims,
// cross-process locks and the audit log.
type Store interface {
	ClaimOnce(ctx context.Context, key string) (bool, error)
	Lock(ctx context.Context, key string, ttl time.Duration) (func(), error)
	AppendAudit(ctx context.Context, rec store.AuditRecord) (int64, error)
}

// SyncPolicy says who may run /tinyforge sync.
type SyncPolicy struct {
	// Permission is the minimum repository role: admin, maintain, write,
	// triage or read.
	Permission string
	// Users are logins allowed regardless of their role.
	Users []string
	// Teams are "org/slug" teams whose active members are allowed.
	Teams []string
}

// Observer receives the outcomes handlers produce, for metrics. Any field may be nil.
type Observer struct {
	CheckCompleted func(conclusion string)
	SyncOutcome    func(outcome string)
}

// Base carries what every handler needs.
type Base struct {
	githubapp.ClientCreator
	Tinyforge Tinyforge
	Workloads Workloads
	Store     Store
	// AppID tells our check runs apart from other apps'.
	AppID  int64
	Policy SyncPolicy
	// Now is the clock; nil means time.Now.
	Now      func() time.Time
	Observer Observer
}

func (b *Base) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// repoRef names a repository the way every API call needs it.
type repoRef struct {
	Owner, Name string
}

func (r repoRef) FullName() string { return r.Owner + "/" + r.Name }

func refOf(repo *github.Repository) repoRef {
	return repoRef{Owner: repo.GetOwner().GetLogin(), Name: repo.GetName()}
}

// installationClient returns the GitHub client for the event's installation.
func (b *Base) installationClient(event githubapp.InstallationSource) (*github.Client, error) {
	return b.NewInstallationClient(githubapp.GetInstallationIDFromEvent(event))
}
