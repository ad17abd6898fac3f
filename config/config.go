// Package config loads tinyforge-bot's `serve` configuration: a YAML file
// (DESIGN.md "Config"), environment overrides, secrets read from *_file paths,
// defaults and validation that reports every problem at once.
//
// Order of application: YAML file → environment overrides → defaults for
// unset (zero) values → *_file secrets read → validation.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"gopkg.in/yaml.v3"
)

// Config is the validated configuration of `tinyforge-bot serve`.
//
// Secrets are resolved: GitHub.App.PrivateKey, GitHub.App.WebhookSecret,
// GitHub.OAuth.ClientSecret and Tinyforge.Token hold the values, whether they
// were given inline or via a *_file path. Printing a Config (any fmt verb)
// redacts them; printing Config.GitHub on its own does NOT (it is
// go-githubapp's plain struct), so never log it directly.
type Config struct {
	Server Server
	// GitHub is go-githubapp's config, ready for NewDefaultCachingClientCreator
	// and NewEventDispatcher. V3APIURL always ends with "/".
	GitHub    githubapp.Config
	Tinyforge Tinyforge
	Store     Store
	Sync      Sync
	Inbox     Inbox
	Logging   Logging
}

// Server is the `server` block.
type Server struct {
	Address       string        `yaml:"address"`        // default "0.0.0.0"
	Port          int           `yaml:"port"`           // default 8080
	ShutdownGrace time.Duration `yaml:"shutdown_grace"` // default 25s
}

// Addr is Address:Port, for http.Server.Addr / net.Listen.
func (s Server) Addr() string { return net.JoinHostPort(s.Address, strconv.Itoa(s.Port)) }

// Tinyforge is the `tinyforge` block.
type Tinyforge struct {
	URL       string        `yaml:"url"`
	Token     Secret        `yaml:"token"`      // resolved value (inline or from TokenFile)
	TokenFile string        `yaml:"token_file"` // where Token was read from, if any
	Timeout   time.Duration `yaml:"timeout"`    // per request; default 10s
	CacheTTL  time.Duration `yaml:"cache_ttl"`  // workloads list cache; default 30s
}

// Store is the `store` block.
type Store struct {
	Driver string `yaml:"driver"` // default "sqlite" (the only driver)
	DSN    string `yaml:"dsn"`    // default "./data/tinyforge-bot.db"
}

// Sync is the `sync` block: who may run `/tinyforge sync`.
type Sync struct {
	Permission string   `yaml:"permission"` // minimum repo permission; default "admin"
	Users      []string `yaml:"users"`      // logins always allowed
	Teams      []string `yaml:"teams"`      // "org/slug" teams always allowed
}

// Inbox is the `inbox` block (durable webhook inbox).
type Inbox struct {
	Workers     int           `yaml:"workers"`      // default 4
	MaxAttempts int           `yaml:"max_attempts"` // default 8
	RetryBase   time.Duration `yaml:"retry_base"`   // default 2s
}

// Logging is the `logging` block.
type Logging struct {
	Level  string `yaml:"level"`  // trace|debug|info|warn|error; default "info"
	Format string `yaml:"format"` // json|text; default "json"
}

// Defaults.
const (
	DefaultAddress       = "0.0.0.0"
	DefaultPort          = 8080
	DefaultShutdownGrace = 25 * time.Second
	DefaultWebURL        = "https://github.com"
	DefaultV3APIURL      = "https://api.github.com/"
	DefaultV4APIURL      = "https://api.github.com/graphql"
	DefaultTimeout       = 10 * time.Second
	DefaultCacheTTL      = 30 * time.Second
	DefaultStoreDriver   = "sqlite"
	DefaultStoreDSN      = "./data/tinyforge-bot.db"
	DefaultPermission    = "admin"
	DefaultWorkers       = 4
	DefaultMaxAttempts   = 8
	DefaultRetryBase     = 2 * time.Second
	DefaultLogLevel      = "info"
	DefaultLogFormat     = "json"
)

// Permissions are the accepted values of sync.permission, strongest first.
var Permissions = []string{"admin", "maintain", "write", "triage", "read"}

// LogLevels and LogFormats are the accepted logging values.
var (
	LogLevels  = []string{"trace", "debug", "info", "warn", "error"}
	LogFormats = []string{"json", "text"}
	// StoreDrivers are the accepted store.driver values.
	StoreDrivers = []string{"sqlite"}
)

// document is the YAML file's shape. It differs from Config only in the
// github block, which adds *_file variants to go-githubapp's Config.
type document struct {
	Server    Server      `yaml:"server"`
	GitHub    githubBlock `yaml:"github"`
	Tinyforge Tinyforge   `yaml:"tinyforge"`
	Store     Store       `yaml:"store"`
	Sync      Sync        `yaml:"sync"`
	Inbox     Inbox       `yaml:"inbox"`
	Logging   Logging     `yaml:"logging"`
}

// githubBlock mirrors githubapp.Config (same yaml keys) plus *_file secrets.
type githubBlock struct {
	WebURL   string `yaml:"web_url"`
	V3APIURL string `yaml:"v3_api_url"`
	V4APIURL string `yaml:"v4_api_url"`
	App      struct {
		IntegrationID     int64  `yaml:"integration_id"`
		WebhookSecret     Secret `yaml:"webhook_secret"`
		WebhookSecretFile string `yaml:"webhook_secret_file"`
		PrivateKey        Secret `yaml:"private_key"`
		PrivateKeyFile    string `yaml:"private_key_file"`
	} `yaml:"app"`
	OAuth struct {
		ClientID         string `yaml:"client_id"`
		ClientSecret     Secret `yaml:"client_secret"`
		ClientSecretFile string `yaml:"client_secret_file"`
	} `yaml:"oauth"`
}

// Load reads the YAML file at path and returns the validated configuration.
// env looks up environment variables (os.Getenv when nil; "" means unset).
// A *ValidationError lists every problem found.
func Load(path string, env func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(data, env)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse is Load for YAML already in memory. Relative *_file paths are relative
// to the working directory.
func Parse(data []byte, env func(string) string) (*Config, error) {
	if env == nil {
		env = os.Getenv
	}
	var d document
	var ps problems

	// Structural check first: unknown keys and mistyped values, each named by
	// its full key and line (yaml.v3's own messages name Go types instead).
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	checkNode(&root, &ps)

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("invalid YAML: %w", err)
		}
		// Type errors leave the field unset; checkNode has reported them
		// with their key. Should it have missed one, report yaml's text.
		if len(ps) == 0 {
			for _, e := range te.Errors {
				ps.add("", "%s", redactYAMLValue(e))
			}
		}
	}

	applyEnv(&d, env, &ps)
	applyDefaults(&d)
	resolveSecrets(&d, &ps)
	validate(&d, &ps)
	if len(ps) > 0 {
		return nil, &ValidationError{Problems: ps}
	}
	return d.config(), nil
}

func (d *document) config() *Config {
	c := &Config{
		Server:    d.Server,
		Tinyforge: d.Tinyforge,
		Store:     d.Store,
		Sync:      d.Sync,
		Inbox:     d.Inbox,
		Logging:   d.Logging,
	}
	g := &c.GitHub
	g.WebURL = d.GitHub.WebURL
	g.V3APIURL = d.GitHub.V3APIURL
	g.V4APIURL = d.GitHub.V4APIURL
	g.App.IntegrationID = d.GitHub.App.IntegrationID
	g.App.WebhookSecret = string(d.GitHub.App.WebhookSecret)
	g.App.PrivateKey = string(d.GitHub.App.PrivateKey)
	g.OAuth.ClientID = d.GitHub.OAuth.ClientID
	g.OAuth.ClientSecret = string(d.GitHub.OAuth.ClientSecret)
	return c
}

func applyDefaults(d *document) {
	setDefault(&d.Server.Address, DefaultAddress)
	setDefault(&d.Server.Port, DefaultPort)
	setDefault(&d.Server.ShutdownGrace, DefaultShutdownGrace)
	setDefault(&d.GitHub.WebURL, DefaultWebURL)
	setDefault(&d.GitHub.V3APIURL, DefaultV3APIURL)
	setDefault(&d.GitHub.V4APIURL, DefaultV4APIURL)
	if !strings.HasSuffix(d.GitHub.V3APIURL, "/") {
		d.GitHub.V3APIURL += "/"
	}
	d.GitHub.WebURL = strings.TrimSuffix(d.GitHub.WebURL, "/")
	setDefault(&d.Tinyforge.Timeout, DefaultTimeout)
	setDefault(&d.Tinyforge.CacheTTL, DefaultCacheTTL)
	setDefault(&d.Store.Driver, DefaultStoreDriver)
	setDefault(&d.Store.DSN, DefaultStoreDSN)
	setDefault(&d.Sync.Permission, DefaultPermission)
	setDefault(&d.Inbox.Workers, DefaultWorkers)
	setDefault(&d.Inbox.MaxAttempts, DefaultMaxAttempts)
	setDefault(&d.Inbox.RetryBase, DefaultRetryBase)
	setDefault(&d.Logging.Level, DefaultLogLevel)
	setDefault(&d.Logging.Format, DefaultLogFormat)
	d.Sync.Permission = strings.ToLower(d.Sync.Permission)
	d.Logging.Level = strings.ToLower(d.Logging.Level)
	d.Logging.Format = strings.ToLower(d.Logging.Format)
	if d.Sync.Users == nil {
		d.Sync.Users = []string{}
	}
	if d.Sync.Teams == nil {
		d.Sync.Teams = []string{}
	}
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// String renders the configuration with every secret redacted; it is what
// %v, %+v and %s print.
func (c Config) String() string {
	var b strings.Builder
	g := c.GitHub
	fmt.Fprintf(&b, "server{address=%s port=%d shutdown_grace=%s} ", c.Server.Address, c.Server.Port, c.Server.ShutdownGrace)
	fmt.Fprintf(&b, "github{web_url=%s v3_api_url=%s v4_api_url=%s app{integration_id=%d webhook_secret=%s private_key=%s} oauth{client_id=%s client_secret=%s}} ",
		redactURL(g.WebURL), redactURL(g.V3APIURL), redactURL(g.V4APIURL), g.App.IntegrationID,
		Secret(g.App.WebhookSecret), Secret(g.App.PrivateKey), g.OAuth.ClientID, Secret(g.OAuth.ClientSecret))
	fmt.Fprintf(&b, "tinyforge{url=%s token=%s token_file=%s timeout=%s cache_ttl=%s} ",
		redactURL(c.Tinyforge.URL), c.Tinyforge.Token, c.Tinyforge.TokenFile, c.Tinyforge.Timeout, c.Tinyforge.CacheTTL)
	fmt.Fprintf(&b, "store{driver=%s dsn=%s} ", c.Store.Driver, c.Store.DSN)
	fmt.Fprintf(&b, "sync{permission=%s users=%v teams=%v} ", c.Sync.Permission, c.Sync.Users, c.Sync.Teams)
	fmt.Fprintf(&b, "inbox{workers=%d max_attempts=%d retry_base=%s} ", c.Inbox.Workers, c.Inbox.MaxAttempts, c.Inbox.RetryBase)
	fmt.Fprintf(&b, "logging{level=%s format=%s}", c.Logging.Level, c.Logging.Format)
	return b.String()
}

// GoString makes %#v redacted too.
func (c Config) GoString() string { return "config.Config{" + c.String() + "}" }

// Format makes every fmt verb use String.
func (c Config) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", c.String())
		return
	}
	fmt.Fprint(f, c.String())
}

// redactURL hides a password embedded in a URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			return redacted
		}
		return s
	}
	return u.Redacted()
}
