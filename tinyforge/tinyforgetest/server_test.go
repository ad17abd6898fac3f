package tinyforgetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-bot/tinyforge"
	"github.com/tinyforge/tinyforge-bot/tinyforge/tinyforgetest"
)

func do(t *testing.T, s *tinyforgetest.Server, method, path, token, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(data, &m)
	return resp.StatusCode, m, resp.Header
}

func TestAuthAndRouting(t *testing.T) {
	s := tinyforgetest.New(tinyforgetest.WithWorkloads(tinyforgetest.SampleWorkloads()...))
	defer s.Close()
	cases := []struct {
		method, path, token, body string
		status                    int
		code                      string
	}{
		{"GET", "/api/workloads", "", "", 401, "unauthorized"},
		{"GET", "/api/workloads", "Bearer", "", 401, "unauthorized"},
		{"GET", "/api/workloads", "wrong", "", 401, "unauthorized"},
		{"GET", "/api/workloads", tinyforgetest.ReadToken, "", 200, ""},
		{"GET", "/api/workloads/1", tinyforgetest.ReadToken, "", 200, ""},
		{"GET", "/api/workloads/9", tinyforgetest.ReadToken, "", 404, "not_found"},
		{"GET", "/api/nothing", tinyforgetest.ReadToken, "", 404, "not_found"},
		{"GET", "/api/workloads/1/gitops/sync", tinyforgetest.AdminToken, "", 405, "method_not_allowed"},
		{"DELETE", "/api/workloads/1", tinyforgetest.AdminToken, "", 405, "method_not_allowed"},
		{"PUT", "/api/workloads/1/gitops", tinyforgetest.ReadToken, `{"enabled":true,"path":"a.yml"}`, 403, "forbidden"},
		{"POST", "/api/workloads/1/gitops/sync", tinyforgetest.ReadToken, `{}`, 403, "forbidden"},
		{"PUT", "/api/workloads/1/gitops", tinyforgetest.AdminToken, `{"path":"a.yml"}`, 400, "bad_request"},
		{"PUT", "/api/workloads/1/gitops", tinyforgetest.AdminToken, `nope`, 400, "bad_request"},
		{"PUT", "/api/workloads/3/gitops", tinyforgetest.AdminToken, `{"enabled":true,"path":"a.yml"}`, 422, "not_eligible"},
		{"POST", "/api/workloads/1/gitops/sync", tinyforgetest.AdminToken, `{"expected_sha": 5}`, 400, "bad_request"},
		{"POST", "/api/workloads/1/gitops/sync", tinyforgetest.AdminToken, strings.Repeat(" ", tinyforgetest.MaxRequestBody+1), 413, "too_large"},
		{"POST", "/api/workloads/1/gitops/sync", tinyforgetest.AdminToken, ``, 422, "no_file"},
	}
	for _, tc := range cases {
		token := tc.token
		if token == "Bearer" {
			token = ""
		}
		status, body, _ := do(t, s, tc.method, tc.path, token, tc.body)
		if status != tc.status || (tc.code != "" && body["code"] != tc.code) {
			t.Errorf("%s %s (%q): %d %v, want %d %s", tc.method, tc.path, tc.token, status, body, tc.status, tc.code)
		}
		if msg, _ := body["error"].(string); strings.Contains(msg, tinyforgetest.AdminToken) || strings.Contains(msg, tinyforgetest.ReadToken) {
			t.Errorf("token in message %q", msg)
		}
	}
	if n := s.RequestCount("", tinyforge.RouteGitOpsSync); n != 5 {
		t.Errorf("sync requests = %d", n)
	}
	for _, r := range s.Requests() {
		if strings.Contains(string(r.Body), tinyforgetest.AdminToken) {
			t.Error("token recorded")
		}
	}
}

func TestValidGitOpsPath(t *testing.T) {
	good := []string{".tinyforge.yml", "deploy/.tinyforge.yml", "a/b/c.yaml", "x..y.yml", "..x"}
	bad := []string{"", "/abs.yml", "../up.yml", "a/../b", "a/..", "..", "a\\b", "a?b", "a#b", "http://x/y", "c:x", "a\x00b",
		"a//b", "./a", "a/./b", "dir/", "a b", "a\tb", "a\nb", strings.Repeat("x", tinyforgetest.MaxPathLen+1)}
	for _, p := range good {
		if why := tinyforgetest.ValidGitOpsPath(p); why != "" {
			t.Errorf("%q rejected: %s", p, why)
		}
	}
	for _, p := range bad {
		if tinyforgetest.ValidGitOpsPath(p) == "" {
			t.Errorf("%q accepted", p)
		}
	}
}

func TestFaults(t *testing.T) {
	s := tinyforgetest.New(tinyforgetest.WithWorkloads(tinyforgetest.SampleWorkloads()...))
	defer s.Close()
	s.InjectFault("GET", tinyforge.RouteWorkload, tinyforgetest.Fault{Status: 503, Times: 2, Header: http.Header{"Retry-After": {"3"}}})
	for i, want := range []int{503, 503, 200} {
		status, _, h := do(t, s, "GET", "/api/workloads/1", tinyforgetest.ReadToken, "")
		if status != want {
			t.Errorf("request %d: %d, want %d", i, status, want)
		}
		if want == 503 && h.Get("Retry-After") != "3" {
			t.Errorf("Retry-After = %q", h.Get("Retry-After"))
		}
	}
	// Faults apply before auth, like a proxy in front of Tinyforge.
	s.InjectFault("*", tinyforge.RouteWorkloads, tinyforgetest.Fault{Status: 200, Body: `{"workloads": "x"}`, Times: 1})
	if status, body, _ := do(t, s, "GET", "/api/workloads", "", ""); status != 200 || body["workloads"] != "x" {
		t.Errorf("raw body fault: %d %v", status, body)
	}
	s.InjectFault("GET", tinyforge.RouteGitOps, tinyforgetest.Fault{Drop: true, Times: 1})
	// A fresh connection: net/http silently retries a GET once when a
	// reused keep-alive connection is closed under it.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest("GET", s.URL()+"/api/workloads/1/gitops", nil)
	if _, err := fresh.Do(req); err == nil {
		t.Error("dropped connection answered")
	}
	s.InjectFault("GET", tinyforge.RouteGitOps, tinyforgetest.Fault{Malformed: true, Times: 1})
	resp, err := s.Client().Get(s.URL() + "/api/workloads/1/gitops")
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if json.NewDecoder(resp.Body).Decode(&v) == nil {
		t.Error("malformed body decoded")
	}
	resp.Body.Close()

	// Latency ends early when the server closes.
	s.InjectFault("GET", tinyforge.RouteWorkloads, tinyforgetest.Fault{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", s.URL()+"/api/workloads", nil)
	if _, err := s.Client().Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("latency: %v", err)
	}
	s.ClearFaults()
	if status, _, _ := do(t, s, "GET", "/api/workloads", tinyforgetest.ReadToken, ""); status != 200 {
		t.Errorf("after ClearFaults: %d", status)
	}
}

func TestMapFileSource(t *testing.T) {
	m := tinyforgetest.NewMapFileSource()
	ctx := context.Background()
	sha1 := m.Put("https://github.com/Acme/Shop.git", "main", "a.yml", []byte("one"))
	sha2 := m.Put("git@github.com:acme/shop.git", "main", "a.yml", []byte("one"))
	if sha1 == sha2 || len(sha1) != 40 {
		t.Errorf("shas %q %q: every Put is a new commit", sha1, sha2)
	}
	got, sha, err := m.Fetch(ctx, "ssh://git@github.com/acme/shop", "main", "a.yml")
	if err != nil || string(got) != "one" || sha != sha2 {
		t.Errorf("fetch = %q %q %v", got, sha, err)
	}
	if _, _, err := m.Fetch(ctx, "https://github.com/acme/shop", "dev", "a.yml"); !errors.Is(err, tinyforgetest.ErrFileNotFound) {
		t.Errorf("other branch: %v", err)
	}
	m.Fail("https://github.com/acme/shop", errors.New("boom"))
	if _, _, err := m.Fetch(ctx, "https://github.com/acme/shop", "main", "a.yml"); err == nil || errors.Is(err, tinyforgetest.ErrFileNotFound) {
		t.Errorf("fail: %v", err)
	}
	m.Fail("https://github.com/acme/shop", nil)
	m.Delete("https://github.com/acme/shop", "main", "a.yml")
	if _, _, err := m.Fetch(ctx, "https://github.com/acme/shop", "main", "a.yml"); !errors.Is(err, tinyforgetest.ErrFileNotFound) {
		t.Errorf("deleted: %v", err)
	}
}

func TestWorkloadStorage(t *testing.T) {
	s := tinyforgetest.New()
	defer s.Close()
	id := s.AddWorkload(tinyforge.Workload{Name: "x", Source: "static", SourceConfig: map[string]any{"nested": map[string]any{"a": 1}}})
	if id != "1" {
		t.Errorf("id = %q", id)
	}
	if id2 := s.AddWorkload(tinyforge.Workload{ID: "wl-abc", Name: "y"}); id2 != "wl-abc" {
		t.Errorf("explicit id = %q", id2)
	}
	w, _ := s.Workload(id)
	w.SourceConfig["nested"].(map[string]any)["a"] = 2
	again, _ := s.Workload(id)
	if again.SourceConfig["nested"].(map[string]any)["a"] != float64(1) {
		t.Error("Workload is not a deep copy")
	}
	if ws := s.Workloads(); len(ws) != 2 || ws[0].ID != "1" {
		t.Errorf("workloads = %+v", ws)
	}
}
