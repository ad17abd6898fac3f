package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	keyOnce                   sync.Once
	pkcs1PEM, pkcs8PEM, ecPEM string
)

func keys(t *testing.T) (pkcs1, pkcs8, ec string) {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		pkcs1PEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
		b, _ := x509.MarshalPKCS8PrivateKey(k)
		pkcs8PEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: b}))
		e, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		b, _ = x509.MarshalPKCS8PrivateKey(e)
		ecPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: b}))
	})
	return pkcs1PEM, pkcs8PEM, ecPEM
}

// envMap turns a map into the env func Parse takes.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	hookSecret = "hook-s3cret-VALUE"
	forgeToken = "forge-t0ken-VALUE"
)

// minimal is the smallest valid file: only what has no default.
func minimal(t *testing.T) string {
	pk, _, _ := keys(t)
	return fmt.Sprintf(`github:
  app:
    integration_id: 42
    webhook_secret: %s
    private_key_file: %s
tinyforge:
  url: https://forge.example.com
  token: %s
`, hookSecret, writeFile(t, t.TempDir(), "app.pem", pk), forgeToken)
}

func mustParse(t *testing.T, yml string, env map[string]string) *Config {
	t.Helper()
	c, err := Parse([]byte(yml), envMap(env))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %T %v", err, err)
	}
	return ve.Problems
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, minimal(t), nil)
	pk, _, _ := keys(t)
	checks := []struct {
		name      string
		got, want any
	}{
		{"server.address", c.Server.Address, "0.0.0.0"},
		{"server.port", c.Server.Port, 8080},
		{"server.shutdown_grace", c.Server.ShutdownGrace, 25 * time.Second},
		{"Addr", c.Server.Addr(), "0.0.0.0:8080"},
		{"github.web_url", c.GitHub.WebURL, "https://github.com"},
		{"github.v3_api_url", c.GitHub.V3APIURL, "https://api.github.com/"},
		{"github.v4_api_url", c.GitHub.V4APIURL, "https://api.github.com/graphql"},
		{"github.app.integration_id", c.GitHub.App.IntegrationID, int64(42)},
		{"github.app.webhook_secret", c.GitHub.App.WebhookSecret, hookSecret},
		{"github.app.private_key", c.GitHub.App.PrivateKey, strings.TrimSpace(pk)},
		{"tinyforge.url", c.Tinyforge.URL, "https://forge.example.com"},
		{"tinyforge.token", string(c.Tinyforge.Token), forgeToken},
		{"tinyforge.timeout", c.Tinyforge.Timeout, 10 * time.Second},
		{"tinyforge.cache_ttl", c.Tinyforge.CacheTTL, 30 * time.Second},
		{"store.driver", c.Store.Driver, "sqlite"},
		{"store.dsn", c.Store.DSN, "./data/tinyforge-bot.db"},
		{"sync.permission", c.Sync.Permission, "admin"},
		{"sync.users", c.Sync.Users, []string{}},
		{"sync.teams", c.Sync.Teams, []string{}},
		{"inbox.workers", c.Inbox.Workers, 4},
		{"inbox.max_attempts", c.Inbox.MaxAttempts, 8},
		{"inbox.retry_base", c.Inbox.RetryBase, 2 * time.Second},
		{"logging.level", c.Logging.Level, "info"},
		{"logging.format", c.Logging.Format, "json"},
	}
	for _, tc := range checks {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
	// The defaults EnvVars documents are the ones applied.
	for _, v := range EnvVars() {
		if v.Default == "" {
			continue
		}
		for _, tc := range checks {
			if tc.name == v.Key && fmt.Sprint(tc.got) != v.Default {
				t.Errorf("EnvVars %s Default %q, applied %v", v.Key, v.Default, tc.got)
			}
		}
	}
}

func TestFileValuesAndV3Slash(t *testing.T) {
	yml := minimal(t) + `
server: { address: 127.0.0.1, port: 9000, shutdown_grace: 1m }
store: { driver: sqlite, dsn: /var/lib/bot.db }
sync: { permission: Write, users: [alice, bob], teams: [acme/platform] }
inbox: { workers: 2, max_attempts: 3, retry_base: 500ms }
logging: { level: DEBUG, format: text }
`
	yml = strings.Replace(yml, "github:\n", "github:\n  v3_api_url: https://ghe.example.com/api/v3\n  web_url: https://ghe.example.com/\n", 1)
	c := mustParse(t, yml, nil)
	if c.GitHub.V3APIURL != "https://ghe.example.com/api/v3/" || c.GitHub.WebURL != "https://ghe.example.com" {
		t.Errorf("urls: %q %q", c.GitHub.V3APIURL, c.GitHub.WebURL)
	}
	want := Sync{Permission: "write", Users: []string{"alice", "bob"}, Teams: []string{"acme/platform"}}
	if !reflect.DeepEqual(c.Sync, want) {
		t.Errorf("sync = %+v", c.Sync)
	}
	if c.Server.Addr() != "127.0.0.1:9000" || c.Server.ShutdownGrace != time.Minute {
		t.Errorf("server = %+v", c.Server)
	}
	if c.Inbox != (Inbox{2, 3, 500 * time.Millisecond}) || c.Logging != (Logging{"debug", "text"}) || c.Store.DSN != "/var/lib/bot.db" {
		t.Errorf("inbox %+v logging %+v store %+v", c.Inbox, c.Logging, c.Store)
	}
}

// TestEveryKeyHasEnvVar: the EnvVars table and the file format cover the same keys.
func TestEveryKeyHasEnvVar(t *testing.T) {
	var envKeys, names []string
	for _, v := range EnvVars() {
		envKeys = append(envKeys, v.Key)
		names = append(names, v.Name)
		if v.Description == "" {
			t.Errorf("%s: no description", v.Name)
		}
		if strings.HasSuffix(v.Key, "secret") || strings.HasSuffix(v.Key, "_file") || strings.HasSuffix(v.Key, "token") || strings.HasSuffix(v.Key, "private_key") {
			if !v.Secret {
				t.Errorf("%s should be marked Secret", v.Name)
			}
		}
	}
	if !reflect.DeepEqual(envKeys, yamlKeys()) {
		t.Errorf("EnvVars keys:\n%v\nYAML keys:\n%v", envKeys, yamlKeys())
	}
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		t.Errorf("duplicate env var names: %v", names)
	}
}

func TestEnvOverrides(t *testing.T) {
	pk, _, _ := keys(t)
	dir := t.TempDir()
	keyFile := writeFile(t, dir, "env.pem", pk)
	hookFile := writeFile(t, dir, "hook", "from-file-hook\n")
	tokFile := writeFile(t, dir, "tok", "from-file-token\r\n")
	oauthFile := writeFile(t, dir, "oauth", "from-file-oauth\n")

	type tc struct {
		value string
		get   func(*Config) any
		want  any
	}
	cases := map[string]tc{
		"TINYFORGE_BOT_SERVER_ADDRESS":        {"127.0.0.1", func(c *Config) any { return c.Server.Address }, "127.0.0.1"},
		"TINYFORGE_BOT_SERVER_PORT":           {"9191", func(c *Config) any { return c.Server.Port }, 9191},
		"TINYFORGE_BOT_SERVER_SHUTDOWN_GRACE": {"3s", func(c *Config) any { return c.Server.ShutdownGrace }, 3 * time.Second},
		"GITHUB_WEB_URL":                      {"https://ghe.local", func(c *Config) any { return c.GitHub.WebURL }, "https://ghe.local"},
		"GITHUB_V3_API_URL":                   {"http://127.0.0.1:1234", func(c *Config) any { return c.GitHub.V3APIURL }, "http://127.0.0.1:1234/"},
		"GITHUB_V4_API_URL":                   {"https://ghe.local/api/graphql", func(c *Config) any { return c.GitHub.V4APIURL }, "https://ghe.local/api/graphql"},
		"GITHUB_APP_INTEGRATION_ID":           {"777", func(c *Config) any { return c.GitHub.App.IntegrationID }, int64(777)},
		"GITHUB_APP_WEBHOOK_SECRET":           {"env-hook", func(c *Config) any { return c.GitHub.App.WebhookSecret }, "env-hook"},
		"GITHUB_APP_WEBHOOK_SECRET_FILE":      {hookFile, func(c *Config) any { return c.GitHub.App.WebhookSecret }, "from-file-hook"},
		// literal \n as in a one-line environment variable
		"GITHUB_APP_PRIVATE_KEY":            {strings.ReplaceAll(pk, "\n", `\n`), func(c *Config) any { return c.GitHub.App.PrivateKey }, strings.TrimSpace(pk)},
		"GITHUB_APP_PRIVATE_KEY_FILE":       {keyFile, func(c *Config) any { return c.GitHub.App.PrivateKey }, strings.TrimSpace(pk)},
		"GITHUB_OAUTH_CLIENT_ID":            {"cid", func(c *Config) any { return c.GitHub.OAuth.ClientID }, "cid"},
		"GITHUB_OAUTH_CLIENT_SECRET":        {"csecret", func(c *Config) any { return c.GitHub.OAuth.ClientSecret }, "csecret"},
		"GITHUB_OAUTH_CLIENT_SECRET_FILE":   {oauthFile, func(c *Config) any { return c.GitHub.OAuth.ClientSecret }, "from-file-oauth"},
		"TINYFORGE_URL":                     {"http://127.0.0.1:8000", func(c *Config) any { return c.Tinyforge.URL }, "http://127.0.0.1:8000"},
		"TINYFORGE_TOKEN":                   {"env-token", func(c *Config) any { return string(c.Tinyforge.Token) }, "env-token"},
		"TINYFORGE_TOKEN_FILE":              {tokFile, func(c *Config) any { return string(c.Tinyforge.Token) }, "from-file-token"},
		"TINYFORGE_TIMEOUT":                 {"1m", func(c *Config) any { return c.Tinyforge.Timeout }, time.Minute},
		"TINYFORGE_BOT_TINYFORGE_CACHE_TTL": {"5s", func(c *Config) any { return c.Tinyforge.CacheTTL }, 5 * time.Second},
		"TINYFORGE_BOT_STORE_DRIVER":        {"sqlite", func(c *Config) any { return c.Store.Driver }, "sqlite"},
		"TINYFORGE_BOT_STORE_DSN":           {"/tmp/x.db", func(c *Config) any { return c.Store.DSN }, "/tmp/x.db"},
		"TINYFORGE_BOT_SYNC_PERMISSION":     {"maintain", func(c *Config) any { return c.Sync.Permission }, "maintain"},
		"TINYFORGE_BOT_SYNC_USERS":          {"alice, bob,,", func(c *Config) any { return c.Sync.Users }, []string{"alice", "bob"}},
		"TINYFORGE_BOT_SYNC_TEAMS":          {"acme/ops,acme/dev", func(c *Config) any { return c.Sync.Teams }, []string{"acme/ops", "acme/dev"}},
		"TINYFORGE_BOT_INBOX_WORKERS":       {"16", func(c *Config) any { return c.Inbox.Workers }, 16},
		"TINYFORGE_BOT_INBOX_MAX_ATTEMPTS":  {"2", func(c *Config) any { return c.Inbox.MaxAttempts }, 2},
		"TINYFORGE_BOT_INBOX_RETRY_BASE":    {"250ms", func(c *Config) any { return c.Inbox.RetryBase }, 250 * time.Millisecond},
		"TINYFORGE_BOT_LOGGING_LEVEL":       {"trace", func(c *Config) any { return c.Logging.Level }, "trace"},
		"TINYFORGE_BOT_LOGGING_FORMAT":      {"text", func(c *Config) any { return c.Logging.Format }, "text"},
	}
	// The file sets every overridable key (secrets both ways are set by env
	// over the opposite form in the file: the environment wins).
	base := minimal(t) + `
server: { address: 10.0.0.1, port: 1, shutdown_grace: 1s }
store: { dsn: file.db }
sync: { permission: read, users: [carol], teams: [x/y] }
inbox: { workers: 1, max_attempts: 1, retry_base: 1s }
logging: { level: error, format: json }
`
	base = strings.Replace(base, "  url: https://forge.example.com\n", "  url: https://other.example.com\n  timeout: 2s\n  cache_ttl: 2s\n", 1)
	base = strings.Replace(base, "github:\n", "github:\n  oauth: { client_id: x, client_secret: y }\n", 1)
	for _, v := range EnvVars() {
		c, ok := cases[v.Name]
		if !ok {
			t.Errorf("no test case for %s", v.Name)
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			cfg := mustParse(t, base, map[string]string{v.Name: c.value})
			if got := c.get(cfg); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s=%q: %s = %#v, want %#v", v.Name, c.value, v.Key, got, c.want)
			}
		})
	}
	if len(cases) != len(EnvVars()) {
		t.Errorf("%d cases for %d env vars", len(cases), len(EnvVars()))
	}
}

func TestEnvBadValues(t *testing.T) {
	for _, name := range []string{"TINYFORGE_BOT_SERVER_PORT", "GITHUB_APP_INTEGRATION_ID", "TINYFORGE_TIMEOUT", "TINYFORGE_BOT_INBOX_RETRY_BASE"} {
		_, err := Parse([]byte(minimal(t)), envMap(map[string]string{name: "bogus-VALUE"}))
		if err == nil || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "bogus-VALUE") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSecretFiles(t *testing.T) {
	pk, pk8, _ := keys(t)
	dir := t.TempDir()
	keyFile := writeFile(t, dir, "app.pem", "\n\n"+pk+"\n\n")
	key8File := writeFile(t, dir, "app8.pem", pk8)
	hookFile := writeFile(t, dir, "hook", " spaced secret \n")
	tokFile := writeFile(t, dir, "token", "tok\r\n")
	emptyFile := writeFile(t, dir, "empty", "\n")
	missing := filepath.Join(dir, "missing")

	doc := func(app, forge string) string {
		return "github:\n  app:\n    integration_id: 1\n" + app + "tinyforge:\n  url: http://forge\n" + forge
	}
	cases := []struct {
		name       string
		app, forge string
		env        map[string]string
		wantErr    []string // "key: fragment"
		check      func(t *testing.T, c *Config)
	}{
		{name: "files resolved",
			app:   fmt.Sprintf("    webhook_secret_file: %s\n    private_key_file: %s\n", hookFile, keyFile),
			forge: "  token_file: " + tokFile + "\n",
			check: func(t *testing.T, c *Config) {
				if c.GitHub.App.WebhookSecret != " spaced secret " {
					t.Errorf("webhook secret %q: only the trailing newline goes", c.GitHub.App.WebhookSecret)
				}
				if c.GitHub.App.PrivateKey != strings.TrimSpace(pk) {
					t.Error("PEM not trimmed of surrounding whitespace")
				}
				if c.Tinyforge.Token != "tok" || c.Tinyforge.TokenFile != tokFile {
					t.Errorf("token %q file %q", string(c.Tinyforge.Token), c.Tinyforge.TokenFile)
				}
			}},
		{name: "pkcs8 key",
			app:   fmt.Sprintf("    webhook_secret: x\n    private_key_file: %s\n", key8File),
			forge: "  token: t\n"},
		{name: "both inline and file",
			app:     fmt.Sprintf("    webhook_secret: x\n    webhook_secret_file: %s\n    private_key: y\n    private_key_file: %s\n", hookFile, keyFile),
			forge:   "  token: t\n  token_file: " + tokFile + "\n",
			wantErr: []string{"github.app.webhook_secret: set only one of webhook_secret and webhook_secret_file", "github.app.private_key: set only one", "tinyforge.token: set only one"}},
		{name: "both from env",
			app: fmt.Sprintf("    private_key_file: %s\n", keyFile), forge: "  token: t\n",
			env:     map[string]string{"GITHUB_APP_WEBHOOK_SECRET": "a", "GITHUB_APP_WEBHOOK_SECRET_FILE": hookFile},
			wantErr: []string{"github.app.webhook_secret: set only one"}},
		{name: "env inline beats file's _file",
			app: fmt.Sprintf("    webhook_secret_file: %s\n    private_key_file: %s\n", missing, keyFile), forge: "  token_file: " + missing + "\n",
			env: map[string]string{"GITHUB_APP_WEBHOOK_SECRET": "envhook", "TINYFORGE_TOKEN": "envtok"},
			check: func(t *testing.T, c *Config) {
				if c.GitHub.App.WebhookSecret != "envhook" || c.Tinyforge.Token != "envtok" || c.Tinyforge.TokenFile != "" {
					t.Errorf("env did not win: %v", c)
				}
			}},
		{name: "missing and empty files",
			app:   fmt.Sprintf("    webhook_secret_file: %s\n    private_key_file: %s\n", emptyFile, missing),
			forge: "  token_file: " + dir + "\n",
			wantErr: []string{"github.app.webhook_secret_file: " + emptyFile + " is empty",
				"github.app.private_key_file: cannot read " + missing + ": no such file",
				"tinyforge.token_file: cannot read " + dir}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(doc(tc.app, tc.forge)), envMap(tc.env))
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if tc.check != nil {
					tc.check(t, c)
				}
				return
			}
			if err == nil {
				t.Fatal("want error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			// A file problem is not also reported as "required".
			if strings.Contains(err.Error(), "required") {
				t.Errorf("spurious required:\n%v", err)
			}
		})
	}
}

func TestPrivateKeyChecked(t *testing.T) {
	_, _, ec := keys(t)
	dir := t.TempDir()
	cases := map[string]string{
		"not pem":     "-----BEGIN NOTHING\nhello PRIVATEKEYMATERIAL",
		"garbage der": "-----BEGIN RSA PRIVATE KEY-----\nUFJJVkFURUtFWU1BVEVSSUFM\n-----END RSA PRIVATE KEY-----\n",
		"ec key":      ec,
	}
	for name, key := range cases {
		t.Run(name, func(t *testing.T) {
			yml := strings.Replace(minimal(t), "private_key_file: ", "private_key_file: "+writeFile(t, dir, strings.ReplaceAll(name, " ", "_"), key)+" #", 1)
			_, err := Parse([]byte(yml), nil)
			ps := problemsOf(t, err)
			if len(ps) != 1 || ps[0].Key != "github.app.private_key_file" {
				t.Fatalf("problems: %v", err)
			}
			if strings.Contains(err.Error(), "PRIVATEKEYMATERIAL") || strings.Contains(err.Error(), "UFJJ") || strings.Contains(err.Error(), strings.Split(ec, "\n")[1]) {
				t.Errorf("key material in error: %v", err)
			}
		})
	}
}

// TestEveryProblemAtOnce: one error, one line per problem, each named.
func TestEveryProblemAtOnce(t *testing.T) {
	yml := `
server: { port: 70000, shutdown_grace: -1s }
github:
  v4_api_url: "ftp://x"
  app: { integration_id: -3, private_key: "not a key SECRETKEY" }
tinyforge: { url: "forge.example.com", timeout: -1s, cache_ttl: -2s }
store: { driver: postgres }
sync: { permission: owner, users: ["a b"], teams: [acme, acme/x/y, /slug] }
inbox: { workers: -1, max_attempts: -1, retry_base: -1s }
logging: { level: verbose, format: xml }
`
	_, err := Parse([]byte(yml), nil)
	ps := problemsOf(t, err)
	want := []string{
		"server.port: must be between 1 and 65535",
		"server.shutdown_grace: must not be negative",
		"github.v4_api_url: must be an absolute http",
		"github.app.integration_id: required",
		"github.app.webhook_secret: required (refusing to start without webhook verification)",
		"github.app.private_key: not a PEM-encoded private key",
		"tinyforge.url: must be an absolute http",
		"tinyforge.token: required",
		"tinyforge.timeout: must not be negative",
		"tinyforge.cache_ttl: must not be negative",
		"store.driver: unknown driver \"postgres\"",
		"sync.permission: must be one of admin|maintain|write|triage|read",
		"sync.users: entry 1",
		"sync.teams: entry 1 (\"acme\") must be org/slug",
		"sync.teams: entry 2",
		"sync.teams: entry 3",
		"inbox.workers: must be positive",
		"inbox.max_attempts: must be positive",
		"inbox.retry_base: must not be negative",
		"logging.level: must be one of trace|debug|info|warn|error",
		"logging.format: must be one of json|text",
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want)+1 || len(ps) != len(want) {
		t.Errorf("want %d problems, got %d:\n%v", len(want), len(ps), err)
	}
	for i, w := range want {
		if i+1 >= len(lines) || !strings.Contains(lines[i+1], w) {
			t.Errorf("line %d: want %q\n%v", i+1, w, err)
		}
	}
	if strings.Contains(err.Error(), "SECRETKEY") {
		t.Error("secret in error")
	}
	// Missing required URL is "required".
	_, err = Parse([]byte(""), nil)
	if !strings.Contains(err.Error(), "tinyforge.url: required") || !strings.Contains(err.Error(), "github.app.private_key: required") {
		t.Errorf("empty file: %v", err)
	}
}

func TestUnknownKeysAndTypes(t *testing.T) {
	cases := []struct {
		name, yml string
		want      []string
	}{
		{"unknown top", "serverr:\n  port: 1\n", []string{"serverr: unknown key (line 1)"}},
		{"unknown nested", "server:\n  address: x\n  prot: 80\ngithub:\n  app:\n    private_key_path: /x\n",
			[]string{"server.prot: unknown key (line 3)", "github.app.private_key_path: unknown key (line 6)"}},
		{"flow", "logging: { level: info, colour: true }\n", []string{"logging.colour: unknown key (line 1)"}},
		{"bad int", "server:\n  port: eighty\n", []string{"server.port: expected an integer (line 2)"}},
		{"int duration", "tinyforge:\n  timeout: 10\n", []string{"tinyforge.timeout: expected a duration such as 10s or 1m30s (line 2)"}},
		{"list not scalar", "sync:\n  users: alice\n", []string{"sync.users: expected a list of strings (line 2)"}},
		{"secret mistyped", "github:\n  app:\n    webhook_secret: [SECRETA, SECRETB]\n    integration_id: SECRETC\n",
			[]string{"github.app.webhook_secret: expected a string (line 3)", "github.app.integration_id: expected an integer (line 4)"}},
		{"section scalar", "store: sqlite\n", []string{"store: expected a mapping (line 1)"}},
		{"not a mapping", "- a\n- b\n", []string{"expected a mapping (line 1)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yml), nil)
			problemsOf(t, err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), "\n  "+w) {
					t.Errorf("want %q in:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "config.") {
				t.Errorf("leaks value or Go type: %v", err)
			}
		})
	}
	// Syntax errors stop at once.
	if _, err := Parse([]byte("server: [\n"), nil); err == nil || !strings.Contains(err.Error(), "invalid YAML") {
		t.Errorf("syntax: %v", err)
	}
}

// TestNoSecretLeaks: neither errors nor any rendering of Config shows a secret.
func TestNoSecretLeaks(t *testing.T) {
	pk, _, _ := keys(t)
	c := mustParse(t, minimal(t)+"\n", map[string]string{
		"GITHUB_OAUTH_CLIENT_SECRET": "oauth-SECRET-value",
	})
	pemBody := strings.Split(pk, "\n")[1]
	secrets := []string{hookSecret, forgeToken, pemBody, "oauth-SECRET-value", "urlpass-SECRET"}
	jsonBytes, _ := json.Marshal(c.Tinyforge)
	renders := map[string]string{
		"%v":            fmt.Sprintf("%v", c),
		"%+v":           fmt.Sprintf("%+v", c),
		"%#v":           fmt.Sprintf("%#v", c),
		"%s":            fmt.Sprintf("%s", c),
		"%q":            fmt.Sprintf("%q", c),
		"value %+v":     fmt.Sprintf("%+v", *c),
		"String":        c.String(),
		"tinyforge %+v": fmt.Sprintf("%+v", c.Tinyforge),
		"token %x":      fmt.Sprintf("%x", c.Tinyforge.Token),
		"token %#v":     fmt.Sprintf("%#v", c.Tinyforge.Token),
		"json":          string(jsonBytes),
		"slice %v":      fmt.Sprint([]*Config{c}),
	}
	for name, s := range renders {
		for _, sec := range secrets {
			if strings.Contains(s, sec) {
				t.Errorf("%s shows %q: %s", name, sec, s)
			}
		}
	}
	if !strings.Contains(c.String(), "webhook_secret=[redacted]") || !strings.Contains(c.String(), "port=8080") {
		t.Errorf("String: %s", c)
	}

	// Errors: secrets in every position where a problem is reported nearby.
	bad := []struct {
		yml string
		env map[string]string
	}{
		{"github:\n  app: { webhook_secret: " + hookSecret + ", private_key: " + pemBody + ", integration_id: 0 }\ntinyforge: { token: " + forgeToken + ", token_file: /nope, url: 'https://u:urlpass-SECRET@forge' }\n", nil},
		{"", map[string]string{"GITHUB_APP_WEBHOOK_SECRET": hookSecret, "GITHUB_APP_WEBHOOK_SECRET_FILE": "/x", "GITHUB_APP_PRIVATE_KEY": pemBody, "TINYFORGE_TOKEN": forgeToken, "TINYFORGE_URL": "ftp://urlpass-SECRET"}},
		{"server: { port: " + forgeToken + " }\nlogging: { level: " + hookSecret + "x }\n", nil},
	}
	for i, b := range bad {
		_, err := Parse([]byte(b.yml), envMap(b.env))
		if err == nil {
			t.Fatalf("case %d: want error", i)
		}
		for _, sec := range secrets[:3] {
			if sec == hookSecret && i == 2 {
				continue // a log level is not a secret: it is echoed
			}
			if strings.Contains(err.Error(), sec) {
				t.Errorf("case %d: error shows %q:\n%v", i, sec, err)
			}
		}
		if i == 0 && !strings.Contains(err.Error(), "tinyforge.url: must not contain credentials") {
			t.Errorf("URL with credentials accepted:\n%v", err)
		}
		if strings.Contains(err.Error(), "urlpass-SECRET") {
			t.Errorf("case %d: error shows URL password:\n%v", i, err)
		}
	}
}

// TestExampleConfig: docs/config.example.yml is complete and valid once its
// /run/secrets files exist.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile("../docs/config.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	pk, _, _ := keys(t)
	dir := t.TempDir()
	refs := regexp.MustCompile(`(?m)^\s*[a-z_]+_file: /run/secrets/(\S+)`).FindAllSubmatch(data, -1)
	if len(refs) != 3 {
		t.Fatalf("want 3 active *_file secrets, got %d", len(refs))
	}
	for _, m := range refs {
		content := "example-secret\n"
		if strings.HasSuffix(string(m[1]), ".pem") {
			content = pk
		}
		writeFile(t, dir, string(m[1]), content)
	}
	path := writeFile(t, dir, "config.yml", strings.ReplaceAll(string(data), "/run/secrets/", dir+"/"))
	c, err := Load(path, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.GitHub.App.IntegrationID != 12345 || c.Tinyforge.Token != "example-secret" || c.GitHub.App.WebhookSecret != "example-secret" {
		t.Errorf("loaded %v", c)
	}
	// Every key and its environment variable are documented in the example.
	text := string(data)
	for _, v := range EnvVars() {
		leaf := v.Key[strings.LastIndex(v.Key, ".")+1:]
		if !regexp.MustCompile(`(?m)^[ #]*` + leaf + `:.*` + v.Name + `\b`).MatchString(text) {
			t.Errorf("example lacks %s with %s", v.Key, v.Name)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "none.yml"), nil); err == nil {
		t.Error("missing file accepted")
	}
	p := writeFile(t, t.TempDir(), "c.yml", "server: { port: 0.5 }\n")
	_, err := Load(p, envMap(nil))
	if err == nil || !strings.HasPrefix(err.Error(), "config "+p+": invalid configuration") {
		t.Errorf("got %v", err)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Error("not a *ValidationError")
	}
}
