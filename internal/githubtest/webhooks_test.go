package githubtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
)

func parse(t *testing.T, s *Server, event string, payload map[string]any) any {
	t.Helper()
	const secret = "It's a Secret to Everybody"
	var got any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := github.ValidatePayload(r, []byte(secret))
		if err != nil {
			t.Errorf("signature: %v", err)
			return
		}
		got, err = github.ParseWebHook(github.WebHookType(r), body)
		if err != nil {
			t.Errorf("parse: %v", err)
		}
		if github.DeliveryID(r) != "d-1" {
			t.Errorf("delivery id %q", github.DeliveryID(r))
		}
	}))
	defer srv.Close()
	req, err := s.SignedRequest(srv.URL, secret, event, "d-1", payload)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return got
}

func TestSignVector(t *testing.T) {
	// GitHub Docs, "Validating webhook deliveries" (testdata/SOURCES.md §3)
	if got := Sign("It's a Secret to Everybody", []byte("Hello, World!")); got != "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" {
		t.Fatal(got)
	}
}

func TestPayloadBuilders(t *testing.T) {
	s, _ := setup(t)
	before := s.Head("acme/web", "main")
	s.Commit("acme/web", "main", map[string]*string{"src/a.go": ptr("package a\n")}, "one")
	after := s.Commit("acme/web", "main", map[string]*string{".tinyforge.yml": ptr("version: 1\n"), "README.md": nil}, "two")

	push := parse(t, s, "push", s.PushPayload("acme/web", "main", before, after, PushOptions{})).(*github.PushEvent)
	if push.GetRef() != "refs/heads/main" || push.GetBefore() != before || push.GetAfter() != after || push.GetRepo().GetFullName() != "acme/web" ||
		push.GetInstallation().GetID() != 7 || push.GetRepo().GetDefaultBranch() != "main" || push.GetCreated() || len(push.Commits) != 2 {
		t.Fatalf("push %+v", push)
	}
	if c := push.Commits[1]; c.GetID() != after || len(c.Added) != 1 || c.Added[0] != ".tinyforge.yml" || len(c.Removed) != 1 || c.Removed[0] != "README.md" || !c.GetDistinct() {
		t.Fatalf("commit %+v", c)
	}
	if push.GetHeadCommit().GetID() != after || push.GetRepo().GetOwner().GetLogin() != "acme" || push.GetRepo().GetCloneURL() != s.URL()+"acme/web.git" {
		t.Fatalf("head %+v", push.GetHeadCommit())
	}
	capped := parse(t, s, "push", s.PushPayload("acme/web", "main", before, after, PushOptions{MaxCommits: 1})).(*github.PushEvent)
	if len(capped.Commits) != 1 || capped.Commits[0].GetID() != after {
		t.Fatalf("capped %d", len(capped.Commits))
	}
	nb := s.Commit("acme/web", "feature", map[string]*string{"x": ptr("x")}, "feat")
	created := parse(t, s, "push", s.PushPayload("acme/web", "feature", "", nb, PushOptions{Sender: "alice"})).(*github.PushEvent)
	if !created.GetCreated() || len(created.Commits) != 1 || created.GetSender().GetLogin() != "alice" {
		t.Fatalf("created %+v", created)
	}

	n := s.OpenPR("acme/web", "feature", "main")
	pr := parse(t, s, "pull_request", s.PullRequestPayload("synchronize", "acme/web", n)).(*github.PullRequestEvent)
	if pr.GetAction() != "synchronize" || pr.GetNumber() != n || pr.GetPullRequest().GetHead().GetSHA() != nb || pr.GetPullRequest().GetBase().GetRef() != "main" ||
		pr.GetInstallation().GetID() != 7 || pr.GetAfter() != nb || pr.GetBefore() != after || pr.GetRepo().GetFullName() != "acme/web" {
		t.Fatalf("pr %+v", pr)
	}
	opened := parse(t, s, "pull_request", s.PullRequestPayload("opened", "acme/web", n)).(*github.PullRequestEvent)
	if opened.GetAction() != "opened" || opened.GetPullRequest().GetState() != "open" {
		t.Fatal("opened")
	}

	cm := s.AddComment("acme/web", n, "alice", "/tinyforge sync")
	ic := parse(t, s, "issue_comment", s.IssueCommentPayload("created", "acme/web", n, cm, "")).(*github.IssueCommentEvent)
	if ic.GetComment().GetID() != cm.ID || ic.GetComment().GetBody() != "/tinyforge sync" || ic.GetIssue().GetNumber() != n || !ic.GetIssue().IsPullRequest() ||
		ic.GetSender().GetLogin() != "alice" || ic.GetSender().GetType() != "User" || ic.GetInstallation().GetID() != 7 {
		t.Fatalf("issue_comment %+v", ic)
	}
	bot := parse(t, s, "issue_comment", s.IssueCommentPayload("created", "acme/web", n, cm, "Bot")).(*github.IssueCommentEvent)
	if bot.GetSender().GetType() != "Bot" || bot.GetComment().GetUser().GetType() != "Bot" {
		t.Fatal("bot sender")
	}
	issue := s.AddIssue("acme/web", "", "plain")
	ic2 := parse(t, s, "issue_comment", s.IssueCommentPayload("edited", "acme/web", issue, s.AddComment("acme/web", issue, "bob", "hi"), "")).(*github.IssueCommentEvent)
	if ic2.GetIssue().IsPullRequest() || ic2.GetAction() != "edited" || ic2.GetInstallation().GetID() != 7 {
		t.Fatal("plain issue comment")
	}

	other := s.AddCheckRun("acme/web", CheckRun{Name: "ci", HeadSHA: nb, AppID: 99})
	cr := parse(t, s, "check_run", s.CheckRunPayload("rerequested", "acme/web", other.ID)).(*github.CheckRunEvent)
	if cr.GetCheckRun().GetID() != other.ID || cr.GetCheckRun().GetApp().GetID() != 99 || cr.GetCheckRun().GetHeadSHA() != nb ||
		cr.GetCheckRun().GetCheckSuite().GetHeadBranch() != "feature" || cr.GetInstallation().GetID() != 7 || len(cr.GetCheckRun().PullRequests) != 1 {
		t.Fatalf("check_run %+v", cr.GetCheckRun())
	}
	cs := parse(t, s, "check_suite", s.CheckSuitePayload("rerequested", "acme/web", nb)).(*github.CheckSuiteEvent)
	if cs.GetCheckSuite().GetHeadSHA() != nb || cs.GetCheckSuite().GetApp().GetID() != s.AppID() || cs.GetCheckSuite().GetHeadBranch() != "feature" ||
		len(cs.GetCheckSuite().PullRequests) != 1 || cs.GetRepo().GetFullName() != "acme/web" || cs.GetInstallation().GetID() != 7 {
		t.Fatalf("check_suite %+v", cs.GetCheckSuite())
	}

	// the example payloads' other fields survive
	raw, _ := json.Marshal(s.PullRequestPayload("opened", "acme/web", n))
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if _, ok := m["pull_request"].(map[string]any)["author_association"]; !ok {
		t.Fatal("lost example fields")
	}
	if p := Payload("push"); p["ref"] != "refs/heads/master" {
		t.Fatal("Payload")
	}
}

func TestAllExamplePayloadsDecode(t *testing.T) {
	entries, err := testdata.ReadDir("testdata/webhooks")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".json")
		event, _, _ := strings.Cut(name, ".")
		raw, _ := json.Marshal(Payload(name))
		if _, err := github.ParseWebHook(event, raw); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
