package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/tinyforge/tinyforge-bot/gitops"
	"github.com/tinyforge/tinyforge-bot/store"
	"github.com/tinyforge/tinyforge-bot/tinyforge"
)

// Audit outcomes, one per sync attempt: the store's vocabulary.
const (
	OutcomeApplied = store.OutcomeApplied
	OutcomeNoop    = store.OutcomeNoop
	OutcomeDenied  = store.OutcomeDenied
	OutcomeRefused = store.OutcomeRefused
	OutcomeFailed  = store.OutcomeFailed
)

// syncLockTTL bounds how long a crashed process can hold a workload's lock.
const syncLockTTL = 2 * time.Minute

// roleRank orders repository roles; custom roles fall back to their base permission.
var roleRank = map[string]int{"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}

// allowedBy decides whether a commenter may sync. inTeam is asked only when
// the role and user list do not already decide.
func allowedBy(p SyncPolicy, login, role string, inTeam func(team string) bool) bool {
	for _, u := range p.Users {
		if strings.EqualFold(u, login) {
			return true
		}
	}
	need := p.Permission
	if need == "" {
		need = "admin"
	}
	if roleRank[role] >= roleRank[need] && roleRank[role] > 0 {
		return true
	}
	for _, t := range p.Teams {
		if inTeam(t) {
			return true
		}
	}
	return false
}

// permission reads the commenter's role now, not from the webhook: a role
// removed since the comment was written no longer counts.
func (c *commandRun) permission(ctx context.Context, login string) (string, error) {
	req, err := c.client.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", c.repo.Owner, c.repo.Name, login), nil)
	if err != nil {
		return "", err
	}
	var level struct {
		Permission string `json:"permission"`
		RoleName   string `json:"role_name"`
	}
	resp, err := c.client.Do(ctx, req, &level)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return "none", nil
		}
		return "", fmt.Errorf("look up %s's permission on %s: %w", login, c.repo.FullName(), err)
	}
	if _, known := roleRank[level.RoleName]; known {
		return level.RoleName, nil
	}
	return level.Permission, nil
}

func (c *commandRun) inTeam(ctx context.Context, team, login string) bool {
	org, slug, ok := strings.Cut(team, "/")
	if !ok {
		return false
	}
	m, _, err := c.client.Teams.GetTeamMembershipBySlug(ctx, org, slug, login)
	if err != nil {
		if !isNotFound(err) {
			c.logger.Warn().Err(err).Str("team", team).Msg("team membership lookup failed; not counting it")
		}
		return false
	}
	return m.GetState() == "active"
}

// syncOutcome is what happened to one workload.
type syncOutcome struct {
	Workload tinyforge.Workload
	Outcome  string
	SHA      string
	Changes  []store.FieldChange
	EventID  string
	Reason   string
	// skipped: an earlier delivery of this comment already handled it.
	skipped bool
}

// sync carries out /tinyforge sync and returns the reply and whether it went well.
func (c *commandRun) sync(ctx context.Context, names []string) (string, bool) {
	all, err := c.repoWorkloads(ctx, c.repo.FullName(), c.defaultBranch)
	if err != nil {
		c.audit(ctx, syncOutcome{Outcome: OutcomeFailed, Reason: "Tinyforge unreachable: " + err.Error()}, "")
		return "Could not list this repository's workloads: Tinyforge is unreachable.\n\n```\n" + fence(err.Error()) + "\n```\n", false
	}
	targets, unknown := selectWorkloads(all, names)
	if len(unknown) > 0 || len(targets) == 0 {
		c.audit(ctx, syncOutcome{Outcome: OutcomeRefused, Reason: "no such workload"}, "")
		return unknownWorkloadsReply(all, unknown), false
	}

	role, err := c.permission(ctx, c.actor.GetLogin())
	if err != nil {
		for _, w := range targets {
			c.audit(ctx, syncOutcome{Workload: w, Outcome: OutcomeFailed, Reason: err.Error()}, "")
		}
		return "Could not check your permission on this repository; nothing was synced. Try again later.", false
	}
	if !allowedBy(c.Policy, c.actor.GetLogin(), role, func(t string) bool { return c.inTeam(ctx, t, c.actor.GetLogin()) }) {
		for _, w := range targets {
			c.audit(ctx, syncOutcome{Workload: w, Outcome: OutcomeDenied, Reason: "permission " + role}, role)
		}
		return fmt.Sprintf("@%s, syncing needs the **%s** role on this repository (you have **%s**). Nothing was changed.",
			c.actor.GetLogin(), policyNeed(c.Policy), role), false
	}

	if c.issue.IsPullRequest() {
		if reason := c.pullRequestRefusal(ctx, targets); reason != "" {
			for _, w := range targets {
				c.audit(ctx, syncOutcome{Workload: w, Outcome: OutcomeRefused, Reason: reason}, role)
			}
			return reason, false
		}
	}

	var results []syncOutcome
	ok := true
	for _, w := range targets {
		r := c.syncOne(ctx, w)
		if r.skipped {
			continue
		}
		c.audit(ctx, r, role)
		if r.Outcome != OutcomeApplied && r.Outcome != OutcomeNoop {
			ok = false
		}
		results = append(results, r)
	}
	if len(results) == 0 {
		return "", true
	}
	return renderSyncReply(results), ok
}

// pullRequestRefusal explains why a sync from an unmerged PR is refused.
func (c *commandRun) pullRequestRefusal(ctx context.Context, targets []tinyforge.Workload) string {
	pr, _, err := c.client.PullRequests.Get(ctx, c.repo.Owner, c.repo.Name, c.issue.GetNumber())
	if err != nil {
		return "Could not read this pull request to see whether it is merged; nothing was synced. Try again later."
	}
	if pr.GetMerged() {
		return ""
	}
	branches := map[string]bool{}
	for _, w := range targets {
		branches["`"+escapeInline(w.Branch())+"`"] = true
	}
	state := "is not merged yet"
	if pr.GetState() == "closed" {
		state = "was closed without merging"
	}
	return fmt.Sprintf("Tinyforge syncs from each workload's tracked branch (%s), and this pull request %s, "+
		"so its `.tinyforge.yml` is not what would be applied. Nothing was changed. "+
		"Merge it, then comment `/tinyforge sync` here or on an issue.", strings.Join(sortedKeys(branches), ", "), state)
}

// syncOne validates the tracked branch's file and applies it, under a lock
// that serialises every sync of the workload, across processes sharing the store.
func (c *commandRun) syncOne(ctx context.Context, w tinyforge.Workload) syncOutcome {
	r := syncOutcome{Workload: w}
	unlock, err := c.Store.Lock(ctx, "workload:"+string(w.ID), syncLockTTL)
	if err != nil {
		r.Outcome, r.Reason = OutcomeFailed, "could not take the workload's sync lock: "+err.Error()
		return r
	}
	defer unlock()

	branch, _, err := c.client.Repositories.GetBranch(ctx, c.repo.Owner, c.repo.Name, w.Branch(), 1)
	if err != nil {
		r.Outcome, r.Reason = OutcomeFailed, fmt.Sprintf("could not read branch %s: %v", w.Branch(), err)
		return r
	}
	r.SHA = branch.GetCommit().GetSHA()
	checked := c.evaluate(ctx, c.client, checkTarget{Repo: c.repo, FileRepo: c.repo, HeadSHA: r.SHA, DeliveryID: c.deliveryID}, w)
	switch {
	case checked.Unreachable == "Tinyforge":
		r.Outcome, r.Reason = OutcomeFailed, "Tinyforge unreachable: "+checked.Reason
		return r
	case checked.Unreachable != "":
		r.Outcome, r.Reason = OutcomeFailed, checked.Reason
		return r
	case checked.Missing:
		r.Outcome, r.Reason = OutcomeRefused, fmt.Sprintf("`%s` does not exist on `%s`", escapeInline(w.GitOpsFile()), escapeInline(w.Branch()))
		return r
	}
	plan := checked.Plan
	switch plan.Status {
	case gitops.StatusInvalid:
		r.Outcome, r.Reason = OutcomeRefused, fmt.Sprintf("`%s` at `%s` is invalid (%s); see the check run", escapeInline(w.GitOpsFile()), shortSHA(r.SHA), plural(len(plan.Errors), "error"))
		return r
	case gitops.StatusInSync:
		r.Outcome = OutcomeNoop
		c.refreshCheck(ctx, w, checked)
		return r
	}
	// Claimed only now, under the lock, so a redelivery of this comment that
	// got here first means the sync already ran: never call Tinyforge twice.
	first, err := c.Store.ClaimOnce(ctx, fmt.Sprintf("sync:%d:%s", c.comment.GetID(), w.ID))
	if err != nil {
		r.Outcome, r.Reason = OutcomeFailed, "store unavailable: "+err.Error()
		return r
	}
	if !first {
		r.skipped = true
		return r
	}
	for _, d := range plan.Drift {
		r.Changes = append(r.Changes, store.FieldChange{Field: d.Field, From: d.Live, To: d.Repo})
	}
	res, err := c.Tinyforge.Sync(ctx, w.ID, r.SHA)
	if err != nil {
		r.Outcome, r.Reason = syncErrorOutcome(err)
		return r
	}
	r.Outcome, r.EventID = OutcomeApplied, string(res.EventID)
	if len(res.Applied) > 0 {
		r.Changes = r.Changes[:0]
		for _, a := range res.Applied {
			r.Changes = append(r.Changes, store.FieldChange{Field: a.Field, From: a.From, To: a.To})
		}
	}
	// The live config changed: plan the commit again for its check.
	c.refreshCheck(ctx, w, c.evaluate(ctx, c.client, checkTarget{Repo: c.repo, FileRepo: c.repo, HeadSHA: r.SHA, DeliveryID: c.deliveryID}, w))
	return r
}

// syncErrorOutcome turns Tinyforge's answer into an outcome and a reason a
// person can act on. Messages come from the client, which redacts the token.
func syncErrorOutcome(err error) (string, string) {
	var apiErr *tinyforge.APIError
	detail := err.Error()
	if errors.As(err, &apiErr) && apiErr.Message != "" {
		detail = apiErr.Message
	}
	switch {
	case errors.Is(err, tinyforge.ErrConflict):
		return OutcomeRefused, "the tracked branch moved after it was validated; comment `/tinyforge sync` again to apply the newer commit"
	case errors.Is(err, tinyforge.ErrValidation):
		return OutcomeRefused, "Tinyforge refused the config: " + detail
	case errors.Is(err, tinyforge.ErrUnauthorized), errors.Is(err, tinyforge.ErrForbidden):
		return OutcomeFailed, "the bot's Tinyforge token is not allowed to sync (ask an operator to check it)"
	case errors.Is(err, tinyforge.ErrUpstream):
		return OutcomeFailed, "Tinyforge could not fetch the file from the repository: " + detail
	}
	return OutcomeFailed, "Tinyforge failed: " + detail
}

// refreshCheck shows result on the commit's check run, so the branch shows
// the outcome of a sync without anyone re-running the check.
func (c *commandRun) refreshCheck(ctx context.Context, w tinyforge.Workload, result checkResult) {
	out := renderCheck(result)
	runs, _, err := c.client.Checks.ListCheckRunsForRef(ctx, c.repo.Owner, c.repo.Name, result.SHA, &github.ListCheckRunsOptions{
		CheckName: github.String(checkName(w)), AppID: github.Int64(c.AppID),
	})
	var id int64
	if err == nil && len(runs.CheckRuns) > 0 {
		id = runs.CheckRuns[0].GetID()
	} else if err == nil {
		id, err = c.createCheckRun(ctx, c.client, checkTarget{Repo: c.repo, HeadSHA: result.SHA, DeliveryID: c.deliveryID}, w)
	}
	if err == nil {
		err = c.completeCheck(ctx, c.client, c.repo, id, checkName(w), out)
	}
	if err != nil {
		c.logger.Warn().Err(err).Str("workload", w.Name).Msg("could not update the check run after sync")
	}
}

func (c *commandRun) audit(ctx context.Context, r syncOutcome, role string) {
	rec := store.AuditRecord{
		Time: c.now().UTC(), DeliveryID: c.deliveryID, Repo: c.repo.FullName(), Number: c.issue.GetNumber(),
		CommentID: c.comment.GetID(), ActorLogin: c.actor.GetLogin(), ActorID: c.actor.GetID(), Permission: role,
		Workload: r.Workload.Name, WorkloadID: string(r.Workload.ID), SHA: r.SHA, Changes: r.Changes,
		Outcome: r.Outcome, TinyforgeEventID: r.EventID, Error: r.Reason,
	}
	ev := c.logger.Info().Str("audit", "sync").Str("outcome", rec.Outcome).Str("actor", rec.ActorLogin).
		Str("permission", role).Str("workload", rec.Workload).Str("sha", rec.SHA).Int64("comment_id", rec.CommentID)
	if rec.Error != "" {
		ev = ev.Str("reason", rec.Error)
	}
	ev.Msg("sync attempt")
	if c.Observer.SyncOutcome != nil {
		c.Observer.SyncOutcome(rec.Outcome)
	}
	if _, err := c.Store.AppendAudit(ctx, rec); err != nil {
		c.logger.Error().Err(err).Msg("could not write the audit record")
	}
}

// plan replies with each workload's drift, planned from its tracked branch.
func (c *commandRun) plan(ctx context.Context) (string, bool) {
	all, err := c.repoWorkloads(ctx, c.repo.FullName(), c.defaultBranch)
	if err != nil {
		return "Could not list this repository's workloads: Tinyforge is unreachable.", false
	}
	if len(all) == 0 {
		return "No Tinyforge workload reads its config from this repository.", true
	}
	var b strings.Builder
	for i, w := range all {
		if i > 0 {
			b.WriteString("\n---\n\n")
		}
		branch, _, err := c.client.Repositories.GetBranch(ctx, c.repo.Owner, c.repo.Name, w.Branch(), 1)
		if err != nil {
			fmt.Fprintf(&b, "**%s**: could not read branch `%s`.\n", escapeInline(w.Name), escapeInline(w.Branch()))
			continue
		}
		sha := branch.GetCommit().GetSHA()
		r := c.evaluate(ctx, c.client, checkTarget{Repo: c.repo, FileRepo: c.repo, HeadSHA: sha}, w)
		out := renderCheck(r)
		fmt.Fprintf(&b, "**%s** on `%s` at `%s`: %s\n\n%s", escapeInline(w.Name), escapeInline(w.Branch()), shortSHA(sha), out.Title, out.Summary)
	}
	return b.String(), true
}

func selectWorkloads(all []tinyforge.Workload, names []string) (found []tinyforge.Workload, unknown []string) {
	if len(names) == 0 {
		return all, nil
	}
	for _, n := range names {
		var hit *tinyforge.Workload
		for i := range all {
			if all[i].Name == n {
				hit = &all[i]
				break
			}
		}
		if hit == nil {
			for i := range all {
				if strings.EqualFold(all[i].Name, n) {
					hit = &all[i]
					break
				}
			}
		}
		if hit == nil {
			unknown = append(unknown, n)
			continue
		}
		found = append(found, *hit)
	}
	return found, unknown
}

func unknownWorkloadsReply(all []tinyforge.Workload, unknown []string) string {
	var names []string
	for _, w := range all {
		names = append(names, "`"+escapeInline(w.Name)+"`")
	}
	if len(all) == 0 {
		return "No Tinyforge workload reads its config from this repository; nothing to sync."
	}
	var u []string
	for _, n := range unknown {
		u = append(u, "`"+escapeInline(n)+"`")
	}
	return fmt.Sprintf("No workload named %s uses this repository. Its workloads: %s. Nothing was changed.", strings.Join(u, ", "), strings.Join(names, ", "))
}

func policyNeed(p SyncPolicy) string {
	if p.Permission == "" {
		return "admin"
	}
	return p.Permission
}

// renderSyncReply is the one reply to a sync command.
func renderSyncReply(results []syncOutcome) string {
	var b strings.Builder
	for _, r := range results {
		name := escapeInline(r.Workload.Name)
		switch r.Outcome {
		case OutcomeApplied:
			fmt.Fprintf(&b, "🚀 **%s**: synced from `%s` (Tinyforge event %s).\n\n", name, shortSHA(r.SHA), escapeInline(r.EventID))
			b.WriteString("| Field | Before | After |\n|---|---|---|\n")
			for _, ch := range r.Changes {
				fmt.Fprintf(&b, "| `%s` | %s | %s |\n", escapeInline(ch.Field), cellValue(ch.From), cellValue(ch.To))
			}
			b.WriteString("\n")
		case OutcomeNoop:
			fmt.Fprintf(&b, "✅ **%s**: already in sync with `%s`; nothing to apply.\n\n", name, shortSHA(r.SHA))
		default:
			fmt.Fprintf(&b, "😕 **%s**: %s — %s.\n\n", name, r.Outcome, r.Reason)
		}
	}
	return b.String()
}

// cellValue renders a config value safely inside a table cell.
func cellValue(v any) string {
	if v == nil {
		return "_unset_"
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	s := strings.NewReplacer("|", "\\|", "`", "'", "@", "@\u200b", "<", "&lt;", ">", "&gt;").Replace(string(raw))
	return "`" + s + "`"
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
