package app

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge-bot/store"
)

func TestGitHubRoute(t *testing.T) {
	tests := map[string]string{
		"/repos/acme/web/contents/.tinyforge.yml":          "GET /repos/{owner}/{repo}/contents/{path}",
		"/repos/acme/web/contents/deploy/a/.tinyforge.yml": "GET /repos/{owner}/{repo}/contents/{path}",
		"/repos/acme/web/check-runs/12345":                 "GET /repos/{owner}/{repo}/check-runs/{id}",
		"/repos/acme/web/commits/abc123/check-runs":        "GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
		"/repos/acme/web/compare/main...feature/x":         "GET /repos/{owner}/{repo}/compare/{basehead}",
		"/repos/acme/web/collaborators/bob/permission":     "GET /repos/{owner}/{repo}/collaborators/{username}/permission",
		"/repos/acme/web/issues/comments/99/reactions":     "GET /repos/{owner}/{repo}/issues/comments/{id}/reactions",
		"/repos/acme/web/pulls/2/files":                    "GET /repos/{owner}/{repo}/pulls/{id}/files",
		"/app/installations/7/access_tokens":               "GET /app/installations/{id}/access_tokens",
		"/orgs/acme/teams/ops/memberships/bob":             "GET /orgs/{org}/teams/{team}/memberships/{username}",
		"/api/v3/repos/acme/web/branches/release/2026":     "GET /repos/{owner}/{repo}/branches/{branch}",
	}
	for path, want := range tests {
		if got := githubRoute("GET", path); got != want {
			t.Errorf("githubRoute(%q) = %q, want %q", path, got, want)
		}
	}
}

// scripted answers each request with the next response.
type scripted struct {
	responses []*http.Response
	bodies    []string
}

func (s *scripted) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		s.bodies = append(s.bodies, string(b))
	}
	resp := s.responses[0]
	s.responses = s.responses[1:]
	return resp, nil
}

func response(status int, headers ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader("{}"))}
}

func TestRateLimitsAreWaitedOutNotDropped(t *testing.T) {
	reset := strconv.FormatInt(time.Now().Add(30*time.Second).Unix(), 10)
	tests := []struct {
		name   string
		first  *http.Response
		waits  bool
		atMost time.Duration
	}{
		{"secondary limit with Retry-After", response(403, "Retry-After", "7"), true, 7 * time.Second},
		{"primary limit exhausted", response(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset), true, 32 * time.Second},
		{"429 without headers", response(429), true, time.Minute},
		{"plain 403 is an answer", response(403, "X-RateLimit-Remaining", "4000"), false, 0},
		{"wait too long fails for the inbox to retry later", response(403, "Retry-After", "3600"), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var slept []time.Duration
			rt := &scripted{responses: []*http.Response{tt.first, response(201, "X-RateLimit-Remaining", "4999")}}
			m := newMetrics(func(context.Context) (store.InboxStats, error) { return store.InboxStats{}, nil })
			mw := githubMiddleware(m, zerolog.Nop(), func(d time.Duration, _ *http.Request) bool { slept = append(slept, d); return true })
			req, _ := http.NewRequest("POST", "https://api.github.com/repos/a/b/check-runs", strings.NewReader(`{"name":"x"}`))
			resp, err := mw(rt).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if tt.waits {
				if resp.StatusCode != 201 || len(slept) != 1 || slept[0] > tt.atMost || slept[0] <= 0 {
					t.Errorf("status %d after waits %v, want 201 after one wait ≤ %v", resp.StatusCode, slept, tt.atMost)
				}
				if len(rt.bodies) != 2 || rt.bodies[1] != `{"name":"x"}` {
					t.Errorf("the retried request lost its body: %q", rt.bodies)
				}
			} else if resp.StatusCode != tt.first.StatusCode || len(slept) != 0 {
				t.Errorf("status %d waits %v, want the original answer and no wait", resp.StatusCode, slept)
			}
		})
	}
}
