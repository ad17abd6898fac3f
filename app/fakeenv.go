package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge-bot/config"
	"github.com/tinyforge/tinyforge-bot/internal/githubtest"
	"github.com/tinyforge/tinyforge-bot/tinyforge"
	"github.com/tinyforge/tinyforge-bot/tinyforge/tinyforgetest"
)

// FakeEnv is the bot's whole world on this machine: a fake GitHub and a fake
// Tinyforge behind real sockets, and the real server (config, store, inbox,
// handlers) listening on a loopback port. The demo, the end-to-end tests and
// the load tool all run on it.
type FakeEnv struct {
	GitHub    *githubtest.Server
	Tinyforge *tinyforgetest.Server
	Server    *Server
	Config    *config.Config
	// ConfigYAML is the config file the bot was built from (secrets inline:
	// for tests and the demo only).
	ConfigYAML string
	// URL is the bot's base URL (http://127.0.0.1:PORT).
	URL           string
	WebhookSecret string
	Installation  int64
	Dir           string

	cancel   context.CancelFunc
	done     chan error
	delivery atomic.Int64
	ownDir   bool
}

// FakeEnvOptions shape a FakeEnv. Zero values are sensible defaults.
type FakeEnvOptions struct {
	Dir       string    // store directory; default a new temporary directory
	LogOutput io.Writer // default: discard
	LogLevel  string    // default "info"
	// ConfigYAML is extra YAML appended to the generated config (e.g. a sync block).
	ConfigYAML string
	Workers    int
	// NoServer leaves the bot unstarted (tests that run the real binary).
	NoServer bool
}

// Tinyforge tokens of the fake: the bot's is an admin token.
const fakeTinyforgeToken = "tf-admin-token-for-tests-only"

// NewFakeEnv starts the fakes and the bot.
func NewFakeEnv(opts FakeEnvOptions) (*FakeEnv, error) {
	e := &FakeEnv{Installation: 1, Dir: opts.Dir}
	if e.Dir == "" {
		dir, err := os.MkdirTemp("", "tinyforge-bot-")
		if err != nil {
			return nil, err
		}
		e.Dir, e.ownDir = dir, true
	}
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	e.WebhookSecret = hex.EncodeToString(secret)

	e.GitHub = githubtest.New()
	e.Tinyforge = tinyforgetest.New(
		tinyforgetest.WithToken(fakeTinyforgeToken, true),
		tinyforgetest.WithFileSource(tinyforgetest.FileSourceFunc(e.fetchFromGitHub)),
	)

	var yaml strings.Builder
	fmt.Fprintf(&yaml, "server: {address: 127.0.0.1, port: 8080, shutdown_grace: 5s}\n")
	fmt.Fprintf(&yaml, "github:\n  web_url: %q\n  v3_api_url: %q\n  v4_api_url: %q\n  app:\n    integration_id: %d\n    webhook_secret: %q\n    private_key: |\n",
		e.GitHub.BaseURL(), e.GitHub.URL(), e.GitHub.URL()+"graphql", e.GitHub.AppID(), e.WebhookSecret)
	for _, line := range strings.Split(strings.TrimSpace(string(e.GitHub.PrivateKeyPEM())), "\n") {
		fmt.Fprintf(&yaml, "      %s\n", line)
	}
	fmt.Fprintf(&yaml, "tinyforge: {url: %q, token: %q, timeout: 5s, cache_ttl: 30s}\n", e.Tinyforge.URL(), fakeTinyforgeToken)
	fmt.Fprintf(&yaml, "store: {driver: sqlite, dsn: %q}\n", filepath.Join(e.Dir, "tinyforge-bot.db"))
	level := opts.LogLevel
	if level == "" {
		level = "info"
	}
	fmt.Fprintf(&yaml, "logging: {level: %s, format: json}\n", level)
	if opts.Workers > 0 {
		fmt.Fprintf(&yaml, "inbox: {workers: %d}\n", opts.Workers)
	}
	yaml.WriteString(opts.ConfigYAML)
	cfg, err := config.Parse([]byte(yaml.String()), func(string) string { return "" })
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("fake env config: %w", err)
	}
	e.Config, e.ConfigYAML = cfg, yaml.String()
	if opts.NoServer {
		return e, nil
	}
	out := opts.LogOutput
	if out == nil {
		out = io.Discard
	}
	if err := e.StartBot(zerolog.New(out).Level(mustLevel(level)).With().Timestamp().Logger()); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func mustLevel(s string) zerolog.Level {
	l, err := zerolog.ParseLevel(s)
	if err != nil {
		return zerolog.InfoLevel
	}
	return l
}

// StartBot starts the real server on a loopback port.
func (e *FakeEnv) StartBot(logger zerolog.Logger) error {
	srv, err := NewServer(context.Background(), e.Config, logger)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.Server, e.URL, e.cancel, e.done = srv, "http://"+l.Addr().String(), cancel, make(chan error, 1)
	go func() { e.done <- srv.Serve(ctx, l) }()
	return nil
}

// StopBot stops the server gracefully and closes its store.
func (e *FakeEnv) StopBot() error {
	if e.Server == nil {
		return nil
	}
	e.cancel()
	err := <-e.done
	err = errors.Join(err, e.Server.Close())
	e.Server = nil
	return err
}

// Close stops everything and removes the temporary directory.
func (e *FakeEnv) Close() {
	_ = e.StopBot()
	if e.Tinyforge != nil {
		e.Tinyforge.Close()
	}
	if e.GitHub != nil {
		e.GitHub.Close()
	}
	if e.ownDir {
		os.RemoveAll(e.Dir)
	}
}

// fetchFromGitHub is how the fake Tinyforge reads .tinyforge.yml: from the
// fake GitHub's branch head, answering with the commit it read, as the real
// Tinyforge does with its repo token.
func (e *FakeEnv) fetchFromGitHub(_ context.Context, repoURL, branch, path string) ([]byte, string, error) {
	repo, ok := tinyforge.NormalizeRepoURL(repoURL)
	if !ok {
		return nil, "", fmt.Errorf("not a repository URL")
	}
	sha := e.GitHub.Head(repo, branch)
	if sha == "" {
		return nil, "", fmt.Errorf("branch %s not found", branch)
	}
	content, _, found := e.GitHub.File(repo, sha, path)
	if !found {
		return nil, sha, tinyforgetest.ErrFileNotFound
	}
	return content, sha, nil
}

// AddRepo creates a repository in the installation with .tinyforge.yml on
// its default branch, and a dockerfile workload tracking it in Tinyforge.
func (e *FakeEnv) AddRepo(fullName, workload, file string, live map[string]any) tinyforge.ID {
	e.GitHub.AddRepo(fullName, "main")
	e.GitHub.AddInstallation(e.Installation, fullName)
	if file != "" {
		e.GitHub.Commit(fullName, "main", map[string]*string{".tinyforge.yml": &file}, "Add .tinyforge.yml")
	}
	cfg := map[string]any{"repo_url": "https://github.com/" + fullName + ".git", "branch": "main"}
	for k, v := range live {
		cfg[k] = v
	}
	return e.Tinyforge.AddWorkload(tinyforge.Workload{Name: workload, Source: "dockerfile", SourceConfig: cfg, GitOpsEnabled: true, GitOpsPath: ".tinyforge.yml"})
}

// Send posts a signed webhook to the bot and returns the HTTP status.
func (e *FakeEnv) Send(event string, payload any) (int, string, error) {
	id := fmt.Sprintf("delivery-%d", e.delivery.Add(1))
	status, err := e.SendAs(event, id, payload, e.WebhookSecret)
	return status, id, err
}

// SendAs posts a webhook with a chosen delivery ID and secret ("" = unsigned).
func (e *FakeEnv) SendAs(event, deliveryID string, payload any, secret string) (int, error) {
	req, err := githubtest.SignedRequest(e.URL+"/api/github/hook", secret, event, deliveryID, payload)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// WaitFor polls cond until it holds or timeout passes.
func WaitFor(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// CompletedCheck returns the newest completed check run with name on sha.
func (e *FakeEnv) CompletedCheck(repo, name, sha string) (githubtest.CheckRun, bool) {
	var found githubtest.CheckRun
	ok := false
	for _, cr := range e.GitHub.CheckRuns(repo) {
		if cr.Name == name && cr.HeadSHA == sha && cr.Status == "completed" && (!ok || cr.ID > found.ID) {
			found, ok = cr, true
		}
	}
	return found, ok
}

// Idle reports whether the inbox has nothing pending.
func (e *FakeEnv) Idle() bool {
	st, err := e.Server.Store().InboxStats(context.Background())
	return err == nil && st.Pending == 0
}

// Scrape fetches /metrics.
func (e *FakeEnv) Scrape() (string, error) {
	resp, err := http.Get(e.URL + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = io.Copy(&b, resp.Body)
	return b.String(), err
}
