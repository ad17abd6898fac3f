package app

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestServeFromExampleConfig starts the real binary from docs/config.example.yml
// as an operator would, with the fakes' addresses and secret files given
// through the environment, and checks that /api/github/hook answers a signed
// ping, refuses an unsigned one, and runs a real check.
func TestServeFromExampleConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	e := newEnv(t, FakeEnvOptions{NoServer: true, Dir: dir})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)

	secretFile := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	port := freePort(t)
	e.URL = "http://127.0.0.1:" + strconv.Itoa(port)
	env := []string{
		"GITHUB_WEB_URL=" + e.GitHub.BaseURL(),
		"GITHUB_V3_API_URL=" + e.GitHub.URL(),
		"GITHUB_V4_API_URL=" + e.GitHub.URL() + "graphql",
		"GITHUB_APP_INTEGRATION_ID=" + strconv.FormatInt(e.GitHub.AppID(), 10),
		"GITHUB_APP_WEBHOOK_SECRET_FILE=" + secretFile("webhook-secret", e.WebhookSecret),
		"GITHUB_APP_PRIVATE_KEY_FILE=" + secretFile("app.pem", string(e.GitHub.PrivateKeyPEM())),
		"TINYFORGE_URL=" + e.Tinyforge.URL(),
		"TINYFORGE_TOKEN_FILE=" + secretFile("tinyforge-token", fakeTinyforgeToken),
		"TINYFORGE_BOT_STORE_DSN=" + filepath.Join(dir, "data", "bot.db"),
		"TINYFORGE_BOT_SERVER_ADDRESS=127.0.0.1",
		"TINYFORGE_BOT_SERVER_PORT=" + strconv.Itoa(port),
	}
	logPath := filepath.Join(dir, "serve.log")
	bot := startBinary(t, bin, logPath, e.URL, []string{"serve", "--config", "../docs/config.example.yml"}, env...)

	ping := map[string]any{"zen": "Keep it logically awesome.", "hook_id": 1, "hook": map[string]any{"type": "App", "id": 1, "events": []string{"push"}}}
	if status, err := e.SendAs("ping", "ping-1", ping, e.WebhookSecret); err != nil || status != 200 {
		t.Fatalf("signed ping: %d %v", status, err)
	}
	if status, err := e.SendAs("ping", "ping-2", ping, ""); err != nil || status != 400 {
		t.Fatalf("unsigned ping: %d %v, want 400", status, err)
	}

	pr, sha := openPR(e, "bump", portFile)
	if status, err := e.SendAs("pull_request", "pr-1", e.GitHub.PullRequestPayload("opened", testRepo, pr), e.WebhookSecret); err != nil || status != 200 {
		t.Fatalf("pull_request: %d %v", status, err)
	}
	if cr := waitCheck(t, e, "tinyforge/web", sha); cr.Conclusion != "neutral" {
		t.Errorf("check = %s", cr.Conclusion)
	}

	if err := bot.signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if state, err := bot.wait(); err != nil || !state.Success() {
		t.Errorf("after SIGTERM: %v %v", state, err)
	}
	logs, _ := os.ReadFile(logPath)
	for _, secret := range []string{e.WebhookSecret, fakeTinyforgeToken, "PRIVATE KEY"} {
		if bytes.Contains(logs, []byte(secret)) {
			t.Errorf("a secret appears in the log: %q", secret)
		}
	}
	// Every log line is JSON (logging.format: json in the example).
	for _, line := range strings.Split(strings.TrimSpace(string(logs)), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %s", line)
		}
	}
}

func TestServeRefusesToStartWithoutWebhookSecret(t *testing.T) {
	var out, errOut bytes.Buffer
	cfg := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(cfg, []byte("github: {app: {integration_id: 1}}\ntinyforge: {url: http://127.0.0.1:1, token: x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"serve", "--config", cfg}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	mustContain(t, "error", errOut.String(), "webhook_secret", "private_key")
}
