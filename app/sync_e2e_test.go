package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tinyforge/tinyforge-bot/internal/githubtest"
	"github.com/tinyforge/tinyforge-bot/store"
	"github.com/tinyforge/tinyforge-bot/tinyforge"
	"github.com/tinyforge/tinyforge-bot/tinyforge/tinyforgetest"
)

const syncRoute = tinyforge.RouteGitOpsSync

// syncWorld is a repo whose main branch has a merged PR raising the port
// from the live 8080 to 9090, ready to be synced.
type syncWorld struct {
	*FakeEnv
	workload tinyforge.ID
	pr       int
	merged   string
}

func newSyncWorld(t *testing.T, merge bool) *syncWorld {
	e := newEnv(t, FakeEnvOptions{})
	w := &syncWorld{FakeEnv: e}
	w.workload = e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	w.pr, _ = openPR(e, "bump-port", portFile)
	if merge {
		w.merged = e.GitHub.MergePR(testRepo, w.pr)
	}
	e.GitHub.SetPermission(testRepo, "alice", "admin")
	return w
}

// comment posts body as login on issue and delivers the webhook; it returns
// the comment and the delivery payload.
func (w *syncWorld) comment(t *testing.T, issue int, login, body string) (githubtest.Comment, map[string]any) {
	c := w.GitHub.AddComment(testRepo, issue, login, body)
	p := w.GitHub.IssueCommentPayload("created", testRepo, issue, c, "")
	send(t, w.FakeEnv, "issue_comment", p)
	return c, p
}

// finished waits for the command's closing reaction and returns the reply.
func (w *syncWorld) finished(t *testing.T, c githubtest.Comment) (reply string, reactions []string) {
	t.Helper()
	err := WaitFor(waitLimit, "the command to finish", func() bool {
		reactions = w.GitHub.Reactions(testRepo, c.ID)
		return slices.Contains(reactions, "rocket") || slices.Contains(reactions, "confused")
	})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, w.FakeEnv)
	for _, cm := range w.GitHub.Comments(testRepo, c.Issue) {
		if cm.User.Type == "Bot" && cm.ID > c.ID {
			reply += cm.Body
		}
	}
	return reply, w.GitHub.Reactions(testRepo, c.ID)
}

func (w *syncWorld) audit(t *testing.T) []store.AuditRecord {
	t.Helper()
	recs, err := w.Server.Store().ListAudit(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func (w *syncWorld) livePort(t *testing.T) any {
	wl, ok := w.Tinyforge.Workload(w.workload)
	if !ok {
		t.Fatal("workload gone")
	}
	return wl.SourceConfig["port"]
}

func TestAdminSyncOnMergedPRAppliesOnce(t *testing.T) {
	w := newSyncWorld(t, true)
	c, _ := w.comment(t, w.pr, "alice", "/tinyforge sync")
	reply, reactions := w.finished(t, c)

	if !slices.Equal(reactions, []string{"eyes", "rocket"}) {
		t.Errorf("reactions = %v, want [eyes rocket]", reactions)
	}
	events := w.Tinyforge.Events()
	if len(events) != 1 || events[0].SHA != w.merged {
		t.Fatalf("Tinyforge events = %+v, want one sync at %s", events, w.merged)
	}
	if got := w.livePort(t); fmt.Sprint(got) != "9090" {
		t.Errorf("live port = %v, want 9090", got)
	}
	mustContain(t, "reply", reply, "synced", "`deploy.port` | `8080` | `9090`")
	recs := w.audit(t)
	if len(recs) != 1 {
		t.Fatalf("audit = %+v", recs)
	}
	r := recs[0]
	if r.Outcome != "applied" || r.ActorLogin != "alice" || r.Permission != "admin" || r.SHA != w.merged || r.CommentID != c.ID ||
		r.Number != w.pr || r.Workload != "web" || r.TinyforgeEventID == "" || r.DeliveryID == "" || len(r.Changes) != 1 {
		t.Errorf("audit record = %+v", r)
	}
	// The merge commit's check now says the workload is in sync.
	cr := waitCheck(t, w.FakeEnv, "tinyforge/web", w.merged)
	if cr.Conclusion != "success" {
		t.Errorf("check after sync = %s (%s)", cr.Conclusion, cr.Output.Title)
	}
}

func TestNonAdminsAreDenied(t *testing.T) {
	for _, perm := range []string{"maintain", "write", "triage", "read", "none"} {
		t.Run(perm, func(t *testing.T) {
			w := newSyncWorld(t, true)
			w.GitHub.SetPermission(testRepo, "bob", perm)
			c, _ := w.comment(t, w.pr, "bob", "/tinyforge sync")
			reply, reactions := w.finished(t, c)
			if n := w.Tinyforge.RequestCount("POST", syncRoute); n != 0 {
				t.Errorf("%d Tinyforge sync calls for a %s user", n, perm)
			}
			if !slices.Contains(reactions, "confused") {
				t.Errorf("reactions = %v", reactions)
			}
			mustContain(t, "reply", reply, "admin", perm)
			recs := w.audit(t)
			if len(recs) != 1 || recs[0].Outcome != "denied" || recs[0].Permission != perm || recs[0].ActorLogin != "bob" {
				t.Errorf("audit = %+v", recs)
			}
		})
	}
}

func TestConfiguredPolicyAllowsWriters(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{ConfigYAML: "sync: {permission: write}\n"})
	w := &syncWorld{FakeEnv: e}
	w.workload = e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	w.pr, _ = openPR(e, "bump-port", portFile)
	w.merged = e.GitHub.MergePR(testRepo, w.pr)
	e.GitHub.SetPermission(testRepo, "carol", "write")
	c, _ := w.comment(t, w.pr, "carol", "/tinyforge sync web")
	w.finished(t, c)
	if recs := w.audit(t); len(recs) != 1 || recs[0].Outcome != "applied" {
		t.Errorf("audit = %+v", recs)
	}
}

func TestSyncOnOpenPRIsRefused(t *testing.T) {
	w := newSyncWorld(t, false)
	c, _ := w.comment(t, w.pr, "alice", "/tinyforge sync")
	reply, _ := w.finished(t, c)
	if n := w.Tinyforge.RequestCount("POST", syncRoute); n != 0 {
		t.Errorf("%d sync calls from an open PR", n)
	}
	mustContain(t, "reply", reply, "tracked branch", "not merged")
	if recs := w.audit(t); len(recs) != 1 || recs[0].Outcome != "refused" {
		t.Errorf("audit = %+v", recs)
	}
}

func TestSyncWhenInSyncIsNoop(t *testing.T) {
	w := newSyncWorld(t, false) // main still has the in-sync file
	issue := w.GitHub.AddIssue(testRepo, "alice", "sync please")
	c, _ := w.comment(t, issue, "alice", "/tinyforge sync")
	reply, reactions := w.finished(t, c)
	if n := w.Tinyforge.RequestCount("POST", syncRoute); n != 0 {
		t.Errorf("%d sync calls for an in-sync workload", n)
	}
	mustContain(t, "reply", reply, "already in sync")
	if !slices.Contains(reactions, "rocket") {
		t.Errorf("reactions = %v", reactions)
	}
	if recs := w.audit(t); len(recs) != 1 || recs[0].Outcome != "noop" {
		t.Errorf("audit = %+v", recs)
	}
}

func TestTinyforgeSyncErrors(t *testing.T) {
	tests := []struct {
		status  int
		body    string
		outcome string
		reason  string
	}{
		{409, `{"error":"file is at a newer commit","code":"conflict"}`, "refused", "moved"},
		{422, `{"error":"merged config invalid: port out of range","code":"invalid"}`, "refused", "port out of range"},
		{500, `{"error":"database locked; token ` + fakeTinyforgeToken + `","code":"internal"}`, "failed", "Tinyforge failed"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			w := newSyncWorld(t, true)
			w.Tinyforge.InjectFault("POST", syncRoute, tinyforgetest.Fault{Status: tt.status, Body: tt.body})
			c, _ := w.comment(t, w.pr, "alice", "/tinyforge sync")
			reply, reactions := w.finished(t, c)
			mustContain(t, "reply", reply, tt.reason)
			if !slices.Contains(reactions, "confused") {
				t.Errorf("reactions = %v", reactions)
			}
			recs := w.audit(t)
			if len(recs) != 1 || recs[0].Outcome != tt.outcome {
				t.Fatalf("audit = %+v", recs)
			}
			for what, s := range map[string]string{"reply": reply, "audit error": recs[0].Error} {
				if strings.Contains(s, fakeTinyforgeToken) {
					t.Errorf("%s leaks the Tinyforge token: %s", what, s)
				}
			}
			if n := w.Tinyforge.RequestCount("POST", syncRoute); n != 1 {
				t.Errorf("sync POSTed %d times, want exactly 1 (never retried blindly)", n)
			}
		})
	}
}

func TestDuplicateDeliveriesAndCommentsSyncOnce(t *testing.T) {
	w := newSyncWorld(t, true)
	c := w.GitHub.AddComment(testRepo, w.pr, "alice", "/tinyforge sync")
	payload := w.GitHub.IssueCommentPayload("created", testRepo, w.pr, c, "")
	c2 := w.GitHub.AddComment(testRepo, w.pr, "alice", "/tinyforge sync")
	payload2 := w.GitHub.IssueCommentPayload("created", testRepo, w.pr, c2, "")

	var wg sync.WaitGroup
	statuses := make(chan int, 16)
	deliver := func(id string, p any) {
		defer wg.Done()
		s, err := w.SendAs("issue_comment", id, p, w.WebhookSecret)
		if err != nil {
			t.Error(err)
		}
		statuses <- s
	}
	for range 5 { // GitHub's "Redeliver": the same delivery ID
		wg.Add(1)
		go deliver("same-delivery", payload)
	}
	for i := range 2 { // the same comment under new delivery IDs
		wg.Add(1)
		go deliver(fmt.Sprintf("other-delivery-%d", i), payload)
	}
	wg.Add(1)
	go deliver("second-comment", payload2) // a second identical comment racing the first
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Errorf("delivery answered %d, want 200 (stored, or a stored redelivery)", s)
		}
	}
	w.finished(t, c)
	w.finished(t, c2)
	if n := w.Tinyforge.RequestCount("POST", syncRoute); n != 1 {
		t.Errorf("Tinyforge sync called %d times, want 1", n)
	}
	if ev := w.Tinyforge.Events(); len(ev) != 1 {
		t.Errorf("Tinyforge events = %d, want 1", len(ev))
	}
	outcomes := map[string]int{}
	for _, r := range w.audit(t) {
		outcomes[r.Outcome]++
	}
	if outcomes["applied"] != 1 {
		t.Errorf("audit outcomes = %v, want one applied", outcomes)
	}
}

func TestCommentsThatAreNotCommandsDoNothing(t *testing.T) {
	w := newSyncWorld(t, true)
	w.GitHub.AddUser("ci-bot[bot]", "Bot")
	w.GitHub.SetPermission(testRepo, "ci-bot[bot]", "admin")
	cases := map[string]func() map[string]any{
		"edited": func() map[string]any {
			c := w.GitHub.AddComment(testRepo, w.pr, "alice", "/tinyforge sync")
			return w.GitHub.IssueCommentPayload("edited", testRepo, w.pr, c, "")
		},
		"deleted": func() map[string]any {
			c := w.GitHub.AddComment(testRepo, w.pr, "alice", "/tinyforge sync")
			return w.GitHub.IssueCommentPayload("deleted", testRepo, w.pr, c, "")
		},
		"bot": func() map[string]any {
			c := w.GitHub.AddComment(testRepo, w.pr, "ci-bot[bot]", "/tinyforge sync")
			return w.GitHub.IssueCommentPayload("created", testRepo, w.pr, c, "Bot")
		},
		"quoted": func() map[string]any {
			c := w.GitHub.AddComment(testRepo, w.pr, "alice", "> /tinyforge sync\n\nwhat does this do?")
			return w.GitHub.IssueCommentPayload("created", testRepo, w.pr, c, "")
		},
		"code": func() map[string]any {
			c := w.GitHub.AddComment(testRepo, w.pr, "alice", "```\n/tinyforge sync\n```")
			return w.GitHub.IssueCommentPayload("created", testRepo, w.pr, c, "")
		},
	}
	for name, build := range cases {
		p := build()
		w.GitHub.ResetCalls()
		send(t, w.FakeEnv, "issue_comment", p)
		waitIdle(t, w.FakeEnv)
		if calls := w.GitHub.Calls(); len(calls) != 0 {
			t.Errorf("%s: GitHub calls %+v", name, calls)
		}
	}
	if n := w.Tinyforge.RequestCount("POST", syncRoute); n != 0 {
		t.Errorf("%d syncs", n)
	}
	if recs := w.audit(t); len(recs) != 0 {
		t.Errorf("audit = %+v", recs)
	}
}

func TestPlanAndHelpCommands(t *testing.T) {
	w := newSyncWorld(t, true)
	w.GitHub.SetPermission(testRepo, "dave", "read")
	c, _ := w.comment(t, w.pr, "dave", "/tinyforge plan")
	reply, _ := w.finished(t, c)
	mustContain(t, "plan reply", reply, "web", "`deploy.port` | `9090` | `8080`")
	if n := w.Tinyforge.RequestCount("POST", syncRoute); n != 0 {
		t.Errorf("plan synced")
	}

	c = w.GitHub.AddComment(testRepo, w.pr, "dave", "/tinyforge deploy now")
	send(t, w.FakeEnv, "issue_comment", w.GitHub.IssueCommentPayload("created", testRepo, w.pr, c, ""))
	reply, _ = w.finished(t, c)
	mustContain(t, "help reply", reply, "unknown command `deploy`", "/tinyforge sync")
}

func TestAuditCommandReadsRecordsAfterRestart(t *testing.T) {
	w := newSyncWorld(t, true)
	w.GitHub.SetPermission(testRepo, "bob", "write")
	c, _ := w.comment(t, w.pr, "bob", "/tinyforge sync")
	w.finished(t, c)
	c, _ = w.comment(t, w.pr, "alice", "/tinyforge sync")
	w.finished(t, c)
	if err := w.StopBot(); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if code := run([]string{"audit", "--dsn", w.Config.Store.DSN, "--format", "json", "--repo", testRepo}, &out, &errOut); code != 0 {
		t.Fatalf("audit exit %d: %s", code, errOut.String())
	}
	var outcomes []string
	dec := json.NewDecoder(&out)
	for dec.More() {
		var r store.AuditRecord
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		outcomes = append(outcomes, r.Outcome+"/"+r.ActorLogin)
	}
	if !slices.Equal(outcomes, []string{"denied/bob", "applied/alice"}) {
		t.Errorf("audit records after restart = %v", outcomes)
	}
	out.Reset()
	if code := run([]string{"audit", "--dsn", w.Config.Store.DSN}, &out, &errOut); code != 0 {
		t.Fatalf("audit text exit %d", code)
	}
	mustContain(t, "audit text", out.String(), "OUTCOME", "denied", "applied", "deploy.port: 8080 → 9090")

	// The bot starts again on the same store and keeps appending.
	if err := w.StartBot(zerologDiscard()); err != nil {
		t.Fatal(err)
	}
	c, _ = w.comment(t, w.pr, "alice", "/tinyforge sync")
	w.finished(t, c)
	if recs := w.audit(t); len(recs) != 3 || recs[2].Outcome != "noop" {
		t.Errorf("after restart: %+v", recs)
	}
}

func TestDeadDeliveryIsListedAndCanBeRequeued(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{ConfigYAML: "inbox: {max_attempts: 2, retry_base: 10ms}\n"})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	pr, sha := openPR(e, "bump", portFile)
	e.GitHub.SetFault(githubtest.RouteCreateCheckRun, 502, -1) // GitHub keeps failing
	id := send(t, e, "pull_request", e.GitHub.PullRequestPayload("opened", testRepo, pr))
	if err := WaitFor(waitLimit, "the delivery to die", func() bool {
		ds, _ := e.Server.Store().ListDeliveries(t.Context(), store.StateDead, 0)
		return len(ds) == 1
	}); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"deliveries", "--dsn", e.Config.Store.DSN}, &out, &errOut); code != 0 {
		t.Fatalf("deliveries exit %d: %s", code, errOut.String())
	}
	mustContain(t, "dead listing", out.String(), id, "pull_request", "dead", "502")
	if total, _ := sumFamily(mustScrape(t, e), "tinyforge_bot_inbox_dead"); total != 1 {
		t.Errorf("tinyforge_bot_inbox_dead = %v, want 1", total)
	}

	e.GitHub.SetFault(githubtest.RouteCreateCheckRun, 0, 0) // GitHub is back
	out.Reset()
	if code := run([]string{"deliveries", "--dsn", e.Config.Store.DSN, "--requeue", id}, &out, &errOut); code != 0 {
		t.Fatalf("requeue exit %d: %s", code, errOut.String())
	}
	if cr := waitCheck(t, e, "tinyforge/web", sha); cr.Conclusion != "neutral" {
		t.Errorf("check after requeue = %s", cr.Conclusion)
	}
}

func mustScrape(t *testing.T, e *FakeEnv) string {
	t.Helper()
	text, err := e.Scrape()
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func TestTeamMembersMaySync(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{ConfigYAML: "sync: {teams: [acme/deployers]}\n"})
	w := &syncWorld{FakeEnv: e}
	w.workload = e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	w.pr, _ = openPR(e, "bump-port", portFile)
	w.merged = e.GitHub.MergePR(testRepo, w.pr)
	e.GitHub.SetPermission(testRepo, "erin", "write")
	e.GitHub.SetPermission(testRepo, "frank", "write")
	e.GitHub.AddTeamMember("acme", "deployers", "erin")

	c, _ := w.comment(t, w.pr, "frank", "/tinyforge sync")
	w.finished(t, c)
	c, _ = w.comment(t, w.pr, "erin", "/tinyforge sync")
	w.finished(t, c)
	var got []string
	for _, r := range w.audit(t) {
		got = append(got, r.ActorLogin+"/"+r.Outcome)
	}
	if !slices.Equal(got, []string{"frank/denied", "erin/applied"}) {
		t.Errorf("audit = %v, want frank denied and erin (team member) applied", got)
	}
}
