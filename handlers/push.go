package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// Push checks a push to a workload's tracked branch that touches its file.
type Push struct{ *Base }

var _ githubapp.EventHandler = (*Push)(nil)

func (h *Push) Handles() []string { return []string{"push"} }

// maxPushCommits is where GitHub stops listing a push's commits in the webhook.
const maxPushCommits = 2048

// compareFileLimit is how many files the compare API lists; at that many we
// cannot tell what else changed.
const compareFileLimit = 300

func (h *Push) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev pushEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("parse push event %s: %w", deliveryID, err)
	}
	branch, ok := branchOf(ev.Ref)
	if !ok || ev.Deleted {
		return nil
	}
	repo := ev.repo()
	ctx, logger := githubapp.PrepareRepoContext(ctx, githubapp.GetInstallationIDFromEvent(&ev),
		&github.Repository{Name: github.String(repo.Name), Owner: &github.User{Login: github.String(repo.Owner)}, FullName: github.String(repo.FullName())})

	workloads, err := h.workloadsOnBranch(ctx, repo.FullName(), ev.Repo.DefaultBranch, branch)
	if err != nil || len(workloads) == 0 {
		return err
	}

	var client *github.Client
	changed, complete := pushChangedPaths(&ev)
	if !complete {
		client, err = h.installationClient(&ev)
		if err != nil {
			return fmt.Errorf("github client: %w", err)
		}
		changed, complete, err = h.comparePaths(ctx, client, repo, &ev, branch)
		if err != nil {
			return err
		}
	}
	targets := workloads
	if complete {
		targets = touchedWorkloads(workloads, changed)
	}
	if len(targets) == 0 {
		logger.Debug().Str("branch", branch).Msg("push does not touch any workload's config file")
		return nil
	}
	if client == nil {
		if client, err = h.installationClient(&ev); err != nil {
			return fmt.Errorf("github client: %w", err)
		}
	}
	return h.runChecks(ctx, client, checkTarget{Repo: repo, FileRepo: repo, HeadSHA: ev.After, DeliveryID: deliveryID}, targets)
}

// comparePaths asks the compare API what a push changed, for pushes whose
// payload cannot say: a new branch, a force-push or a truncated commit list.
// complete is false when even compare cannot tell (then every workload is checked).
func (h *Push) comparePaths(ctx context.Context, client *github.Client, repo repoRef, ev *pushEvent, branch string) (paths []string, complete bool, err error) {
	base := ev.Before
	if isZeroSHA(base) {
		base = ev.Repo.DefaultBranch
		if base == "" || base == branch {
			return nil, false, nil
		}
	}
	cmp, _, err := client.Repositories.CompareCommits(ctx, repo.Owner, repo.Name, base, ev.After, &github.ListOptions{PerPage: 100})
	if err != nil {
		return nil, false, fmt.Errorf("compare %s...%s in %s: %w", shortSHA(base), shortSHA(ev.After), repo.FullName(), err)
	}
	for _, f := range cmp.Files {
		paths = append(paths, f.GetFilename())
		if f.GetPreviousFilename() != "" {
			paths = append(paths, f.GetPreviousFilename())
		}
	}
	return paths, len(cmp.Files) < compareFileLimit, nil
}

// pushChangedPaths lists the paths a push touched according to its payload.
// complete is false when the payload cannot be trusted to list them all.
func pushChangedPaths(ev *pushEvent) (paths []string, complete bool) {
	if ev.Created || ev.Forced || isZeroSHA(ev.Before) || len(ev.Commits) >= maxPushCommits {
		return nil, false
	}
	if len(ev.Commits) == 0 {
		// A push that moves a branch without new commits (e.g. a fast-forward to
		// an existing commit) has nothing listed; only compare can tell.
		return nil, ev.Before == ev.After
	}
	for _, c := range ev.Commits {
		// Payloads that drop the file lists (as some proxies and Actions do)
		// leave all three nil; treat that as unknown rather than untouched.
		if c.Added == nil && c.Modified == nil && c.Removed == nil {
			return nil, false
		}
		paths = append(paths, c.Added...)
		paths = append(paths, c.Modified...)
		paths = append(paths, c.Removed...)
	}
	return paths, true
}

func branchOf(ref string) (string, bool) {
	b, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok || b == "" {
		return "", false
	}
	return b, true
}

func isZeroSHA(sha string) bool { return strings.Trim(sha, "0") == "" }

// pushEvent is the part of a push payload the handler reads. Most pushes
// touch no config file, so decoding only this keeps them cheap (go-github's
// PushEvent allocates every field of every commit).
type pushEvent struct {
	Ref     string       `json:"ref"`
	Before  string       `json:"before"`
	After   string       `json:"after"`
	Created bool         `json:"created"`
	Deleted bool         `json:"deleted"`
	Forced  bool         `json:"forced"`
	Commits []pushCommit `json:"commits"`
	Repo    struct {
		FullName      string `json:"full_name"`
		Name          string `json:"name"`
		DefaultBranch string `json:"default_branch"`
		Owner         struct {
			Login string `json:"login"`
			Name  string `json:"name"`
		} `json:"owner"`
	} `json:"repository"`
	Installation *github.Installation `json:"installation"`
}

type pushCommit struct {
	Added    []string `json:"added"`
	Modified []string `json:"modified"`
	Removed  []string `json:"removed"`
}

// GetInstallation makes pushEvent a githubapp.InstallationSource.
func (e *pushEvent) GetInstallation() *github.Installation { return e.Installation }

// repo names the pushed repository; push payloads carry an owner whose login
// may be missing, but full_name is always there.
func (e *pushEvent) repo() repoRef {
	if owner, name, ok := strings.Cut(e.Repo.FullName, "/"); ok {
		return repoRef{Owner: owner, Name: name}
	}
	owner := e.Repo.Owner.Login
	if owner == "" {
		owner = e.Repo.Owner.Name
	}
	return repoRef{Owner: owner, Name: e.Repo.Name}
}
