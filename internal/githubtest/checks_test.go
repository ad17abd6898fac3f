package githubtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-github/v62/github"
	"github.com/gregjones/httpcache"
)

func annotations(n int, level string) []*github.CheckRunAnnotation {
	out := make([]*github.CheckRunAnnotation, n)
	for i := range out {
		out[i] = &github.CheckRunAnnotation{
			Path: github.String(".tinyforge.yml"), StartLine: github.Int(i + 1), EndLine: github.Int(i + 1),
			StartColumn: github.Int(3), EndColumn: github.Int(3),
			AnnotationLevel: github.String(level), Message: github.String(fmt.Sprintf("problem %d", i)),
		}
	}
	return out
}

func errMessage(err error) string {
	var er *github.ErrorResponse
	if errors.As(err, &er) {
		msg := er.Message
		for _, e := range er.Errors {
			msg += " | " + e.Message
		}
		return msg
	}
	return ""
}

func TestCheckRunsLifecycleAndLimits(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	head := s.Commit("acme/web", "main", map[string]*string{".tinyforge.yml": ptr("version: 1\n")}, "add")

	cr, resp, err := c.Checks.CreateCheckRun(ctx, "acme", "web", github.CreateCheckRunOptions{
		Name: "tinyforge/web", HeadSHA: head, Status: github.String("in_progress"), ExternalID: github.String("wl-1"),
		Output: &github.CheckRunOutput{Title: github.String("Checking"), Summary: github.String("…"), Annotations: annotations(50, "failure")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 201 || cr.GetStatus() != "in_progress" || cr.GetApp().GetID() != s.AppID() || cr.GetHeadSHA() != head || cr.GetOutput().GetAnnotationsCount() != 50 {
		t.Fatalf("created %+v", cr)
	}
	_, _, err = c.Checks.UpdateCheckRun(ctx, "acme", "web", cr.GetID(), github.UpdateCheckRunOptions{
		Name: "tinyforge/web", Conclusion: github.String("neutral"),
		Output: &github.CheckRunOutput{Title: github.String("Drift"), Summary: github.String("| Field |"), Text: github.String("details"), Annotations: annotations(10, "warning")},
	})
	if err != nil {
		t.Fatal(err)
	}
	runs := s.CheckRuns("acme/web")
	if len(runs) != 1 || runs[0].Status != "completed" || runs[0].Conclusion != "neutral" || len(runs[0].Annotations) != 60 || runs[0].Output.Summary != "| Field |" || runs[0].ExternalID != "wl-1" || runs[0].AppID != s.AppID() || runs[0].CompletedAt.IsZero() {
		t.Fatalf("state %+v", runs)
	}
	if runs[0].Annotations[0].StartColumn == nil || *runs[0].Annotations[0].StartColumn != 3 || runs[0].Annotations[59].AnnotationLevel != "warning" {
		t.Fatalf("annotations %+v", runs[0].Annotations[0])
	}

	// another app's run on the same commit, and a second run of ours
	s.AddCheckRun("acme/web", CheckRun{Name: "ci", HeadSHA: head, AppID: 99, Status: "completed", Conclusion: "success"})
	list, _, err := c.Checks.ListCheckRunsForRef(ctx, "acme", "web", head, &github.ListCheckRunsOptions{CheckName: github.String("tinyforge/web"), AppID: github.Int64(s.AppID())})
	if err != nil {
		t.Fatal(err)
	}
	if list.GetTotal() != 1 || list.CheckRuns[0].GetID() != cr.GetID() || list.CheckRuns[0].GetConclusion() != "neutral" {
		t.Fatalf("list %+v", list)
	}
	list, _, err = c.Checks.ListCheckRunsForRef(ctx, "acme", "web", "main", nil)
	if err != nil || list.GetTotal() != 2 {
		t.Fatalf("list by branch %v %v", list.GetTotal(), err)
	}

	// limits
	cases := []struct {
		name string
		opts github.CreateCheckRunOptions
		want string
	}{
		{"51 annotations", github.CreateCheckRunOptions{Name: "x", HeadSHA: head, Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Annotations: annotations(51, "notice")}}, "No more than 50 items are allowed; 51 were supplied."},
		{"summary bytes", github.CreateCheckRunOptions{Name: "x", HeadSHA: head, Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String(strings.Repeat("é", 40000))}}, "summary exceeds a maximum bytesize of 65535"},
		{"summary chars", github.CreateCheckRunOptions{Name: "x", HeadSHA: head, Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String(strings.Repeat("a", 65536))}}, "Only 65535 characters are allowed; 65536 were supplied."},
		{"text bytes", github.CreateCheckRunOptions{Name: "x", HeadSHA: head, Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Text: github.String(strings.Repeat("€", 30000))}}, "text exceeds a maximum bytesize of 65535"},
		{"completed without conclusion", github.CreateCheckRunOptions{Name: "x", HeadSHA: head, Status: github.String("completed")}, `"conclusion" wasn't supplied.`},
		{"bogus conclusion (OpenAPI)", github.CreateCheckRunOptions{Name: "x", HeadSHA: head, Conclusion: github.String("bogus")}, "Invalid request."},
		{"bogus level (OpenAPI)", github.CreateCheckRunOptions{Name: "x", HeadSHA: head, Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Annotations: annotations(1, "error")}}, "Invalid request."},
		{"missing summary (OpenAPI)", github.CreateCheckRunOptions{Name: "x", HeadSHA: head, Output: &github.CheckRunOutput{Title: github.String("t")}}, "Invalid request."},
		{"unknown sha", github.CreateCheckRunOptions{Name: "x", HeadSHA: strings.Repeat("a", 40)}, "No commit found for SHA"},
	}
	for _, tc := range cases {
		_, _, err := c.Checks.CreateCheckRun(ctx, "acme", "web", tc.opts)
		t.Logf("%s: %q", tc.name, errMessage(err))
		if statusOf(err) != 422 || !strings.Contains(errMessage(err), tc.want) {
			t.Errorf("%s: %d %q", tc.name, statusOf(err), errMessage(err))
		}
	}
	huge := annotations(1, "failure")
	huge[0].Message = github.String(strings.Repeat("m", 64*1024+1))
	if _, _, err := c.Checks.UpdateCheckRun(ctx, "acme", "web", cr.GetID(), github.UpdateCheckRunOptions{Name: "tinyforge/web", Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Annotations: huge}}); statusOf(err) != 422 {
		t.Errorf("huge annotation message: %v", err)
	}
	if got := s.CheckRuns("acme/web")[0]; len(got.Annotations) != 60 || got.Output.Title != "Drift" {
		t.Errorf("refused update changed state: %d %q", len(got.Annotations), got.Output.Title)
	}
	if _, _, err := c.Checks.UpdateCheckRun(ctx, "acme", "web", 424242, github.UpdateCheckRunOptions{Name: "x"}); statusOf(err) != 404 {
		t.Errorf("unknown check run: %v", err)
	}
	if len(s.CheckRuns("acme/web")) != 2 {
		t.Errorf("refused creates were stored")
	}
}

func TestCommentsReactionsPermissionsTeams(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	s.Commit("acme/web", "feature", map[string]*string{"a": ptr("a\n")}, "a")
	n := s.OpenPR("acme/web", "feature", "main")
	user := s.AddComment("acme/web", n, "alice", "/tinyforge sync")

	cm, resp, err := c.Issues.CreateComment(ctx, "acme", "web", n, &github.IssueComment{Body: github.String("Synced.")})
	if err != nil || resp.StatusCode != 201 || cm.GetUser().GetLogin() != s.BotLogin() || cm.GetUser().GetType() != "Bot" {
		t.Fatalf("comment %v %v", cm, err)
	}
	if _, _, err := c.Issues.EditComment(ctx, "acme", "web", cm.GetID(), &github.IssueComment{Body: github.String("Synced: port")}); err != nil {
		t.Fatal(err)
	}
	got := s.Comments("acme/web", n)
	if len(got) != 2 || got[0].ID != user.ID || got[1].Body != "Synced: port" {
		t.Fatalf("comments %+v", got)
	}
	_, _, err = c.Issues.CreateComment(ctx, "acme", "web", n, &github.IssueComment{Body: github.String(strings.Repeat("x", 65537))})
	if statusOf(err) != 422 || !strings.Contains(errMessage(err), "body is too long (maximum is 65536 characters)") {
		t.Fatalf("long comment: %v", err)
	}
	if _, _, err = c.Issues.CreateComment(ctx, "acme", "web", n, &github.IssueComment{Body: github.String(strings.Repeat("ü", 65536))}); err != nil {
		t.Fatalf("65536 characters must pass: %v", err)
	}
	if _, _, err = c.Issues.CreateComment(ctx, "acme", "web", 77, &github.IssueComment{Body: github.String("x")}); statusOf(err) != 404 {
		t.Fatalf("no issue: %v", err)
	}

	_, resp, err = c.Reactions.CreateIssueCommentReaction(ctx, "acme", "web", user.ID, "eyes")
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("reaction: %v %v", resp, err)
	}
	_, resp, err = c.Reactions.CreateIssueCommentReaction(ctx, "acme", "web", user.ID, "eyes")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("repeat reaction: %v %v", resp, err)
	}
	if _, _, err = c.Reactions.CreateIssueCommentReaction(ctx, "acme", "web", user.ID, "party-parrot"); statusOf(err) != 422 {
		t.Fatalf("bad reaction content: %v", err)
	}
	c.Reactions.CreateIssueCommentReaction(ctx, "acme", "web", user.ID, "rocket")
	if r := s.Reactions("acme/web", user.ID); strings.Join(r, ",") != "eyes,rocket" {
		t.Fatalf("reactions %v", r)
	}

	s.SetPermission("acme/web", "alice", "admin")
	s.SetPermission("acme/web", "bob", "maintain")
	s.SetPermission("acme/web", "carol", "triage")
	s.AddUser("dave", "User")
	for login, want := range map[string][2]string{"alice": {"admin", "admin"}, "bob": {"write", "maintain"}, "carol": {"read", "triage"}, "dave": {"none", "none"}, "acme": {"admin", "admin"}} {
		p, _, err := c.Repositories.GetPermissionLevel(ctx, "acme", "web", login)
		if err != nil || p.GetPermission() != want[0] || p.GetUser().GetLogin() != login || p.GetUser().GetRoleName() != want[1] {
			t.Errorf("%s: %v %v", login, p, err)
		}
	}
	if _, _, err := c.Repositories.GetPermissionLevel(ctx, "acme", "web", "ghost"); statusOf(err) != 404 {
		t.Errorf("unknown user: %v", err)
	}

	s.AddTeamMember("acme", "deployers", "bob")
	m, _, err := c.Teams.GetTeamMembershipBySlug(ctx, "acme", "deployers", "bob")
	if err != nil || m.GetState() != "active" || m.GetRole() != "member" {
		t.Fatalf("membership %v %v", m, err)
	}
	if _, _, err := c.Teams.GetTeamMembershipBySlug(ctx, "acme", "deployers", "carol"); statusOf(err) != 404 {
		t.Fatalf("non-member: %v", err)
	}
}

func TestConditionalRequestsAndFaults(t *testing.T) {
	s := New()
	defer s.Close()
	s.AddRepo("acme/web", "main")
	s.AddInstallation(7, "acme/web")
	s.Commit("acme/web", "main", map[string]*string{".tinyforge.yml": ptr("version: 1\n")}, "add")
	base := newClient(t, s, 7)
	// the caching transport go-githubapp uses
	// go-githubapp's WithClientCaching(alwaysValidate=true, ...): responses'
	// max-age rewritten to 0 so every reuse is revalidated with If-None-Match
	validate := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := base.Client().Transport.RoundTrip(r)
		if resp != nil {
			resp.Header.Set("Cache-Control", "private, max-age=0")
		}
		return resp, err
	})
	cache := &httpcache.Transport{Transport: validate, Cache: httpcache.NewMemoryCache(), MarkCachedResponses: true}
	c := github.NewClient(&http.Client{Transport: cache})
	c.BaseURL = base.BaseURL
	ctx := context.Background()
	get := func() *github.Response {
		t.Helper()
		_, _, resp, err := c.Repositories.GetContents(ctx, "acme", "web", ".tinyforge.yml", &github.RepositoryContentGetOptions{Ref: "main"})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	r1 := get()
	r2 := get()
	if r1.Header.Get("ETag") == "" || r2.Header.Get(httpcache.XFromCache) != "1" {
		t.Fatalf("etag %q from-cache %q", r1.Header.Get("ETag"), r2.Header.Get(httpcache.XFromCache))
	}
	calls := s.Calls()
	last := calls[len(calls)-1]
	if last.Route != RouteContents || last.Status != http.StatusNotModified {
		t.Fatalf("last call %+v", last)
	}
	// content changes → 200 again
	s.Commit("acme/web", "main", map[string]*string{".tinyforge.yml": ptr("version: 1\ndeploy: {port: 1}\n")}, "chg")
	if r := get(); r.Header.Get(httpcache.XFromCache) != "" {
		t.Fatal("stale cache")
	}

	head := s.Head("acme/web", "main")
	s.SetFault(RouteCreateCheckRun, 502, 1)
	_, _, err := base.Checks.CreateCheckRun(ctx, "acme", "web", github.CreateCheckRunOptions{Name: "x", HeadSHA: head})
	if statusOf(err) != 502 {
		t.Fatalf("fault: %v", err)
	}
	if _, _, err := base.Checks.CreateCheckRun(ctx, "acme", "web", github.CreateCheckRunOptions{Name: "x", HeadSHA: head}); err != nil {
		t.Fatalf("after fault: %v", err)
	}
	if n := s.CallCount(RouteCreateCheckRun); n != 2 {
		t.Fatalf("calls %d", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	s.Commit("acme/web", "feature", map[string]*string{"a": ptr("a\n")}, "a")
	n := s.OpenPR("acme/web", "feature", "main")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			head := s.Commit("acme/web", fmt.Sprintf("b%d", i), map[string]*string{"f": ptr(fmt.Sprint(i))}, "c")
			cr, _, err := c.Checks.CreateCheckRun(ctx, "acme", "web", github.CreateCheckRunOptions{Name: "n", HeadSHA: head})
			if err != nil {
				t.Error(err)
				return
			}
			c.Checks.UpdateCheckRun(ctx, "acme", "web", cr.GetID(), github.UpdateCheckRunOptions{Name: "n", Conclusion: github.String("success")})
			c.Issues.CreateComment(ctx, "acme", "web", n, &github.IssueComment{Body: github.String("hi")})
			c.Checks.ListCheckRunsForRef(ctx, "acme", "web", head, nil)
			_ = s.CheckRuns("acme/web")
			_ = s.Calls()
		}(i)
	}
	wg.Wait()
	if len(s.CheckRuns("acme/web")) != 8 || len(s.Comments("acme/web", n)) != 8 {
		t.Fatal("lost writes")
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
