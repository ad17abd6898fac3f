package tinyforge_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge-bot/tinyforge"
	"github.com/tinyforge/tinyforge-bot/tinyforge/tinyforgetest"
)

func TestListWorkloads(t *testing.T) {
	f := newFixture(t)
	ws, err := f.admin(t).ListWorkloads(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 4 {
		t.Fatalf("got %d workloads, want 4", len(ws))
	}
	byName := map[string]tinyforge.Workload{}
	for _, w := range ws {
		byName[w.Name] = w
	}
	shop := byName["shop-api"]
	if shop.ID != f.ids["shop-api"] || shop.Source != "dockerfile" || !shop.GitOpsEnabled {
		t.Errorf("shop-api = %+v", shop)
	}
	if shop.RepoURL() != shopRepo || shop.Branch() != "main" || shop.GitOpsFile() != ".tinyforge.yml" {
		t.Errorf("shop-api repo/branch/path = %q %q %q", shop.RepoURL(), shop.Branch(), shop.GitOpsFile())
	}
	if shop.SourceConfig["port"] != float64(8080) {
		t.Errorf("port = %#v", shop.SourceConfig["port"])
	}
	for _, name := range []string{"docs-site", "redis", "observability"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("missing %s", name)
		}
	}
	r := f.srv.Requests()[0]
	if !r.Authorized || r.UserAgent != tinyforge.DefaultUserAgent || r.Route != tinyforge.RouteWorkloads {
		t.Errorf("request = %+v", r)
	}
}

func TestGetWorkload(t *testing.T) {
	f := newFixture(t)
	c := f.client(t, tinyforgetest.ReadToken, tinyforge.WithUserAgent("test-agent/1"))
	w, err := c.GetWorkload(context.Background(), f.ids["docs-site"])
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "docs-site" || w.Branch() != "gh-pages" || w.RepoURL() != docsRepo {
		t.Errorf("got %+v", w)
	}
	if ua := f.srv.Requests()[0].UserAgent; ua != "test-agent/1" {
		t.Errorf("user agent %q", ua)
	}

	_, err = c.GetWorkload(context.Background(), "99")
	if !errors.Is(err, tinyforge.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	var ae *tinyforge.APIError
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Code != tinyforge.CodeNotFound || ae.Route != tinyforge.RouteWorkload {
		t.Fatalf("APIError = %+v", ae)
	}
	if want := "GET /api/workloads/99: 404 Not Found: workload not found (not_found)"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	// Ids with odd characters are escaped into one path segment.
	if _, err := c.GetWorkload(context.Background(), "a/b c"); !errors.Is(err, tinyforge.ErrNotFound) {
		t.Errorf("odd id: %v", err)
	}
	if got := f.srv.Requests()[2].Path; got != "/api/workloads/a%2Fb%20c" {
		t.Errorf("escaped path = %q", got)
	}
	// An empty id never reaches the server.
	n := len(f.srv.Requests())
	if _, err := c.GetWorkload(context.Background(), ""); !errors.Is(err, tinyforge.ErrBadRequest) {
		t.Errorf("empty id: %v", err)
	}
	if len(f.srv.Requests()) != n {
		t.Error("empty id was sent")
	}
}

func TestGetGitOpsStatuses(t *testing.T) {
	f := newFixture(t)
	c := f.client(t, tinyforgetest.ReadToken)
	ctx := context.Background()

	st, err := c.GetGitOps(ctx, f.ids["shop-api"])
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != tinyforge.StatusOK || st.SHA != f.shas["shop-api"] || !st.Enabled || st.Path != ".tinyforge.yml" {
		t.Fatalf("status = %+v", st)
	}
	if !strings.Contains(st.Raw, "port: 9090") {
		t.Errorf("raw = %q", st.Raw)
	}
	wantDrift := []tinyforge.DriftEntry{
		{Field: "deploy.deploy_strategy", Repo: "blue-green", Live: "recreate"},
		{Field: "deploy.port", Repo: float64(9090), Live: float64(8080)},
	}
	if !jsonEqual(st.Drift, wantDrift) {
		t.Errorf("drift = %+v", st.Drift)
	}
	if !jsonEqual(st.ManagedFields, []string{"deploy.deploy_strategy", "deploy.healthcheck", "deploy.port"}) {
		t.Errorf("managed = %v", st.ManagedFields)
	}

	st, err = c.GetGitOps(ctx, f.ids["docs-site"])
	if err != nil || st.Status != tinyforge.StatusOK || len(st.Drift) != 0 {
		t.Fatalf("docs-site in sync: %+v %v", st, err)
	}

	st, err = c.GetGitOps(ctx, f.ids["redis"])
	if err != nil || st.Status != tinyforge.StatusDisabled || st.Enabled {
		t.Fatalf("redis disabled: %+v %v", st, err)
	}

	f.files.Put(shopRepo, "main", ".tinyforge.yml", []byte("version: 1\ndeploy:\n  port: \"8080\"\n  env: {A: b}\n"))
	st, err = c.GetGitOps(ctx, f.ids["shop-api"])
	if err != nil || st.Status != tinyforge.StatusInvalid || st.Message == "" || st.Raw == "" || len(st.Drift) != 0 {
		t.Fatalf("invalid: %+v %v", st, err)
	}

	f.files.Delete(shopRepo, "main", ".tinyforge.yml")
	st, err = c.GetGitOps(ctx, f.ids["shop-api"])
	if err != nil || st.Status != tinyforge.StatusNoFile {
		t.Fatalf("no_file: %+v %v", st, err)
	}

	// A fetch failure that mentions a credential: the message is redacted.
	w, _ := f.srv.Workload(f.ids["shop-api"])
	w.SourceConfig["repo_token"] = "ghp_repoSecret123456"
	f.srv.SetWorkload(w)
	f.files.Fail(shopRepo, errors.New("GET https://x-access-token:ghp_repoSecret123456@github.com/acme/shop: 500"))
	st, err = c.GetGitOps(ctx, f.ids["shop-api"])
	if err != nil || st.Status != tinyforge.StatusFetchFailed {
		t.Fatalf("fetch_failed: %+v %v", st, err)
	}
	if strings.Contains(st.Message, "ghp_repoSecret123456") || !strings.Contains(st.Message, "[REDACTED]") {
		t.Errorf("message not redacted: %q", st.Message)
	}

	if _, err := c.GetGitOps(ctx, "404"); !errors.Is(err, tinyforge.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
}

func TestSetGitOps(t *testing.T) {
	f := newFixture(t)
	c := f.admin(t)
	ctx := context.Background()
	id := f.ids["shop-api"]

	f.files.Put(shopRepo, "main", "deploy/tf.yml", []byte("version: 1\n"))
	st, err := c.SetGitOps(ctx, id, true, "deploy/tf.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !st.Enabled || st.Path != "deploy/tf.yml" || st.Status != tinyforge.StatusOK {
		t.Errorf("status = %+v", st)
	}
	if w, _ := f.srv.Workload(id); w.GitOpsPath != "deploy/tf.yml" || !w.GitOpsEnabled {
		t.Errorf("stored = %+v", w)
	}
	st, err = c.SetGitOps(ctx, id, false, "deploy/tf.yml")
	if err != nil || st.Enabled || st.Status != tinyforge.StatusDisabled {
		t.Fatalf("disable: %+v %v", st, err)
	}
	var body struct {
		Enabled *bool   `json:"enabled"`
		Path    *string `json:"path"`
	}
	reqs := f.srv.Requests()
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &body); err != nil || body.Enabled == nil || *body.Enabled || *body.Path != "deploy/tf.yml" {
		t.Errorf("PUT body = %s", reqs[len(reqs)-1].Body)
	}

	for _, p := range []string{"", "/etc/passwd", "../x.yml", "a/../../x", "a\\b.yml", "x.yml?ref=evil", "x.yml#frag",
		"http://evil/x.yml", "file:x", "a\x00b", "a//b", "./x.yml", "dir/", "a b.yml", strings.Repeat("a", 600)} {
		_, err := c.SetGitOps(ctx, id, true, p)
		if !errors.Is(err, tinyforge.ErrBadRequest) {
			t.Errorf("path %q: err = %v, want ErrBadRequest", p, err)
		}
	}
	for _, name := range []string{"redis", "observability"} {
		_, err := c.SetGitOps(ctx, f.ids[name], true, ".tinyforge.yml")
		var ae *tinyforge.APIError
		if !errors.Is(err, tinyforge.ErrValidation) || !errors.As(err, &ae) || ae.Code != tinyforge.CodeNotEligible {
			t.Errorf("%s: err = %v, want 422 not_eligible", name, err)
		}
	}
	_, err = f.client(t, tinyforgetest.ReadToken).SetGitOps(ctx, id, true, ".tinyforge.yml")
	if !errors.Is(err, tinyforge.ErrForbidden) {
		t.Errorf("read token: %v", err)
	}
	if _, err := c.SetGitOps(ctx, "77", true, ".tinyforge.yml"); !errors.Is(err, tinyforge.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
}

func TestSync(t *testing.T) {
	f := newFixture(t)
	c := f.admin(t)
	ctx := context.Background()
	id := f.ids["shop-api"]

	// Stale expectation: 409, nothing written, no event.
	_, err := c.Sync(ctx, id, "0000000000000000000000000000000000000000")
	if !errors.Is(err, tinyforge.ErrConflict) {
		t.Fatalf("stale sha: %v", err)
	}
	if len(f.srv.Events()) != 0 {
		t.Fatal("event recorded for a refused sync")
	}

	res, err := c.Sync(ctx, id, f.shas["shop-api"])
	if err != nil {
		t.Fatal(err)
	}
	want := []tinyforge.FieldChange{
		{Field: "deploy.deploy_strategy", From: "recreate", To: "blue-green"},
		{Field: "deploy.port", From: float64(8080), To: float64(9090)},
	}
	if !jsonEqual(res.Applied, want) || res.SHA != f.shas["shop-api"] || res.EventID == "" {
		t.Fatalf("result = %+v", res)
	}
	if res.Workload.SourceConfig["port"] != float64(9090) || res.Workload.GitOpsLastSyncSHA != res.SHA || res.Workload.GitOpsLastSyncAt == nil {
		t.Errorf("workload = %+v", res.Workload)
	}
	stored, _ := f.srv.Workload(id)
	if stored.SourceConfig["port"] != float64(9090) || stored.SourceConfig["dockerfile_path"] != "Dockerfile" {
		t.Errorf("stored = %+v (unknown live keys must survive)", stored.SourceConfig)
	}
	evs := f.srv.Events()
	if len(evs) != 1 || evs[0].ID != res.EventID || evs[0].WorkloadID != id || evs[0].Type != tinyforgetest.EventTypeGitOpsSync || !jsonEqual(evs[0].Applied, want) {
		t.Fatalf("events = %+v", evs)
	}

	// Syncing again changes nothing but is still recorded (applied = []).
	res, err = c.Sync(ctx, id, "")
	if err != nil || len(res.Applied) != 0 || res.Applied == nil {
		t.Fatalf("noop sync: %+v %v", res, err)
	}
	if len(f.srv.Events()) != 2 {
		t.Error("noop sync not recorded")
	}
	var body map[string]any
	reqs := f.srv.Requests()
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &body); err != nil || len(body) != 0 {
		t.Errorf("sync body without sha = %s", reqs[len(reqs)-1].Body)
	}

	// Invalid file: 422, config untouched.
	f.files.Put(shopRepo, "main", ".tinyforge.yml", []byte("version: 1\ndeploy:\n  port: 70000\n"))
	_, err = c.Sync(ctx, id, "")
	var ae *tinyforge.APIError
	if !errors.Is(err, tinyforge.ErrValidation) || !errors.As(err, &ae) || ae.Code != tinyforge.CodeInvalid || !strings.Contains(ae.Message, "deploy.port") {
		t.Fatalf("invalid: %v", err)
	}
	// Invalid merged config: blue-green with the healthcheck emptied.
	f.files.Put(shopRepo, "main", ".tinyforge.yml", []byte("version: 1\ndeploy:\n  healthcheck: \"\"\n  port: 7000\n"))
	if _, err = c.Sync(ctx, id, ""); !errors.Is(err, tinyforge.ErrValidation) {
		t.Fatalf("invalid merged: %v", err)
	}
	if after, _ := f.srv.Workload(id); !jsonEqual(after.SourceConfig, stored.SourceConfig) {
		t.Errorf("config changed by a refused sync: %v", after.SourceConfig)
	}

	// Missing file and fetch failure.
	f.files.Delete(shopRepo, "main", ".tinyforge.yml")
	if _, err = c.Sync(ctx, id, ""); !errors.Is(err, tinyforge.ErrValidation) {
		t.Errorf("no file: %v", err)
	}
	f.files.Fail(shopRepo, errors.New("connection reset by github"))
	_, err = c.Sync(ctx, id, "")
	if !errors.Is(err, tinyforge.ErrUpstream) {
		t.Errorf("fetch failed: %v", err)
	}
	if n := f.srv.RequestCount("POST", tinyforge.RouteGitOpsSync); n != 7 {
		t.Errorf("sync requests = %d, want 7 (502 is never retried for sync)", n)
	}

	// Not enabled, not eligible, not admin, unknown.
	_, err = c.Sync(ctx, f.ids["redis"], "")
	if !errors.As(err, &ae) || ae.Status != 422 || ae.Code != tinyforge.CodeNotEligible {
		t.Errorf("image: %v", err)
	}
	w, _ := f.srv.Workload(f.ids["docs-site"])
	w.GitOpsEnabled = false
	f.srv.SetWorkload(w)
	_, err = c.Sync(ctx, w.ID, "")
	if !errors.As(err, &ae) || ae.Code != tinyforge.CodeNotEnabled || !errors.Is(err, tinyforge.ErrValidation) {
		t.Errorf("disabled: %v", err)
	}
	if _, err = f.client(t, tinyforgetest.ReadToken).Sync(ctx, id, ""); !errors.Is(err, tinyforge.ErrForbidden) {
		t.Errorf("read token: %v", err)
	}
	if _, err = c.Sync(ctx, "12345", ""); !errors.Is(err, tinyforge.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	if len(f.srv.Events()) != 2 {
		t.Errorf("events = %d, want 2", len(f.srv.Events()))
	}
}

func TestUnauthorizedAndServerErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	bad := f.client(t, "not-a-token")
	calls := map[string]func() error{
		"list":   func() error { _, err := bad.ListWorkloads(ctx); return err },
		"get":    func() error { _, err := bad.GetWorkload(ctx, "1"); return err },
		"gitops": func() error { _, err := bad.GetGitOps(ctx, "1"); return err },
		"put":    func() error { _, err := bad.SetGitOps(ctx, "1", true, "x.yml"); return err },
		"sync":   func() error { _, err := bad.Sync(ctx, "1", ""); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, tinyforge.ErrUnauthorized) {
			t.Errorf("%s: %v, want ErrUnauthorized", name, err)
		}
	}
	if n := len(f.srv.Requests()); n != 5 {
		t.Errorf("requests = %d: 401 must not be retried", n)
	}

	cases := []struct {
		status int
		is     []error
		not    []error
	}{
		{500, []error{tinyforge.ErrServer}, []error{tinyforge.ErrUpstream, tinyforge.ErrUnavailable, tinyforge.ErrTimeout}},
		{502, []error{tinyforge.ErrServer, tinyforge.ErrUpstream}, []error{tinyforge.ErrUnavailable}},
		{503, []error{tinyforge.ErrServer, tinyforge.ErrUnavailable}, []error{tinyforge.ErrUpstream}},
		{504, []error{tinyforge.ErrServer, tinyforge.ErrTimeout}, []error{tinyforge.ErrUnavailable}},
		{429, []error{tinyforge.ErrUnavailable}, []error{tinyforge.ErrServer}},
		{409, []error{tinyforge.ErrConflict}, []error{tinyforge.ErrServer}},
		{413, []error{tinyforge.ErrBadRequest}, []error{tinyforge.ErrServer}},
	}
	c := f.admin(t, tinyforge.WithRetry(1, 0))
	for _, tc := range cases {
		f.srv.InjectFault("GET", tinyforge.RouteWorkload, tinyforgetest.Fault{Status: tc.status})
		_, err := c.GetWorkload(ctx, "1")
		for _, want := range tc.is {
			if !errors.Is(err, want) {
				t.Errorf("%d: %v is not %v", tc.status, err, want)
			}
		}
		for _, not := range tc.not {
			if errors.Is(err, not) {
				t.Errorf("%d: %v unexpectedly is %v", tc.status, err, not)
			}
		}
	}
}

func TestRequestBodyTooLarge(t *testing.T) {
	f := newFixture(t)
	_, err := f.admin(t).SetGitOps(context.Background(), f.ids["shop-api"], true, strings.Repeat("a", tinyforgetest.MaxRequestBody))
	if !errors.Is(err, tinyforge.ErrBadRequest) {
		t.Fatalf("err = %v", err)
	}
	var ae *tinyforge.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("err = %v, want 413", err)
	}
}

func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
