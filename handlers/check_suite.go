package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/tinyforge/tinyforge-bot/tinyforge"
)

// CheckSuite re-runs every check of our suite when "Re-run all checks" is used.
type CheckSuite struct{ *Base }

var _ githubapp.EventHandler = (*CheckSuite)(nil)

func (h *CheckSuite) Handles() []string { return []string{"check_suite"} }

// rerunsSuite reports whether a check_suite event asks us to run our checks.
// "requested" comes with every push; the push and pull_request handlers
// already check the commits that touch the file, and answering it too would
// double every check and spend API calls on pushes that touch nothing.
func rerunsSuite(action string, suiteAppID, ourAppID int64) bool {
	return action == "rerequested" && suiteAppID == ourAppID
}

func (h *CheckSuite) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.CheckSuiteEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("parse check_suite event %s: %w", deliveryID, err)
	}
	suite := ev.GetCheckSuite()
	if !rerunsSuite(ev.GetAction(), suite.GetApp().GetID(), h.AppID) {
		return nil
	}
	repo := refOf(ev.GetRepo())
	ctx, _ = githubapp.PrepareRepoContext(ctx, githubapp.GetInstallationIDFromEvent(&ev), ev.GetRepo())
	all, err := h.repoWorkloads(ctx, repo.FullName(), ev.GetRepo().GetDefaultBranch())
	if err != nil {
		return err
	}
	targets := suiteWorkloads(all, suite)
	if len(targets) == 0 {
		return nil
	}
	client, err := h.installationClient(&ev)
	if err != nil {
		return fmt.Errorf("github client: %w", err)
	}
	return h.runChecks(ctx, client, checkTarget{Repo: repo, FileRepo: repo, HeadSHA: suite.GetHeadSHA(), DeliveryID: deliveryID}, targets)
}

// suiteWorkloads picks the workloads a suite's commit is checked for: those
// tracking a base branch of its PRs, or its own branch.
func suiteWorkloads(all []tinyforge.Workload, suite *github.CheckSuite) []tinyforge.Workload {
	branches := map[string]bool{suite.GetHeadBranch(): true}
	for _, pr := range suite.PullRequests {
		branches[pr.GetBase().GetRef()] = true
	}
	var out []tinyforge.Workload
	for _, w := range all {
		if branches[w.Branch()] {
			out = append(out, w)
		}
	}
	return out
}
