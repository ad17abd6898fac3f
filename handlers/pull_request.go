package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// PullRequest checks a PR into a workload's tracked branch that changes its file.
type PullRequest struct{ *Base }

var _ githubapp.EventHandler = (*PullRequest)(nil)

func (h *PullRequest) Handles() []string { return []string{"pull_request"} }

// maxPRFiles is where GitHub stops listing a PR's files.
const maxPRFiles = 3000

// pullRequestChecks reports whether a pull_request action can change what
// the head commit's check says.
func pullRequestChecks(action string) bool {
	switch action {
	case "opened", "synchronize", "reopened":
		return true
	}
	return false
}

func (h *PullRequest) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.PullRequestEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("parse pull_request event %s: %w", deliveryID, err)
	}
	if !pullRequestChecks(ev.GetAction()) {
		return nil
	}
	pr := ev.GetPullRequest()
	repo := refOf(ev.GetRepo())
	ctx, _ = githubapp.PreparePRContext(ctx, githubapp.GetInstallationIDFromEvent(&ev), ev.GetRepo(), pr.GetNumber())

	workloads, err := h.workloadsOnBranch(ctx, repo.FullName(), ev.GetRepo().GetDefaultBranch(), pr.GetBase().GetRef())
	if err != nil || len(workloads) == 0 {
		return err
	}
	client, err := h.installationClient(&ev)
	if err != nil {
		return fmt.Errorf("github client: %w", err)
	}
	changed, complete, err := prFiles(ctx, client, repo, pr)
	if err != nil {
		return err
	}
	targets := workloads
	if complete {
		targets = touchedWorkloads(workloads, changed)
	}
	if len(targets) == 0 {
		return nil
	}
	fileRepo := repo
	if head := pr.GetHead().GetRepo(); head != nil && head.GetName() != "" {
		fileRepo = refOf(head)
	}
	return h.runChecks(ctx, client, checkTarget{Repo: repo, FileRepo: fileRepo, HeadSHA: pr.GetHead().GetSHA(), DeliveryID: deliveryID}, targets)
}

// prFiles lists the paths a PR changes (old and new names of renames).
// complete is false when the PR is too large for GitHub to list.
func prFiles(ctx context.Context, client *github.Client, repo repoRef, pr *github.PullRequest) (paths []string, complete bool, err error) {
	if pr.GetChangedFiles() > maxPRFiles {
		return nil, false, nil
	}
	opts := &github.ListOptions{PerPage: 100}
	for {
		files, resp, err := client.PullRequests.ListFiles(ctx, repo.Owner, repo.Name, pr.GetNumber(), opts)
		if err != nil {
			return nil, false, fmt.Errorf("list files of %s#%d: %w", repo.FullName(), pr.GetNumber(), err)
		}
		for _, f := range files {
			paths = append(paths, f.GetFilename())
			if f.GetPreviousFilename() != "" {
				paths = append(paths, f.GetPreviousFilename())
			}
		}
		if resp.NextPage == 0 {
			return paths, len(paths) < maxPRFiles, nil
		}
		opts.Page = resp.NextPage
	}
}
