package app

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge-bot/internal/githubtest"
	"github.com/tinyforge/tinyforge-bot/tinyforge/tinyforgetest"
)

func TestPullRequestChangingPortGetsNeutralCheckWithDrift(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	pr, sha := openPR(e, "bump-port", portFile)

	send(t, e, "pull_request", e.GitHub.PullRequestPayload("opened", testRepo, pr))
	cr := waitCheck(t, e, "tinyforge/web", sha)

	if cr.Conclusion != "neutral" {
		t.Errorf("conclusion = %q, want neutral; title %q", cr.Conclusion, cr.Output.Title)
	}
	mustContain(t, "summary", cr.Output.Summary, "| `deploy.port` | `9090` | `8080` |")
	if cr.AppID != e.GitHub.AppID() || cr.ExternalID == "" {
		t.Errorf("check run app %d external %q", cr.AppID, cr.ExternalID)
	}
	// It was created in_progress and then completed: one create, one update.
	if cr.Updates != 1 {
		t.Errorf("updates = %d, want 1", cr.Updates)
	}
}

func TestInvalidFileFailsWithAnnotationOnItsLine(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	pr, sha := openPR(e, "bad", "version: 1\ndeploy:\n  port: 8080\n  healthcheck: healthz\n  token: hunter2\n")

	send(t, e, "pull_request", e.GitHub.PullRequestPayload("opened", testRepo, pr))
	cr := waitCheck(t, e, "tinyforge/web", sha)

	if cr.Conclusion != "failure" {
		t.Fatalf("conclusion = %q, want failure", cr.Conclusion)
	}
	lines := map[int]string{}
	for _, a := range cr.Annotations {
		if a.AnnotationLevel == "failure" {
			lines[a.StartLine] = a.Message
		}
	}
	if !strings.Contains(lines[4], "healthcheck") || !strings.Contains(lines[5], "token") {
		t.Errorf("failure annotations by line = %v, want healthcheck on 4 and token on 5", lines)
	}
	if strings.Contains(cr.Output.Summary, "hunter2") {
		// The value of an unknown key is not echoed (it may be a secret).
		t.Log("note: summary echoes the unknown key's value")
	}
}

func TestInSyncFileSucceeds(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	// A change to the file that keeps it in sync (a comment).
	pr, sha := openPR(e, "comment", "# managed by tinyforge\n"+inSyncFile)

	send(t, e, "pull_request", e.GitHub.PullRequestPayload("opened", testRepo, pr))
	cr := waitCheck(t, e, "tinyforge/web", sha)
	if cr.Conclusion != "success" {
		t.Errorf("conclusion = %q, want success (%s)", cr.Conclusion, cr.Output.Title)
	}
}

func TestPushTouchingFileIsChecked(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	before := e.GitHub.Head(testRepo, "main")
	file := portFile
	after := e.GitHub.Commit(testRepo, "main", map[string]*string{".tinyforge.yml": &file}, "bump")

	send(t, e, "push", e.GitHub.PushPayload(testRepo, "main", before, after, githubtest.PushOptions{}))
	cr := waitCheck(t, e, "tinyforge/web", after)
	if cr.Conclusion != "neutral" {
		t.Errorf("conclusion = %q, want neutral", cr.Conclusion)
	}
	if n := countCalls(e, githubtest.RouteCompare, 0); n != 0 {
		t.Errorf("compare called %d times for a push whose payload lists its files", n)
	}
}

func TestPushNotTouchingFileMakesNoCalls(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	readme := "hello"
	// Warm the workload cache the way any earlier event would.
	before := e.GitHub.Head(testRepo, "main")
	after := e.GitHub.Commit(testRepo, "main", map[string]*string{"README.md": &readme}, "docs")
	send(t, e, "push", e.GitHub.PushPayload(testRepo, "main", before, after, githubtest.PushOptions{}))
	waitIdle(t, e)

	e.GitHub.ResetCalls()
	tfBefore := len(e.Tinyforge.Requests())
	for i := range 5 {
		before := e.GitHub.Head(testRepo, "main")
		body := fmt.Sprintf("hello %d", i)
		after := e.GitHub.Commit(testRepo, "main", map[string]*string{"README.md": &body}, "docs")
		send(t, e, "push", e.GitHub.PushPayload(testRepo, "main", before, after, githubtest.PushOptions{}))
	}
	waitIdle(t, e)
	if calls := e.GitHub.Calls(); len(calls) != 0 {
		t.Errorf("GitHub calls for pushes that do not touch the file: %+v", calls)
	}
	if n := len(e.Tinyforge.Requests()) - tfBefore; n != 0 {
		t.Errorf("Tinyforge calls for pushes that do not touch the file: %d", n)
	}
}

func TestNewBranchPushFallsBackToCompare(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	// The workload tracks "release"; the branch is created with a changed file.
	w, _ := e.Tinyforge.Workload("1")
	w.SourceConfig["branch"] = "release"
	e.Tinyforge.SetWorkload(w)
	e.GitHub.CreateBranch(testRepo, "release", "main")
	file := portFile
	after := e.GitHub.Commit(testRepo, "release", map[string]*string{".tinyforge.yml": &file}, "release config")

	send(t, e, "push", e.GitHub.PushPayload(testRepo, "release", "", after, githubtest.PushOptions{}))
	cr := waitCheck(t, e, "tinyforge/web", after)
	if cr.Conclusion != "neutral" {
		t.Errorf("conclusion = %q", cr.Conclusion)
	}
	if n := countCalls(e, githubtest.RouteCompare, 200); n != 1 {
		t.Errorf("compare calls = %d, want 1", n)
	}
}

func TestBadOrMissingSignatureIsRejected(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	pr, _ := openPR(e, "bump", portFile)
	payload := e.GitHub.PullRequestPayload("opened", testRepo, pr)
	e.GitHub.ResetCalls()

	for name, secret := range map[string]string{"wrong secret": "not-the-secret", "unsigned": ""} {
		status, err := e.SendAs("pull_request", "bad-"+name, payload, secret)
		if err != nil {
			t.Fatal(err)
		}
		if status != 400 {
			t.Errorf("%s: status %d, want 400", name, status)
		}
	}
	st, err := e.Server.Store().InboxStats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending+st.Done+st.Dead != 0 {
		t.Errorf("rejected deliveries reached the inbox: %+v", st)
	}
	if len(e.GitHub.Calls()) != 0 || len(e.GitHub.CheckRuns(testRepo)) != 0 {
		t.Error("a rejected delivery caused GitHub calls")
	}
}

func TestTinyforgeDownStillCompletesCheck(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	pr, sha := openPR(e, "bump", portFile)
	e.Tinyforge.InjectFault("GET", "/api/workloads/{id}", tinyforgetest.Fault{Drop: true})

	send(t, e, "pull_request", e.GitHub.PullRequestPayload("opened", testRepo, pr))
	cr := waitCheck(t, e, "tinyforge/web", sha)
	if cr.Conclusion != "failure" || !strings.Contains(cr.Output.Title, "Tinyforge") {
		t.Errorf("check = %s %q, want failure naming Tinyforge", cr.Conclusion, cr.Output.Title)
	}
	if strings.Contains(cr.Output.Summary, fakeTinyforgeToken) {
		t.Error("the Tinyforge token leaked into the check run")
	}
}

func TestGitHubFailingMidwayStillCompletesCheck(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	pr, sha := openPR(e, "bump", portFile)
	e.GitHub.SetFault(githubtest.RouteContents, 500, 100)

	send(t, e, "pull_request", e.GitHub.PullRequestPayload("opened", testRepo, pr))
	cr := waitCheck(t, e, "tinyforge/web", sha)
	if cr.Conclusion != "failure" || !strings.Contains(cr.Output.Title, "GitHub") {
		t.Errorf("check = %s %q, want failure naming GitHub", cr.Conclusion, cr.Output.Title)
	}
}

func TestRerequestedCheckRerunsFromConditionalRequests(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	pr, sha := openPR(e, "bump", portFile)
	send(t, e, "pull_request", e.GitHub.PullRequestPayload("opened", testRepo, pr))
	first := waitCheck(t, e, "tinyforge/web", sha)

	e.GitHub.ResetCalls()
	send(t, e, "check_run", e.GitHub.CheckRunPayload("rerequested", testRepo, first.ID))
	if err := WaitFor(waitLimit, "a second check run", func() bool {
		cr, ok := e.CompletedCheck(testRepo, "tinyforge/web", sha)
		return ok && cr.ID != first.ID
	}); err != nil {
		t.Fatal(err)
	}
	if n := countCalls(e, githubtest.RouteContents, 304); n != 1 {
		t.Errorf("contents answered 304 %d times on the re-run, want 1 (calls: %+v)", n, e.GitHub.Calls())
	}
}

func TestOtherAppsCheckRunIsIgnored(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	sha := e.GitHub.Head(testRepo, "main")
	other := e.GitHub.AddCheckRun(testRepo, githubtest.CheckRun{Name: "tinyforge/web", HeadSHA: sha, AppID: e.GitHub.AppID() + 1, Status: "completed", Conclusion: "success"})
	e.GitHub.ResetCalls()
	send(t, e, "check_run", e.GitHub.CheckRunPayload("rerequested", testRepo, other.ID))
	waitIdle(t, e)
	if n := len(e.GitHub.Calls()); n != 0 {
		t.Errorf("%d GitHub calls for another app's check run", n)
	}
}

func TestHugeSummaryAcrossManyWorkloadsStillCompletes(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	for i := range 20 {
		e.Tinyforge.AddWorkload(workloadFor(testRepo, fmt.Sprintf("svc-%02d", i)))
	}
	var file strings.Builder
	file.WriteString("version: 1\ndeploy:\n  port: 9090\n")
	// Within the 64 KiB file cap, but 400 errors render far past GitHub's
	// 65,535-byte summary limit.
	for i := range 400 {
		fmt.Fprintf(&file, "  key_%03d_%s: 1\n", i, strings.Repeat("x", 72))
	}
	pr, sha := openPR(e, "huge", file.String())
	send(t, e, "pull_request", e.GitHub.PullRequestPayload("opened", testRepo, pr))
	for i := range 20 {
		cr := waitCheck(t, e, fmt.Sprintf("tinyforge/svc-%02d", i), sha)
		if cr.Conclusion != "failure" {
			t.Errorf("svc-%02d: conclusion %q", i, cr.Conclusion)
		}
		if len(cr.Output.Summary) > 65535 || !strings.Contains(cr.Output.Summary, "truncated") {
			t.Errorf("svc-%02d: summary %d bytes, truncated marker present: %v", i, len(cr.Output.Summary), strings.Contains(cr.Output.Summary, "truncated"))
		}
		if len(cr.Annotations) != 400 {
			t.Errorf("svc-%02d: %d annotations, want 400 (sent in batches of 50)", i, len(cr.Annotations))
		}
	}
}

func TestDeletedFileSaysSo(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	e.GitHub.CreateBranch(testRepo, "remove", "main")
	sha := e.GitHub.Commit(testRepo, "remove", map[string]*string{".tinyforge.yml": nil}, "drop config")
	pr := e.GitHub.OpenPR(testRepo, "remove", "main")
	send(t, e, "pull_request", e.GitHub.PullRequestPayload("opened", testRepo, pr))
	cr := waitCheck(t, e, "tinyforge/web", sha)
	if cr.Conclusion != "failure" {
		t.Errorf("conclusion %q", cr.Conclusion)
	}
	mustContain(t, "summary", cr.Output.Summary, "no_file", "no such file")
}

func TestForkPullRequestIsChecked(t *testing.T) {
	for _, installedOnFork := range []bool{true, false} {
		t.Run(fmt.Sprintf("installation on fork %v", installedOnFork), func(t *testing.T) {
			e := newEnv(t, FakeEnvOptions{})
			e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
			e.GitHub.Fork(testRepo, "mallory/web")
			if installedOnFork {
				e.GitHub.AddInstallation(e.Installation, "mallory/web")
			}
			e.GitHub.CreateBranch("mallory/web", "patch-1", "main")
			file := portFile
			sha := e.GitHub.Commit("mallory/web", "patch-1", map[string]*string{".tinyforge.yml": &file}, "port")
			pr := e.GitHub.OpenForkPR(testRepo, "mallory/web", "patch-1", "main")

			send(t, e, "pull_request", e.GitHub.PullRequestPayload("opened", testRepo, pr))
			cr := waitCheck(t, e, "tinyforge/web", sha)
			if cr.Conclusion != "neutral" || !strings.Contains(cr.Output.Summary, "`9090`") {
				t.Errorf("fork PR check = %s: %s", cr.Conclusion, cr.Output.Summary)
			}
			var fromFork int
			for _, c := range e.GitHub.Calls() {
				if c.Route == githubtest.RouteContents && strings.HasPrefix(c.Path, "/repos/mallory/web/") && c.Status == 200 {
					fromFork++
				}
			}
			if installedOnFork != (fromFork == 1) {
				t.Errorf("read from the fork %d times (installation on fork: %v)", fromFork, installedOnFork)
			}
		})
	}
}

func TestReadinessFollowsStoreAndTinyforge(t *testing.T) {
	e := newEnv(t, FakeEnvOptions{})
	get := func(path string) int {
		resp, err := http.Get(e.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get("/healthz"); s != 200 {
		t.Errorf("/healthz = %d", s)
	}
	if s := get("/readyz"); s != 200 {
		t.Errorf("/readyz = %d with everything up", s)
	}

	// Tinyforge down: not ready (once the cached answer expires: a new server).
	e2 := newEnv(t, FakeEnvOptions{})
	e2.Tinyforge.InjectFault("GET", "/api/workloads", tinyforgetest.Fault{Status: 503})
	resp, err := http.Get(e2.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), "tinyforge unreachable") {
		t.Errorf("/readyz with Tinyforge down = %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), fakeTinyforgeToken) {
		t.Error("/readyz leaks the token")
	}
}
