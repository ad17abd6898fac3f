package config

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// resolveSecrets reads every *_file secret into its inline field. Both forms
// set is a problem. Contents of token/secret files lose their trailing line
// break; the PEM key loses surrounding whitespace.
func resolveSecrets(d *document, ps *problems) {
	resolve(ps, "github.app.webhook_secret", &d.GitHub.App.WebhookSecret, d.GitHub.App.WebhookSecretFile, trimNewline)
	resolve(ps, "github.app.private_key", &d.GitHub.App.PrivateKey, d.GitHub.App.PrivateKeyFile, strings.TrimSpace)
	// Keys passed through environment variables often carry literal \n.
	if k := string(d.GitHub.App.PrivateKey); !strings.Contains(k, "\n") && strings.Contains(k, `\n`) {
		d.GitHub.App.PrivateKey = Secret(strings.ReplaceAll(k, `\n`, "\n"))
	}
	if d.GitHub.App.PrivateKey != fileProblem {
		d.GitHub.App.PrivateKey = Secret(strings.TrimSpace(string(d.GitHub.App.PrivateKey)))
	}
	resolve(ps, "github.oauth.client_secret", &d.GitHub.OAuth.ClientSecret, d.GitHub.OAuth.ClientSecretFile, trimNewline)
	resolve(ps, "tinyforge.token", &d.Tinyforge.Token, d.Tinyforge.TokenFile, trimNewline)
}

func trimNewline(s string) string { return strings.TrimRight(s, "\r\n") }

// fileProblem marks a secret whose file was given but could not be used, so
// validate does not also report it as missing.
const fileProblem = Secret("\x00unreadable")

func resolve(ps *problems, key string, inline *Secret, file string, trim func(string) string) {
	fileKey := key + "_file"
	name := key[strings.LastIndex(key, ".")+1:]
	if *inline != "" && file != "" {
		ps.add(key, "set only one of %s and %s_file", name, name)
		*inline = fileProblem
		return
	}
	if file == "" {
		return
	}
	data, err := os.ReadFile(file)
	if err != nil {
		ps.add(fileKey, "cannot read %s: %s", file, fileErr(err))
		*inline = fileProblem
		return
	}
	v := trim(string(data))
	if v == "" {
		ps.add(fileKey, "%s is empty", file)
		*inline = fileProblem
		return
	}
	*inline = Secret(v)
}

func fileErr(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func validate(d *document, ps *problems) {
	if d.Server.Port < 1 || d.Server.Port > 65535 {
		ps.add("server.port", "must be between 1 and 65535 (got %d)", d.Server.Port)
	}
	nonNegative(ps, "server.shutdown_grace", d.Server.ShutdownGrace)

	g := &d.GitHub
	httpURL(ps, "github.web_url", g.WebURL)
	httpURL(ps, "github.v3_api_url", g.V3APIURL)
	httpURL(ps, "github.v4_api_url", g.V4APIURL)
	if g.App.IntegrationID <= 0 {
		ps.add("github.app.integration_id", "required: the GitHub App's ID, a positive integer (got %d)", g.App.IntegrationID)
	}
	if g.App.WebhookSecret == "" {
		ps.add("github.app.webhook_secret", "required (refusing to start without webhook verification); set webhook_secret or webhook_secret_file")
	}
	switch g.App.PrivateKey {
	case "":
		ps.add("github.app.private_key", "required: set private_key or private_key_file (the App's PEM key)")
	case fileProblem:
	default:
		key := "github.app.private_key"
		if g.App.PrivateKeyFile != "" {
			key = "github.app.private_key_file"
		}
		if msg := checkRSAKey(string(g.App.PrivateKey)); msg != "" {
			ps.add(key, "%s", msg)
		}
	}

	t := &d.Tinyforge
	if t.URL == "" {
		ps.add("tinyforge.url", "required: Tinyforge's base URL, e.g. https://forge.example.com")
	} else {
		httpURL(ps, "tinyforge.url", t.URL)
	}
	if t.Token == "" {
		ps.add("tinyforge.token", "required: set token or token_file")
	}
	nonNegative(ps, "tinyforge.timeout", t.Timeout)
	nonNegative(ps, "tinyforge.cache_ttl", t.CacheTTL)

	if !slices.Contains(StoreDrivers, d.Store.Driver) {
		ps.add("store.driver", "unknown driver %q (known: %s)", d.Store.Driver, strings.Join(StoreDrivers, ", "))
	}

	if !slices.Contains(Permissions, d.Sync.Permission) {
		ps.add("sync.permission", "must be one of %s (got %q)", strings.Join(Permissions, "|"), d.Sync.Permission)
	}
	for i, u := range d.Sync.Users {
		if u == "" || strings.ContainsAny(u, " \t/@") {
			ps.add("sync.users", "entry %d (%q) is not a GitHub login", i+1, u)
		}
	}
	for i, team := range d.Sync.Teams {
		org, slug, ok := strings.Cut(team, "/")
		if !ok || org == "" || slug == "" || strings.Contains(slug, "/") || strings.ContainsAny(team, " \t") {
			ps.add("sync.teams", "entry %d (%q) must be org/slug", i+1, team)
		}
	}

	if d.Inbox.Workers < 0 {
		ps.add("inbox.workers", "must be positive (got %d)", d.Inbox.Workers)
	}
	if d.Inbox.MaxAttempts < 0 {
		ps.add("inbox.max_attempts", "must be positive (got %d)", d.Inbox.MaxAttempts)
	}
	nonNegative(ps, "inbox.retry_base", d.Inbox.RetryBase)

	if !slices.Contains(LogLevels, d.Logging.Level) {
		ps.add("logging.level", "must be one of %s (got %q)", strings.Join(LogLevels, "|"), d.Logging.Level)
	}
	if !slices.Contains(LogFormats, d.Logging.Format) {
		ps.add("logging.format", "must be one of %s (got %q)", strings.Join(LogFormats, "|"), d.Logging.Format)
	}
}

func nonNegative(ps *problems, key string, v time.Duration) {
	if v < 0 {
		ps.add(key, "must not be negative (got %s)", v)
	}
}

// httpURL checks for an absolute http(s) URL. The URL itself is not echoed:
// it may carry credentials.
func httpURL(ps *problems, key, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ps.add(key, "must be an absolute http:// or https:// URL")
	} else if u.User != nil {
		ps.add(key, "must not contain credentials (user:password@)")
	}
}

// checkRSAKey returns "" for a PEM RSA private key (PKCS#1 or PKCS#8), which
// is what ghinstallation accepts, or a message that does not quote the key.
func checkRSAKey(s string) string {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return "not a PEM-encoded private key"
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return rsaKeyOK(k)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return "PEM block " + strings.ToLower(block.Type) + " is not an RSA private key in PKCS#1 or PKCS#8 form"
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return "not an RSA private key (GitHub Apps use RSA)"
	}
	return rsaKeyOK(rk)
}

func rsaKeyOK(k *rsa.PrivateKey) string {
	if err := k.Validate(); err != nil {
		return "invalid RSA private key"
	}
	return ""
}
