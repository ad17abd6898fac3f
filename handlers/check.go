package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge-bot/gitops"
	"github.com/tinyforge/tinyforge-bot/inbox"
	"github.com/tinyforge/tinyforge-bot/tinyforge"
)

// annotationsPerRequest is GitHub's cap on annotations in one check-run request.
const annotationsPerRequest = 50

// checkTarget says where a check run goes and where its file is read.
type checkTarget struct {
	Repo repoRef // the repository the check run is posted on
	// FileRepo is where .tinyforge.yml is read: the fork for a fork's PR.
	FileRepo repoRef
	HeadSHA  string
	// DeliveryID ties the check run to the webhook that asked for it, so a
	// re-run after a crash finds the run it already created.
	DeliveryID string
}

func checkName(w tinyforge.Workload) string { return "tinyforge/" + w.Name }

// repoWorkloads returns the repo's gitops workloads. A workload that names
// no branch tracks the repository's default branch; it is filled in here so
// that every later comparison sees a real branch name.
func (b *Base) repoWorkloads(ctx context.Context, fullName, defaultBranch string) ([]tinyforge.Workload, error) {
	all, err := b.Workloads.WorkloadsForRepo(ctx, fullName)
	if err != nil {
		return nil, fmt.Errorf("list Tinyforge workloads of %s: %w", fullName, err)
	}
	for i := range all {
		if all[i].Branch() == "" && defaultBranch != "" {
			if all[i].SourceConfig == nil {
				all[i].SourceConfig = map[string]any{}
			}
			all[i].SourceConfig["branch"] = defaultBranch
		}
	}
	return all, nil
}

// workloadsOnBranch returns the repo's gitops workloads that track branch.
func (b *Base) workloadsOnBranch(ctx context.Context, fullName, defaultBranch, branch string) ([]tinyforge.Workload, error) {
	all, err := b.repoWorkloads(ctx, fullName, defaultBranch)
	if err != nil {
		return nil, err
	}
	var out []tinyforge.Workload
	for _, w := range all {
		if w.Branch() == branch {
			out = append(out, w)
		}
	}
	return out, nil
}

// runChecks posts one check run per workload. Every check is attempted even
// when one fails; the first infrastructure error is returned.
func (b *Base) runChecks(ctx context.Context, client *github.Client, t checkTarget, workloads []tinyforge.Workload) error {
	var first error
	for _, w := range workloads {
		if err := b.runCheck(ctx, client, t, w); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// runCheck creates the check run in_progress, evaluates the file and always
// completes the run, also when Tinyforge or GitHub fail midway.
func (b *Base) runCheck(ctx context.Context, client *github.Client, t checkTarget, w tinyforge.Workload) error {
	logger := zerolog.Ctx(ctx).With().Str("workload", w.Name).Str("sha", t.HeadSHA).Logger()
	var runID int64
	if inbox.Attempt(ctx) > 1 {
		// This delivery was started before (a crash or a failed attempt): take
		// over the run it created instead of posting a second one.
		prev, done, err := b.findCheckRun(ctx, client, t, checkName(w), externalID(t, w))
		if err != nil {
			return err
		}
		if done {
			logger.Info().Msg("check run already completed by an earlier attempt")
			return nil
		}
		runID = prev
	}
	if runID == 0 {
		var err error
		if runID, err = b.createCheckRun(ctx, client, t, w); err != nil {
			return err
		}
	}
	result := b.evaluate(ctx, client, t, w)
	out := renderCheck(result)
	if err := b.completeCheck(ctx, client, t.Repo, runID, checkName(w), out); err != nil {
		return err
	}
	logger.Info().Str("conclusion", out.Conclusion).Msg("check run completed")
	return nil
}

// externalID ties a check run to the webhook that asked for it, so a re-run
// after a crash finds the run it already created.
func externalID(t checkTarget, w tinyforge.Workload) string {
	if t.DeliveryID == "" {
		return string(w.ID)
	}
	return t.DeliveryID + "/" + string(w.ID)
}

// createCheckRun posts the workload's check run, in progress, on t's commit.
func (b *Base) createCheckRun(ctx context.Context, client *github.Client, t checkTarget, w tinyforge.Workload) (int64, error) {
	started := github.Timestamp{Time: b.now()}
	run, _, err := client.Checks.CreateCheckRun(ctx, t.Repo.Owner, t.Repo.Name, github.CreateCheckRunOptions{
		Name:       checkName(w),
		HeadSHA:    t.HeadSHA,
		Status:     github.String("in_progress"),
		ExternalID: github.String(externalID(t, w)),
		StartedAt:  &started,
	})
	if err != nil {
		return 0, fmt.Errorf("create check run %s at %s: %w", checkName(w), shortSHA(t.HeadSHA), err)
	}
	return run.GetID(), nil
}

// findCheckRun looks for the run an earlier attempt at this delivery made.
func (b *Base) findCheckRun(ctx context.Context, client *github.Client, t checkTarget, name, externalID string) (id int64, completed bool, err error) {
	runs, _, err := client.Checks.ListCheckRunsForRef(ctx, t.Repo.Owner, t.Repo.Name, t.HeadSHA, &github.ListCheckRunsOptions{
		CheckName: github.String(name), AppID: github.Int64(b.AppID), Filter: github.String("all"),
	})
	if err != nil {
		return 0, false, fmt.Errorf("list check runs %s at %s: %w", name, shortSHA(t.HeadSHA), err)
	}
	for _, r := range runs.CheckRuns {
		if r.GetExternalID() == externalID {
			return r.GetID(), r.GetStatus() == "completed", nil
		}
	}
	return 0, false, nil
}

// evaluate reads the file at the head commit and plans it against the live
// workload. Failures become part of the result: the check still completes.
func (b *Base) evaluate(ctx context.Context, client *github.Client, t checkTarget, w tinyforge.Workload) checkResult {
	r := checkResult{Workload: w.Name, Path: w.GitOpsFile(), SHA: t.HeadSHA, Branch: w.Branch()}
	content, found, err := fetchFile(ctx, client, t.FileRepo, r.Path, t.HeadSHA)
	if t.FileRepo != t.Repo && (err != nil || !found) {
		// The installation often cannot read a contributor's fork; GitHub
		// serves a PR's head commit from the base repository as well.
		content, found, err = fetchFile(ctx, client, t.Repo, r.Path, t.HeadSHA)
	}
	switch {
	case err != nil:
		r.Unreachable, r.Reason = "GitHub", err.Error()
		return r
	case !found:
		r.Missing = true
		return r
	}
	live, err := b.Tinyforge.GetWorkload(ctx, w.ID)
	if err != nil {
		r.Unreachable, r.Reason = "Tinyforge", err.Error()
		return r
	}
	r.Plan = gitops.BuildPlan(content, live.Source, live.SourceConfig)
	return r
}

// fetchFile reads path at ref; found is false when GitHub answers 404.
func fetchFile(ctx context.Context, client *github.Client, repo repoRef, path, ref string) (content []byte, found bool, err error) {
	file, dir, resp, err := client.Repositories.GetContents(ctx, repo.Owner, repo.Name, path, &github.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("fetch %s at %s from %s: %w", path, shortSHA(ref), repo.FullName(), err)
	}
	if file == nil || dir != nil {
		return nil, false, fmt.Errorf("fetch %s at %s from %s: a directory, not a file", path, shortSHA(ref), repo.FullName())
	}
	if file.GetSize() > gitops.MaxFileSize {
		// Too large to be valid; hand the parser something just over the cap
		// so the size error comes from the one place that owns the rule.
		return make([]byte, gitops.MaxFileSize+1), true, nil
	}
	text, err := file.GetContent()
	if err != nil {
		return nil, false, fmt.Errorf("decode %s at %s: %w", path, shortSHA(ref), err)
	}
	return []byte(text), true, nil
}

// completeCheck sends annotations in batches of 50 and completes the run with
// the last batch.
func (b *Base) completeCheck(ctx context.Context, client *github.Client, repo repoRef, id int64, name string, out checkOutput) error {
	batches := batchAnnotations(out.Annotations, annotationsPerRequest)
	for i, batch := range batches {
		opts := github.UpdateCheckRunOptions{
			Name: name,
			Output: &github.CheckRunOutput{
				Title:       github.String(out.Title),
				Summary:     github.String(out.Summary),
				Annotations: batch,
			},
		}
		if out.Text != "" {
			opts.Output.Text = github.String(out.Text)
		}
		if i == len(batches)-1 {
			opts.Status = github.String("completed")
			opts.Conclusion = github.String(out.Conclusion)
			opts.CompletedAt = &github.Timestamp{Time: b.now()}
		}
		if _, _, err := client.Checks.UpdateCheckRun(ctx, repo.Owner, repo.Name, id, opts); err != nil {
			return fmt.Errorf("complete check run %s (%d): %w", name, id, err)
		}
	}
	if b.Observer.CheckCompleted != nil {
		b.Observer.CheckCompleted(out.Conclusion)
	}
	return nil
}

// batchAnnotations splits annotations into request-sized batches; there is
// always at least one (possibly empty) batch so the run gets completed.
func batchAnnotations(all []*github.CheckRunAnnotation, size int) [][]*github.CheckRunAnnotation {
	if len(all) == 0 {
		return [][]*github.CheckRunAnnotation{nil}
	}
	var out [][]*github.CheckRunAnnotation
	for len(all) > 0 {
		n := min(size, len(all))
		out = append(out, all[:n])
		all = all[n:]
	}
	return out
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// touches reports whether any changed path is the workload's config file.
func touches(changed []string, path string) bool {
	path = strings.TrimPrefix(path, "./")
	for _, p := range changed {
		if strings.TrimPrefix(p, "./") == path {
			return true
		}
	}
	return false
}

// touchedWorkloads keeps the workloads whose file is among changed paths.
func touchedWorkloads(workloads []tinyforge.Workload, changed []string) []tinyforge.Workload {
	var out []tinyforge.Workload
	for _, w := range workloads {
		if touches(changed, w.GitOpsFile()) {
			out = append(out, w)
		}
	}
	return out
}

func isNotFound(err error) bool {
	var ge *github.ErrorResponse
	return errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusNotFound
}
