package app

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge-bot/internal/githubtest"
	"github.com/tinyforge/tinyforge-bot/tinyforge"
)

const (
	testRepo   = "acme/web"
	inSyncFile = "version: 1\ndeploy:\n  port: 8080\n  healthcheck: /healthz\n"
	portFile   = "version: 1\ndeploy:\n  port: 9090\n  healthcheck: /healthz\n"
)

var liveWeb = map[string]any{"port": 8080, "healthcheck": "/healthz", "deploy_strategy": "recreate", "dockerfile_path": "Dockerfile"}

// waitLimit bounds how long a test waits for asynchronous processing; it is
// a deadlock guard, not a performance assertion.
const waitLimit = 20 * time.Second

func newEnv(t *testing.T, opts FakeEnvOptions) *FakeEnv {
	t.Helper()
	if testing.Verbose() && opts.LogOutput == nil {
		opts.LogOutput = os.Stderr
	}
	e, err := NewFakeEnv(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func send(t *testing.T, e *FakeEnv, event string, payload any) string {
	t.Helper()
	status, id, err := e.Send(event, payload)
	if err != nil {
		t.Fatal(err)
	}
	if status != 202 && status != 200 {
		t.Fatalf("%s webhook answered %d", event, status)
	}
	return id
}

func waitCheck(t *testing.T, e *FakeEnv, name, sha string) githubtest.CheckRun {
	t.Helper()
	var cr githubtest.CheckRun
	err := WaitFor(waitLimit, "check run "+name+" at "+sha, func() bool {
		var ok bool
		cr, ok = e.CompletedCheck(testRepo, name, sha)
		return ok
	})
	if err != nil {
		t.Fatal(err)
	}
	return cr
}

func waitIdle(t *testing.T, e *FakeEnv) {
	t.Helper()
	if err := WaitFor(waitLimit, "inbox to drain", e.Idle); err != nil {
		t.Fatal(err)
	}
}

// openPR commits file on a new branch and opens a PR into main.
func openPR(e *FakeEnv, branch, file string) (number int, sha string) {
	e.GitHub.CreateBranch(testRepo, branch, "main")
	sha = e.GitHub.Commit(testRepo, branch, map[string]*string{".tinyforge.yml": &file}, "Change deploy config")
	return e.GitHub.OpenPR(testRepo, branch, "main"), sha
}

func countCalls(e *FakeEnv, route string, status int) int {
	n := 0
	for _, c := range e.GitHub.Calls() {
		if c.Route == route && (status == 0 || c.Status == status) {
			n++
		}
	}
	return n
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

func workloadFor(repo, name string) tinyforge.Workload {
	cfg := map[string]any{"repo_url": "git@github.com:" + repo + ".git", "branch": "main"}
	for k, v := range liveWeb {
		cfg[k] = v
	}
	return tinyforge.Workload{Name: name, Source: "dockerfile", SourceConfig: cfg, GitOpsEnabled: true, GitOpsPath: ".tinyforge.yml"}
}

func zerologDiscard() zerolog.Logger { return zerolog.Nop() }
