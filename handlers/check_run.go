package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/tinyforge/tinyforge-bot/tinyforge"
)

// CheckRun re-runs one of our check runs when someone asks for it.
type CheckRun struct{ *Base }

var _ githubapp.EventHandler = (*CheckRun)(nil)

func (h *CheckRun) Handles() []string { return []string{"check_run"} }

// rerunsCheck reports whether a check_run event asks us to run it again:
// only "rerequested", and only for a run our app owns.
func rerunsCheck(action string, runAppID, ourAppID int64) bool {
	return action == "rerequested" && runAppID == ourAppID
}

func (h *CheckRun) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.CheckRunEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("parse check_run event %s: %w", deliveryID, err)
	}
	run := ev.GetCheckRun()
	if !rerunsCheck(ev.GetAction(), run.GetApp().GetID(), h.AppID) {
		return nil
	}
	name, ok := strings.CutPrefix(run.GetName(), "tinyforge/")
	if !ok {
		return nil
	}
	repo := refOf(ev.GetRepo())
	ctx, logger := githubapp.PrepareRepoContext(ctx, githubapp.GetInstallationIDFromEvent(&ev), ev.GetRepo())
	all, err := h.repoWorkloads(ctx, repo.FullName(), ev.GetRepo().GetDefaultBranch())
	if err != nil {
		return err
	}
	var targets []tinyforge.Workload
	for _, w := range all {
		if w.Name == name {
			targets = append(targets, w)
		}
	}
	if len(targets) == 0 {
		logger.Info().Str("check", run.GetName()).Msg("re-run requested for a workload that no longer uses GitOps here")
		return nil
	}
	client, err := h.installationClient(&ev)
	if err != nil {
		return fmt.Errorf("github client: %w", err)
	}
	// A fork PR's head commit is readable from the base repository too.
	return h.runChecks(ctx, client, checkTarget{Repo: repo, FileRepo: repo, HeadSHA: run.GetHeadSHA(), DeliveryID: deliveryID}, targets)
}
