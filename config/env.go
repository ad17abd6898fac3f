package config

import (
	"strconv"
	"strings"
	"time"
)

// EnvVar documents one environment override.
type EnvVar struct {
	Name        string // environment variable, e.g. "TINYFORGE_BOT_SERVER_PORT"
	Key         string // YAML key it overrides, e.g. "server.port"
	Description string
	Default     string // "" when there is none
	Secret      bool   // the value (or the file it names) is a secret
}

type envBinding struct {
	EnvVar
	set func(d *document, v string) error
	// sibling is the other half of a secret pair (inline ↔ *_file): setting
	// one from the environment drops the file's value of the other, so an
	// environment override always wins over the file.
	sibling func(d *document) any
}

// EnvVars lists every environment override, one per YAML key, in file order.
// go-githubapp's GITHUB_* names are used for the github block.
func EnvVars() []EnvVar {
	out := make([]EnvVar, len(bindings))
	for i, b := range bindings {
		out[i] = b.EnvVar
	}
	return out
}

func str(f func(d *document) *string) func(*document, string) error {
	return func(d *document, v string) error { *f(d) = v; return nil }
}

func secret(f func(d *document) *Secret) func(*document, string) error {
	return func(d *document, v string) error { *f(d) = Secret(v); return nil }
}

func integer(f func(d *document) *int) func(*document, string) error {
	return func(d *document, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return errNotInteger
		}
		*f(d) = n
		return nil
	}
}

func duration(f func(d *document) *time.Duration) func(*document, string) error {
	return func(d *document, v string) error {
		n, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return errNotDuration
		}
		*f(d) = n
		return nil
	}
}

func list(f func(d *document) *[]string) func(*document, string) error {
	return func(d *document, v string) error {
		out := []string{}
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		*f(d) = out
		return nil
	}
}

type envError string

func (e envError) Error() string { return string(e) }

const (
	errNotInteger  = envError("not an integer")
	errNotDuration = envError("not a duration such as 10s or 1m30s")
)

var bindings = []envBinding{
	{EnvVar: EnvVar{"TINYFORGE_BOT_SERVER_ADDRESS", "server.address", "Address to listen on.", DefaultAddress, false},
		set: str(func(d *document) *string { return &d.Server.Address })},
	{EnvVar: EnvVar{"TINYFORGE_BOT_SERVER_PORT", "server.port", "Port to listen on (1-65535).", strconv.Itoa(DefaultPort), false},
		set: integer(func(d *document) *int { return &d.Server.Port })},
	{EnvVar: EnvVar{"TINYFORGE_BOT_SERVER_SHUTDOWN_GRACE", "server.shutdown_grace", "How long SIGTERM waits for in-flight work.", DefaultShutdownGrace.String(), false},
		set: duration(func(d *document) *time.Duration { return &d.Server.ShutdownGrace })},

	{EnvVar: EnvVar{"GITHUB_WEB_URL", "github.web_url", "GitHub web URL (GitHub Enterprise: https://HOST).", DefaultWebURL, false},
		set: str(func(d *document) *string { return &d.GitHub.WebURL })},
	{EnvVar: EnvVar{"GITHUB_V3_API_URL", "github.v3_api_url", "GitHub REST API URL (GitHub Enterprise: https://HOST/api/v3/); a trailing / is added.", DefaultV3APIURL, false},
		set: str(func(d *document) *string { return &d.GitHub.V3APIURL })},
	{EnvVar: EnvVar{"GITHUB_V4_API_URL", "github.v4_api_url", "GitHub GraphQL API URL (GitHub Enterprise: https://HOST/api/graphql).", DefaultV4APIURL, false},
		set: str(func(d *document) *string { return &d.GitHub.V4APIURL })},
	{EnvVar: EnvVar{"GITHUB_APP_INTEGRATION_ID", "github.app.integration_id", "The GitHub App's ID (required).", "", false},
		set: func(d *document, v string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return errNotInteger
			}
			d.GitHub.App.IntegrationID = n
			return nil
		}},
	{EnvVar: EnvVar{"GITHUB_APP_WEBHOOK_SECRET", "github.app.webhook_secret", "Webhook secret (required, or webhook_secret_file).", "", true},
		set:     secret(func(d *document) *Secret { return &d.GitHub.App.WebhookSecret }),
		sibling: func(d *document) any { return &d.GitHub.App.WebhookSecretFile }},
	{EnvVar: EnvVar{"GITHUB_APP_WEBHOOK_SECRET_FILE", "github.app.webhook_secret_file", "File holding the webhook secret (trailing newline ignored).", "", true},
		set:     str(func(d *document) *string { return &d.GitHub.App.WebhookSecretFile }),
		sibling: func(d *document) any { return &d.GitHub.App.WebhookSecret }},
	{EnvVar: EnvVar{"GITHUB_APP_PRIVATE_KEY", "github.app.private_key", "The App's RSA private key, PEM (required, or private_key_file).", "", true},
		set:     secret(func(d *document) *Secret { return &d.GitHub.App.PrivateKey }),
		sibling: func(d *document) any { return &d.GitHub.App.PrivateKeyFile }},
	{EnvVar: EnvVar{"GITHUB_APP_PRIVATE_KEY_FILE", "github.app.private_key_file", "File holding the App's RSA private key (PEM, PKCS#1 or PKCS#8).", "", true},
		set:     str(func(d *document) *string { return &d.GitHub.App.PrivateKeyFile }),
		sibling: func(d *document) any { return &d.GitHub.App.PrivateKey }},
	{EnvVar: EnvVar{"GITHUB_OAUTH_CLIENT_ID", "github.oauth.client_id", "OAuth client ID (optional; unused by the bot).", "", false},
		set: str(func(d *document) *string { return &d.GitHub.OAuth.ClientID })},
	{EnvVar: EnvVar{"GITHUB_OAUTH_CLIENT_SECRET", "github.oauth.client_secret", "OAuth client secret (optional; unused by the bot).", "", true},
		set:     secret(func(d *document) *Secret { return &d.GitHub.OAuth.ClientSecret }),
		sibling: func(d *document) any { return &d.GitHub.OAuth.ClientSecretFile }},
	{EnvVar: EnvVar{"GITHUB_OAUTH_CLIENT_SECRET_FILE", "github.oauth.client_secret_file", "File holding the OAuth client secret.", "", true},
		set:     str(func(d *document) *string { return &d.GitHub.OAuth.ClientSecretFile }),
		sibling: func(d *document) any { return &d.GitHub.OAuth.ClientSecret }},

	{EnvVar: EnvVar{"TINYFORGE_URL", "tinyforge.url", "Tinyforge base URL, http(s) (required).", "", false},
		set: str(func(d *document) *string { return &d.Tinyforge.URL })},
	{EnvVar: EnvVar{"TINYFORGE_TOKEN", "tinyforge.token", "Tinyforge API token, an admin's (required, or token_file).", "", true},
		set:     secret(func(d *document) *Secret { return &d.Tinyforge.Token }),
		sibling: func(d *document) any { return &d.Tinyforge.TokenFile }},
	{EnvVar: EnvVar{"TINYFORGE_TOKEN_FILE", "tinyforge.token_file", "File holding the Tinyforge API token (trailing newline ignored).", "", true},
		set:     str(func(d *document) *string { return &d.Tinyforge.TokenFile }),
		sibling: func(d *document) any { return &d.Tinyforge.Token }},
	{EnvVar: EnvVar{"TINYFORGE_TIMEOUT", "tinyforge.timeout", "Timeout of one Tinyforge API request.", DefaultTimeout.String(), false},
		set: duration(func(d *document) *time.Duration { return &d.Tinyforge.Timeout })},
	{EnvVar: EnvVar{"TINYFORGE_BOT_TINYFORGE_CACHE_TTL", "tinyforge.cache_ttl", "How long the workloads list is cached.", DefaultCacheTTL.String(), false},
		set: duration(func(d *document) *time.Duration { return &d.Tinyforge.CacheTTL })},

	{EnvVar: EnvVar{"TINYFORGE_BOT_STORE_DRIVER", "store.driver", "Store driver: sqlite.", DefaultStoreDriver, false},
		set: str(func(d *document) *string { return &d.Store.Driver })},
	{EnvVar: EnvVar{"TINYFORGE_BOT_STORE_DSN", "store.dsn", "Store location (SQLite: a file path).", DefaultStoreDSN, false},
		set: str(func(d *document) *string { return &d.Store.DSN })},

	{EnvVar: EnvVar{"TINYFORGE_BOT_SYNC_PERMISSION", "sync.permission", "Minimum repository permission to run /tinyforge sync: admin|maintain|write|triage|read.", DefaultPermission, false},
		set: str(func(d *document) *string { return &d.Sync.Permission })},
	{EnvVar: EnvVar{"TINYFORGE_BOT_SYNC_USERS", "sync.users", "Logins always allowed to sync (comma-separated).", "", false},
		set: list(func(d *document) *[]string { return &d.Sync.Users })},
	{EnvVar: EnvVar{"TINYFORGE_BOT_SYNC_TEAMS", "sync.teams", "Teams always allowed to sync, as org/slug (comma-separated).", "", false},
		set: list(func(d *document) *[]string { return &d.Sync.Teams })},

	{EnvVar: EnvVar{"TINYFORGE_BOT_INBOX_WORKERS", "inbox.workers", "Webhook deliveries processed concurrently.", strconv.Itoa(DefaultWorkers), false},
		set: integer(func(d *document) *int { return &d.Inbox.Workers })},
	{EnvVar: EnvVar{"TINYFORGE_BOT_INBOX_MAX_ATTEMPTS", "inbox.max_attempts", "Attempts before a delivery is marked dead.", strconv.Itoa(DefaultMaxAttempts), false},
		set: integer(func(d *document) *int { return &d.Inbox.MaxAttempts })},
	{EnvVar: EnvVar{"TINYFORGE_BOT_INBOX_RETRY_BASE", "inbox.retry_base", "First retry delay; doubles per attempt.", DefaultRetryBase.String(), false},
		set: duration(func(d *document) *time.Duration { return &d.Inbox.RetryBase })},

	{EnvVar: EnvVar{"TINYFORGE_BOT_LOGGING_LEVEL", "logging.level", "Log level: trace|debug|info|warn|error.", DefaultLogLevel, false},
		set: str(func(d *document) *string { return &d.Logging.Level })},
	{EnvVar: EnvVar{"TINYFORGE_BOT_LOGGING_FORMAT", "logging.format", "Log format: json|text.", DefaultLogFormat, false},
		set: str(func(d *document) *string { return &d.Logging.Format })},
}

// applyEnv applies every non-empty variable. When the environment sets one
// half of a secret pair and not the other, the file's value of the other half
// is dropped, so the environment wins instead of conflicting.
func applyEnv(d *document, env func(string) string, ps *problems) {
	set := map[string]bool{}
	for _, b := range bindings {
		if env(b.Name) != "" {
			set[b.Key] = true
		}
	}
	for _, b := range bindings {
		v := env(b.Name)
		if v == "" {
			continue
		}
		if err := b.set(d, v); err != nil {
			ps.add(b.Key, "%s: %v", b.Name, err) // never the value
			continue
		}
		if b.sibling != nil && !set[siblingKey(b.Key)] {
			switch p := b.sibling(d).(type) {
			case *string:
				*p = ""
			case *Secret:
				*p = ""
			}
		}
	}
}

func siblingKey(k string) string {
	if s, ok := strings.CutSuffix(k, "_file"); ok {
		return s
	}
	return k + "_file"
}
