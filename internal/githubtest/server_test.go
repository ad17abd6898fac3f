package githubtest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

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
