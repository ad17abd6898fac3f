package githubtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/golang-jwt/jwt/v4"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"
)

func ptr(s string) *string { return &s }

// newClient builds a go-github client exactly as the bot does: ghinstallation
// transport with BaseURL = fake URL without trailing slash.
func newClient(t *testing.T, s *Server, installationID int64) *github.Client {
	t.Helper()
	itr, err := ghinstallation.New(http.DefaultTransport, s.AppID(), installationID, s.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	itr.BaseURL = strings.TrimSuffix(s.URL(), "/")
	c, err := github.NewClient(&http.Client{Transport: itr}).WithEnterpriseURLs(s.URL(), s.URL())
	if err != nil {
		t.Fatal(err)
	}
	// WithEnterpriseURLs appends api/v3/ unless the URL already ends so; the
	// bot uses go-githubapp, which sets BaseURL verbatim: do the same.
	c.BaseURL = mustURL(t, s.URL())
	c.UploadURL = mustURL(t, s.URL())
	return c
}

func setup(t *testing.T, opts ...Option) (*Server, *github.Client) {
	t.Helper()
	s := New(opts...)
	t.Cleanup(s.Close)
	s.AddRepo("acme/web", "main")
	s.AddInstallation(7, "acme/web")
	return s, newClient(t, s, 7)
}

func statusOf(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

func TestContentsAtBranchAndSHA(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	first := s.Commit("acme/web", "main", map[string]*string{".tinyforge.yml": ptr("version: 1\n")}, "add")
	second := s.Commit("acme/web", "main", map[string]*string{".tinyforge.yml": ptr("version: 1\ndeploy: {port: 9090}\n")}, "change")

	fc, _, _, err := c.Repositories.GetContents(ctx, "acme", "web", ".tinyforge.yml", &github.RepositoryContentGetOptions{Ref: "main"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := fc.GetContent()
	if !strings.Contains(got, "9090") {
		t.Fatalf("at main: %q", got)
	}
	_, blob, _ := s.File("acme/web", second, ".tinyforge.yml")
	if fc.GetSHA() != blob {
		t.Fatalf("sha %s != %s", fc.GetSHA(), blob)
	}
	fc, _, _, err = c.Repositories.GetContents(ctx, "acme", "web", ".tinyforge.yml", &github.RepositoryContentGetOptions{Ref: first})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := fc.GetContent(); got != "version: 1\n" {
		t.Fatalf("at first: %q", got)
	}
	_, _, _, err = c.Repositories.GetContents(ctx, "acme", "web", "missing.yml", &github.RepositoryContentGetOptions{Ref: "main"})
	if statusOf(err) != 404 {
		t.Fatalf("missing: %v", err)
	}
	_, _, _, err = c.Repositories.GetContents(ctx, "acme", "web", ".tinyforge.yml", &github.RepositoryContentGetOptions{Ref: s.Repo("acme/web").InitialSHA})
	if statusOf(err) != 404 {
		t.Fatalf("absent at initial: %v", err)
	}
	if n := s.CallCount(RouteAccessToken); n != 1 {
		t.Fatalf("token exchanges = %d", n)
	}
	for _, call := range s.Calls() {
		if call.Route == RouteContents && call.Auth != "installation" {
			t.Fatalf("auth = %q", call.Auth)
		}
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func rawDo(t *testing.T, s *Server, method, path, authz, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL()+strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func signJWT(t *testing.T, key *rsa.PrivateKey, iss any, iat, exp time.Time) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": iss, "iat": iat.Unix(), "exp": exp.Unix()})
	out, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTokenExchangeVerifiesJWT(t *testing.T) {
	s, _ := setup(t)
	now := time.Now()
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	path := "app/installations/7/access_tokens"
	cases := []struct {
		name   string
		jwt    string
		status int
	}{
		{"valid string iss", signJWT(t, s.PrivateKey(), strconv.FormatInt(s.AppID(), 10), now.Add(-30*time.Second), now.Add(9*time.Minute)), 201},
		{"valid numeric iss", signJWT(t, s.PrivateKey(), s.AppID(), now, now.Add(5*time.Minute)), 201},
		{"other key", signJWT(t, other, s.AppID(), now, now.Add(5*time.Minute)), 401},
		{"expired", signJWT(t, s.PrivateKey(), s.AppID(), now.Add(-20*time.Minute), now.Add(-11*time.Minute)), 401},
		{"wrong iss", signJWT(t, s.PrivateKey(), "999", now, now.Add(5*time.Minute)), 401},
		{"iat in the future", signJWT(t, s.PrivateKey(), s.AppID(), now.Add(5*time.Minute), now.Add(9*time.Minute)), 401},
		{"exp too far", signJWT(t, s.PrivateKey(), s.AppID(), now, now.Add(11*time.Minute)), 401},
		{"garbage", "not.a.jwt", 401},
	}
	for _, tc := range cases {
		status, body := rawDo(t, s, "POST", path, "Bearer "+tc.jwt, "")
		if status != tc.status {
			t.Errorf("%s: status %d (%v), want %d", tc.name, status, body, tc.status)
			continue
		}
		if status == 201 {
			tok, _ := body["token"].(string)
			if !strings.HasPrefix(tok, "ghs_") || len(tok) != 40 {
				t.Errorf("%s: token %q", tc.name, tok)
			}
			exp, err := time.Parse(time.RFC3339, body["expires_at"].(string))
			if err != nil || exp.Sub(now) < 59*time.Minute || exp.Sub(now) > 61*time.Minute {
				t.Errorf("%s: expires_at %v", tc.name, body["expires_at"])
			}
			if body["permissions"] == nil || body["repository_selection"] != "selected" {
				t.Errorf("%s: body %v", tc.name, body)
			}
		} else if body["message"] == nil || body["documentation_url"] == nil {
			t.Errorf("%s: error body %v", tc.name, body)
		}
	}
	if status, body := rawDo(t, s, "POST", path, "Bearer "+signJWT(t, other, s.AppID(), now, now.Add(time.Minute)), ""); status != 401 || body["message"] != "A JSON web token could not be decoded" {
		t.Errorf("other key: %d %v", status, body)
	}
	// unknown installation
	if status, _ := rawDo(t, s, "POST", "app/installations/99/access_tokens", "Bearer "+s.MintJWT(time.Minute), ""); status != 404 {
		t.Errorf("unknown installation: %d", status)
	}
	// a JWT is not accepted on repository endpoints, nor is nothing
	if status, _ := rawDo(t, s, "GET", "repos/acme/web/pulls/1", "", ""); status != 401 {
		t.Errorf("no auth: %d", status)
	}
	if status, _ := rawDo(t, s, "GET", "repos/acme/web/pulls/1", "token ghs_bogus", ""); status != 401 {
		t.Errorf("bogus token: %d", status)
	}
}

func TestInstallationScopeAndExpiry(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	s.AddRepo("other/site", "main")
	s.AddInstallation(8, "other/site")
	c8 := newClient(t, s, 8)
	if _, _, err := c8.Repositories.Get(ctx, "acme", "web"); statusOf(err) != 404 {
		t.Fatalf("other installation's token on acme/web: %v", err)
	}
	if _, _, err := c8.Repositories.Get(ctx, "other", "site"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Repositories.Get(ctx, "acme", "web"); err != nil {
		t.Fatal(err)
	}
	s.ExpireTokens()
	// ghinstallation still believes its token valid: GitHub answers 401
	if _, _, err := c.Repositories.Get(ctx, "acme", "web"); statusOf(err) != 401 {
		t.Fatalf("expired token: %v", err)
	}
	// a fresh client gets a fresh token
	if _, _, err := newClient(t, s, 7).Repositories.Get(ctx, "acme", "web"); err != nil {
		t.Fatal(err)
	}
	// short-lived tokens: ghinstallation refreshes when < 1 minute is left
	s2 := New(WithTokenTTL(30 * time.Second))
	defer s2.Close()
	s2.AddRepo("acme/web", "main")
	s2.AddInstallation(1, "acme/web")
	c2 := newClient(t, s2, 1)
	for i := 0; i < 3; i++ {
		if _, _, err := c2.Repositories.Get(ctx, "acme", "web"); err != nil {
			t.Fatal(err)
		}
	}
	if n := s2.CallCount(RouteAccessToken); n != 3 {
		t.Fatalf("short-lived token exchanges = %d, want 3", n)
	}
	// rate-limit headers
	_, resp, err := c2.Repositories.Get(ctx, "acme", "web")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Rate.Limit != 5000 || resp.Rate.Remaining >= 5000 || resp.Header.Get("X-RateLimit-Resource") != "core" {
		t.Fatalf("rate %+v", resp.Rate)
	}
}

func TestPullRequestFilesPaginationAndCompare(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	files := map[string]*string{}
	for i := 0; i < 250; i++ {
		files[fmt.Sprintf("f/%03d.txt", i)] = ptr(fmt.Sprintf("line %d\n", i))
	}
	s.Commit("acme/web", "feature", files, "many files")
	head := s.Commit("acme/web", "feature", map[string]*string{".tinyforge.yml": ptr("version: 1\n"), "README.md": nil}, "config")
	base := s.Commit("acme/web", "main", map[string]*string{"other.txt": ptr("x\n")}, "main moves")
	n := s.OpenPR("acme/web", "feature", "main")

	pr, _, err := c.PullRequests.Get(ctx, "acme", "web", n)
	if err != nil {
		t.Fatal(err)
	}
	if pr.GetHead().GetSHA() != head || pr.GetBase().GetSHA() != base || pr.GetChangedFiles() != 252 || pr.GetBase().GetRepo().GetFullName() != "acme/web" {
		t.Fatalf("pr head %s base %s files %d", pr.GetHead().GetSHA(), pr.GetBase().GetSHA(), pr.GetChangedFiles())
	}
	var all []*github.CommitFile
	opt := &github.ListOptions{PerPage: 100}
	pages := 0
	for {
		fs, resp, err := c.PullRequests.ListFiles(ctx, "acme", "web", n, opt)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if pages == 1 && resp.LastPage != 3 {
			t.Fatalf("last page %d (Link %q)", resp.LastPage, resp.Header.Get("Link"))
		}
		all = append(all, fs...)
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	if pages != 3 || len(all) != 252 {
		t.Fatalf("pages %d files %d", pages, len(all))
	}
	byName := map[string]*github.CommitFile{}
	for _, f := range all {
		byName[f.GetFilename()] = f
	}
	if byName[".tinyforge.yml"].GetStatus() != "added" || byName["README.md"].GetStatus() != "removed" || byName["other.txt"] != nil {
		t.Fatalf("statuses: %v %v", byName[".tinyforge.yml"], byName["README.md"])
	}
	_, blob, _ := s.File("acme/web", head, ".tinyforge.yml")
	if byName[".tinyforge.yml"].GetSHA() != blob || byName[".tinyforge.yml"].GetAdditions() != 1 {
		t.Fatalf("file entry %v", byName[".tinyforge.yml"])
	}

	cmp, _, err := c.Repositories.CompareCommits(ctx, "acme", "web", "main", "feature", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.GetStatus() != "diverged" || cmp.GetAheadBy() != 2 || cmp.GetBehindBy() != 1 || len(cmp.Commits) != 2 || cmp.Commits[1].GetSHA() != head {
		t.Fatalf("compare: %s ahead %d behind %d commits %d", cmp.GetStatus(), cmp.GetAheadBy(), cmp.GetBehindBy(), len(cmp.Commits))
	}
	if len(cmp.Files) != 252 {
		t.Fatalf("compare files %d", len(cmp.Files))
	}
	cmp, _, err = c.Repositories.CompareCommits(ctx, "acme", "web", s.Repo("acme/web").InitialSHA, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.GetStatus() != "ahead" || cmp.GetAheadBy() != 1 || len(cmp.Files) != 1 || cmp.Files[0].GetFilename() != "other.txt" {
		t.Fatalf("compare sha: %s %d %v", cmp.GetStatus(), cmp.GetAheadBy(), cmp.Files)
	}
	if _, _, err := c.Repositories.CompareCommits(ctx, "acme", "web", "main", "nope", nil); statusOf(err) != 404 {
		t.Fatalf("compare unknown: %v", err)
	}
	if _, _, err := c.PullRequests.Get(ctx, "acme", "web", 99); statusOf(err) != 404 {
		t.Fatalf("missing PR: %v", err)
	}

	merge := s.MergePR("acme/web", n)
	if got := s.PR("acme/web", n); !got.Merged || got.MergeCommitSHA != merge || s.Head("acme/web", "main") != merge {
		t.Fatalf("merge %+v", got)
	}
	if _, _, ok := s.File("acme/web", "main", "other.txt"); !ok {
		t.Fatal("merge lost base change")
	}
	if _, _, ok := s.File("acme/web", "main", "README.md"); ok {
		t.Fatal("merge kept removed file")
	}
}

func TestForkPR(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	s.Fork("acme/web", "mallory/web")
	head := s.Commit("mallory/web", "patch", map[string]*string{".tinyforge.yml": ptr("version: 1\n")}, "fork change")
	n := s.OpenForkPR("acme/web", "mallory/web", "patch", "main")
	pr, _, err := c.PullRequests.Get(ctx, "acme", "web", n)
	if err != nil {
		t.Fatal(err)
	}
	if pr.GetHead().GetRepo().GetFullName() != "mallory/web" || pr.GetHead().GetSHA() != head || pr.GetBase().GetRepo().GetFullName() != "acme/web" {
		t.Fatalf("fork PR head %s %s", pr.GetHead().GetRepo().GetFullName(), pr.GetHead().GetSHA())
	}
	// the fork is not in the installation
	if _, _, _, err := c.Repositories.GetContents(ctx, "mallory", "web", ".tinyforge.yml", &github.RepositoryContentGetOptions{Ref: head}); statusOf(err) != 404 {
		t.Fatalf("fork contents without access: %v", err)
	}
	// the PR head commit is in the base repository's network (refs/pull/N/head)
	fc, _, _, err := c.Repositories.GetContents(ctx, "acme", "web", ".tinyforge.yml", &github.RepositoryContentGetOptions{Ref: head})
	if err != nil || fc == nil {
		t.Fatalf("head sha via base repo: %v", err)
	}
	fs, _, err := c.PullRequests.ListFiles(ctx, "acme", "web", n, nil)
	if err != nil || len(fs) != 1 || fs[0].GetFilename() != ".tinyforge.yml" {
		t.Fatalf("files %v %v", fs, err)
	}
}
