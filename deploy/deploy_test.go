// Package deploy_test checks that the shipping files agree with each other
// and with the code: the GitHub App manifest (app.yml), the Dockerfile, the
// docker-compose file and the Kubernetes manifests, and the generated parts
// of docs/configuration.md. Nothing here builds an image or talks to a
// cluster; the files are parsed and compared.
//
// Regenerate the configuration table after changing config.EnvVars():
//
//	go test ./deploy -run TestConfigurationDoc -update
package deploy_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"gopkg.in/yaml.v3"

	"github.com/tinyforge/tinyforge-bot/config"
	"github.com/tinyforge/tinyforge-bot/handlers"
)

var update = flag.Bool("update", false, "rewrite the generated parts of docs/configuration.md")

// root is the repository root, seen from this package's directory.
const root = ".."

// The App's contract (DESIGN.md, issue 6 "Shipping").
var (
	wantEvents      = []string{"check_run", "check_suite", "issue_comment", "pull_request", "push"}
	wantPermissions = map[string]string{
		"checks": "write", "contents": "read", "pull_requests": "read",
		"issues": "write", "metadata": "read", "members": "read",
	}
	// GitHub sends these to every App without a subscription.
	automaticEvents = []string{"installation", "installation_repositories", "github_app_authorization", "meta"}
)

// ---------------------------------------------------------------- helpers --

func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return data
}

// yamlDocs parses every document of a (multi-document) YAML file.
func yamlDocs(t *testing.T, rel string) []*yaml.Node {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, rel)))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if len(n.Content) == 0 || (n.Content[0].Kind == yaml.ScalarNode && n.Content[0].ShortTag() == "!!null") {
			continue // empty document ("---" at the end)
		}
		docs = append(docs, &n)
	}
	if len(docs) == 0 {
		t.Fatalf("%s: no YAML documents", rel)
	}
	return docs
}

func decodeStrict(t *testing.T, rel string, data []byte, v any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

// k8sObject is what every Kubernetes document starts with.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
}

type k8sDoc struct {
	file string
	k8sObject
	node *yaml.Node
}

// k8sDocs parses every YAML file under deploy/k8s, each document tagged
// with its kind and name.
func k8sDocs(t *testing.T) []k8sDoc {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "deploy", "k8s", "*.y*ml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/k8s (%v)", err)
	}
	var out []k8sDoc
	for _, f := range files {
		rel := "deploy/k8s/" + filepath.Base(f)
		for _, n := range yamlDocs(t, rel) {
			var o k8sObject
			if err := n.Decode(&o); err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			if o.APIVersion == "" || o.Kind == "" {
				t.Errorf("%s: a document without apiVersion or kind", rel)
			}
			out = append(out, k8sDoc{file: filepath.Base(f), k8sObject: o, node: n})
		}
	}
	return out
}

func findK8s(t *testing.T, docs []k8sDoc, kind string, v any) k8sDoc {
	t.Helper()
	var found []k8sDoc
	for _, d := range docs {
		if d.Kind == kind {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s in deploy/k8s, found %d", kind, len(found))
	}
	if v != nil {
		if err := found[0].node.Decode(v); err != nil {
			t.Fatalf("%s %s: %v", found[0].file, kind, err)
		}
	}
	return found[0]
}

var (
	keyOnce sync.Once
	keyPEM  []byte
)

// testKey is an RSA key for config.Parse, which checks the App's key.
func testKey(t *testing.T) []byte {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	})
	return keyPEM
}

// botConfig is a shipped config.yml, validated by the real config package.
type botConfig struct {
	cfg *config.Config
	// files maps each *_file key (github.app.private_key_file, ...) to the
	// path the shipped file names.
	files map[string]string
	// keys are the YAML leaf keys the file sets.
	keys []string
}

// parseBotConfig loads a shipped config with config.Parse, the environment
// ignored, after pointing its *_file keys at stand-in files in a temporary
// directory (the real paths exist only inside the container).
func parseBotConfig(t *testing.T, name string, data []byte) botConfig {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	bc := botConfig{files: map[string]string{}}
	dir := t.TempDir()
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := k.Value
			if prefix != "" {
				key = prefix + "." + k.Value
			}
			if v.Kind == yaml.MappingNode {
				walk(key, v)
				continue
			}
			bc.keys = append(bc.keys, key)
			if strings.HasSuffix(key, "_file") && v.Value != "" {
				bc.files[key] = v.Value
				content := []byte("stand-in-secret\n")
				if key == "github.app.private_key_file" {
					content = testKey(t)
				}
				f := filepath.Join(dir, strings.ReplaceAll(key, ".", "_"))
				if err := os.WriteFile(f, content, 0o600); err != nil {
					t.Fatal(err)
				}
				v.Value = f
			}
		}
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatalf("%s: not a YAML mapping", name)
	}
	walk("", doc.Content[0])
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(out, func(string) string { return "" })
	if err != nil {
		t.Fatalf("%s does not load: %v", name, err)
	}
	bc.cfg = cfg

	known := map[string]bool{}
	for _, e := range config.EnvVars() {
		known[e.Key] = true
	}
	for _, k := range bc.keys {
		if !known[k] {
			t.Errorf("%s sets %s, which config.EnvVars() does not know", name, k)
		}
	}
	for _, k := range []string{"github.app.private_key_file", "github.app.webhook_secret_file", "tinyforge.token_file"} {
		if bc.files[k] == "" {
			t.Errorf("%s: %s is not set; the shipped configs read every secret from a mounted file", name, k)
		}
	}
	if !path.IsAbs(cfg.Store.DSN) {
		t.Errorf("%s: store.dsn %q should be absolute (on the data volume)", name, cfg.Store.DSN)
	}
	return bc
}

// secretPaths returns the *_file paths, sorted.
func (bc botConfig) secretPaths() []string {
	var ps []string
	for _, p := range bc.files {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// exceeds checks a stop timeout against the bot's shutdown: the HTTP drain
// and the inbox drain share one shutdown_grace (app.Server.Serve), then
// leases are released (up to 5s).
func exceeds(t *testing.T, what string, got, grace time.Duration) {
	t.Helper()
	if got <= grace {
		t.Errorf("%s %v must exceed server.shutdown_grace %v", what, got, grace)
	}
	if worst := grace + 5*time.Second; got < worst {
		t.Errorf("%s %v is shorter than the bot's worst-case shutdown shutdown_grace + 5s = %v", what, got, worst)
	}
}

// ----------------------------------------------------------------- app.yml --

type manifest struct {
	Name           string `yaml:"name"`
	Description    string `yaml:"description"`
	URL            string `yaml:"url"`
	HookAttributes struct {
		URL    string `yaml:"url"`
		Active *bool  `yaml:"active"`
	} `yaml:"hook_attributes"`
	RedirectURL           string            `yaml:"redirect_url"`
	CallbackURLs          []string          `yaml:"callback_urls"`
	SetupURL              string            `yaml:"setup_url"`
	Public                *bool             `yaml:"public"`
	DefaultEvents         []string          `yaml:"default_events"`
	DefaultPermissions    map[string]string `yaml:"default_permissions"`
	RequestOAuthOnInstall bool              `yaml:"request_oauth_on_install"`
	SetupOnUpdate         bool              `yaml:"setup_on_update"`
}

func TestAppManifest(t *testing.T) {
	var m manifest
	decodeStrict(t, "app.yml", readFile(t, "app.yml"), &m) // only GitHub's manifest keys

	if m.Name == "" || len(m.Name) > 34 {
		t.Errorf("name %q: GitHub App names are 1-34 characters", m.Name)
	}
	if m.Description == "" {
		t.Error("description is empty")
	}
	for what, u := range map[string]string{"url": m.URL, "hook_attributes.url": m.HookAttributes.URL} {
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme != "https" || pu.Host == "" {
			t.Errorf("%s %q: want an absolute https URL", what, u)
		}
	}
	if pu, err := url.Parse(m.HookAttributes.URL); err == nil && pu.Path != githubapp.DefaultWebhookRoute {
		t.Errorf("hook_attributes.url path %q, but the bot serves webhooks at %s", pu.Path, githubapp.DefaultWebhookRoute)
	}
	if m.HookAttributes.Active != nil && !*m.HookAttributes.Active {
		t.Error("hook_attributes.active is false: the App would receive no webhooks")
	}
	if m.Public == nil || *m.Public {
		t.Error("public must be set to false")
	}

	events := slices.Clone(m.DefaultEvents)
	sort.Strings(events)
	if !slices.Equal(events, wantEvents) {
		t.Errorf("default_events = %v, want %v", events, wantEvents)
	}
	if fmt.Sprint(m.DefaultPermissions) != fmt.Sprint(wantPermissions) {
		t.Errorf("default_permissions = %v, want %v", m.DefaultPermissions, wantPermissions)
	}

	// Every event a handler takes is subscribed (or sent to Apps anyway),
	// and every subscribed event has a handler.
	hs := []interface{ Handles() []string }{
		&handlers.Push{}, &handlers.PullRequest{}, &handlers.IssueComment{},
		&handlers.CheckRun{}, &handlers.CheckSuite{}, &handlers.Installation{},
	}
	handled := map[string]bool{}
	for _, h := range hs {
		for _, ev := range h.Handles() {
			handled[ev] = true
			if !slices.Contains(events, ev) && !slices.Contains(automaticEvents, ev) {
				t.Errorf("a handler takes %q events, but app.yml does not subscribe to them", ev)
			}
		}
	}
	for _, ev := range events {
		if !handled[ev] {
			t.Errorf("app.yml subscribes to %q, which no handler takes", ev)
		}
	}
}

// -------------------------------------------------------------- Dockerfile --

type instruction struct {
	cmd  string // upper case
	args string
	line int
}

type stage struct {
	from  string // image
	name  string // AS name
	instr []instruction
}

// parseDockerfile splits a Dockerfile into stages of instructions, joining
// continuation lines and dropping comments.
func parseDockerfile(t *testing.T, data []byte) []stage {
	t.Helper()
	var stages []stage
	var cur strings.Builder
	start := 0
	flush := func() {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if s == "" {
			return
		}
		cmd, args, _ := strings.Cut(s, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			st := stage{}
			for i := 0; i < len(f); i++ {
				if strings.HasPrefix(f[i], "--") {
					continue
				}
				if st.from == "" {
					st.from = f[i]
				} else if strings.EqualFold(f[i], "AS") && i+1 < len(f) {
					st.name = f[i+1]
					break
				}
			}
			stages = append(stages, st)
			return
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Errorf("Dockerfile:%d: %s before FROM", in.line, in.cmd)
			}
			return
		}
		stages[len(stages)-1].instr = append(stages[len(stages)-1].instr, in)
	}
	for i, l := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "#") {
			continue // comments and parser directives; allowed inside continuations
		}
		if cur.Len() == 0 {
			if trimmed == "" {
				continue
			}
			start = i + 1
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	return stages
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instr {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func (s stage) last(cmd string) (instruction, bool) {
	in := s.all(cmd)
	if len(in) == 0 {
		return instruction{}, false
	}
	return in[len(in)-1], true
}

// execForm parses the JSON (exec) form of CMD / ENTRYPOINT / VOLUME.
func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(in.args), &v); err != nil {
		t.Errorf("Dockerfile:%d: %s %s is not in exec (JSON) form", in.line, in.cmd, in.args)
	}
	return v
}

type dockerImage struct {
	entrypoint, cmd []string
	user            string
	uid             int
	workdir         string
	volumes         []string
	exposed         []int
}

func checkDockerfile(t *testing.T) dockerImage {
	t.Helper()
	stages := parseDockerfile(t, readFile(t, "deploy/Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages; want a multi-stage build", len(stages))
	}

	// The build stage: the Go version of go.mod, a static, reproducible binary.
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(readFile(t, "go.mod"))
	var built bool
	for _, st := range stages[:len(stages)-1] {
		for _, in := range st.all("RUN") {
			if !strings.Contains(in.args, "go build") {
				continue
			}
			built = true
			for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags="-s -w"`} {
				if !strings.Contains(in.args, want) {
					t.Errorf("Dockerfile:%d: go build without %s", in.line, want)
				}
			}
			if goVersion != nil && !strings.HasPrefix(st.from, "golang:"+string(goVersion[1])) {
				t.Errorf("build stage FROM %s; go.mod asks for go %s", st.from, goVersion[1])
			}
		}
	}
	if !built {
		t.Error("no build stage runs go build")
	}

	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("final stage FROM %s; want distroless/static or scratch (a static binary needs nothing else)", final.from)
	}
	var img dockerImage
	if in, ok := final.last("USER"); !ok {
		t.Error("final stage has no USER: it would run as root")
	} else {
		img.user = in.args
		u, _, _ := strings.Cut(in.args, ":")
		uid, err := strconv.Atoi(u)
		switch {
		case err != nil:
			t.Errorf("Dockerfile:%d: USER %s; use a numeric UID so Kubernetes' runAsNonRoot can verify it", in.line, in.args)
		case uid == 0:
			t.Errorf("Dockerfile:%d: USER %s is root", in.line, in.args)
		}
		img.uid = uid
	}
	for _, in := range final.all("HEALTHCHECK") {
		if strings.EqualFold(strings.TrimSpace(in.args), "NONE") {
			continue
		}
		rest := strings.TrimSpace(in.args)
		for strings.HasPrefix(rest, "--") { // options
			_, rest, _ = strings.Cut(rest, " ")
			rest = strings.TrimSpace(rest)
		}
		c, form, _ := strings.Cut(rest, " ")
		if !strings.EqualFold(c, "CMD") || !strings.HasPrefix(strings.TrimSpace(form), "[") {
			t.Errorf("Dockerfile:%d: shell-form HEALTHCHECK; the final image has no shell", in.line)
			continue
		}
		var argv []string
		if err := json.Unmarshal([]byte(strings.TrimSpace(form)), &argv); err != nil || len(argv) == 0 || argv[0] == "CMD-SHELL" ||
			slices.Contains([]string{"sh", "/bin/sh", "bash", "curl", "wget"}, argv[0]) {
			t.Errorf("Dockerfile:%d: HEALTHCHECK %s needs a shell or tool the final image does not have", in.line, form)
		}
	}
	if in, ok := final.last("ENTRYPOINT"); ok {
		img.entrypoint = execForm(t, in)
	}
	if !slices.Equal(img.entrypoint, []string{"/tinyforge-bot"}) {
		t.Errorf("ENTRYPOINT %q, want [\"/tinyforge-bot\"]", img.entrypoint)
	}
	if in, ok := final.last("CMD"); ok {
		img.cmd = execForm(t, in)
	}
	if len(img.cmd) != 3 || img.cmd[0] != "serve" || img.cmd[1] != "--config" || !path.IsAbs(img.cmd[2]) {
		t.Errorf("CMD %q, want [\"serve\", \"--config\", \"/abs/config.yml\"]", img.cmd)
	}
	var copied bool
	for _, in := range final.all("COPY") {
		if strings.Contains(in.args, "--from=") && strings.HasSuffix(in.args, " /tinyforge-bot") {
			copied = true
		}
	}
	if !copied {
		t.Error("final stage does not COPY --from the build stage to /tinyforge-bot")
	}
	img.workdir = "/"
	if in, ok := final.last("WORKDIR"); ok {
		img.workdir = in.args
	}
	for _, in := range final.all("VOLUME") {
		if strings.HasPrefix(in.args, "[") {
			img.volumes = append(img.volumes, execForm(t, in)...)
		} else {
			img.volumes = append(img.volumes, strings.Fields(in.args)...)
		}
	}
	for _, in := range final.all("EXPOSE") {
		for _, f := range strings.Fields(in.args) {
			p, _, _ := strings.Cut(f, "/")
			n, err := strconv.Atoi(p)
			if err != nil {
				t.Errorf("Dockerfile:%d: EXPOSE %s", in.line, f)
			}
			img.exposed = append(img.exposed, n)
		}
	}
	if len(final.all("RUN")) > 0 {
		t.Error("the final stage has RUN: distroless/scratch has no shell to run it")
	}
	return img
}

func TestDockerfile(t *testing.T) {
	img := checkDockerfile(t)
	if img.uid != 65532 {
		t.Errorf("USER %s, want 65532:65532 (distroless nonroot; the compose and Kubernetes files use it)", img.user)
	}
	if !slices.Contains(img.exposed, config.DefaultPort) {
		t.Errorf("EXPOSE %v lacks the default server.port %d", img.exposed, config.DefaultPort)
	}
	// The default DSN, resolved against WORKDIR, lands on the volume.
	def := path.Join(img.workdir, config.DefaultStoreDSN)
	if !slices.Contains(img.volumes, path.Dir(def)) {
		t.Errorf("default store.dsn %s resolves to %s, which is not on a VOLUME %v", config.DefaultStoreDSN, def, img.volumes)
	}
	// The context must not ship local databases or keys.
	ignore := string(readFile(t, "deploy/Dockerfile.dockerignore"))
	for _, want := range []string{"*.db", "*.pem"} {
		if !strings.Contains(ignore, want) {
			t.Errorf("deploy/Dockerfile.dockerignore does not exclude %s", want)
		}
	}
}

// ---------------------------------------------------------- docker-compose --

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
	Secrets  map[string]struct {
		File        string `yaml:"file"`
		Environment string `yaml:"environment"`
		External    bool   `yaml:"external"`
	} `yaml:"secrets"`
}

type composeService struct {
	Build struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Image       string   `yaml:"image"`
	Command     []string `yaml:"command"`
	Restart     string   `yaml:"restart"`
	User        string   `yaml:"user"`
	ReadOnly    bool     `yaml:"read_only"`
	CapDrop     []string `yaml:"cap_drop"`
	CapAdd      []string `yaml:"cap_add"`
	SecurityOpt []string `yaml:"security_opt"`
	Ports       []string `yaml:"ports"`
	Volumes     []struct {
		Type     string `yaml:"type"`
		Source   string `yaml:"source"`
		Target   string `yaml:"target"`
		ReadOnly bool   `yaml:"read_only"`
	} `yaml:"volumes"`
	Tmpfs   []string `yaml:"tmpfs"`
	Secrets []struct {
		Source string `yaml:"source"`
		Target string `yaml:"target"`
	} `yaml:"secrets"`
	Environment     map[string]string `yaml:"environment"`
	StopGracePeriod string            `yaml:"stop_grace_period"`
	StopSignal      string            `yaml:"stop_signal"`
	Healthcheck     *struct {
		Test    any  `yaml:"test"`
		Disable bool `yaml:"disable"`
	} `yaml:"healthcheck"`
	Deploy *struct {
		Replicas *int `yaml:"replicas"`
	} `yaml:"deploy"`
	Logging any `yaml:"logging"`
}

func TestCompose(t *testing.T) {
	var cf composeFile
	decodeStrict(t, "deploy/docker-compose.yml", readFile(t, "deploy/docker-compose.yml"), &cf)
	if len(cf.Services) != 1 {
		t.Fatalf("want one service, got %d", len(cf.Services))
	}
	var svc composeService
	for _, s := range cf.Services {
		svc = s
	}
	img := checkDockerfile(t)

	if svc.Build.Dockerfile != "" {
		if _, err := os.Stat(filepath.Join(root, "deploy", filepath.FromSlash(svc.Build.Context), filepath.FromSlash(svc.Build.Dockerfile))); err != nil {
			t.Errorf("build: %v", err)
		}
	}
	if svc.Deploy != nil && svc.Deploy.Replicas != nil && *svc.Deploy.Replicas != 1 {
		t.Error("deploy.replicas must be 1: one bot per SQLite file")
	}
	if svc.User != img.user {
		t.Errorf("user %q, want the image's USER %q", svc.User, img.user)
	}
	if !svc.ReadOnly {
		t.Error("read_only must be true")
	}
	if !slices.Contains(svc.CapDrop, "ALL") || len(svc.CapAdd) > 0 {
		t.Errorf("cap_drop %v / cap_add %v: drop ALL, add none", svc.CapDrop, svc.CapAdd)
	}
	if !slices.Contains(svc.SecurityOpt, "no-new-privileges:true") {
		t.Errorf("security_opt %v lacks no-new-privileges:true", svc.SecurityOpt)
	}
	if svc.Healthcheck != nil && !svc.Healthcheck.Disable {
		t.Error("a healthcheck cannot run in the distroless image (no shell, no curl)")
	}
	if len(svc.Environment) > 0 {
		for k := range svc.Environment {
			for _, e := range config.EnvVars() {
				if e.Name == k && e.Secret && !strings.HasSuffix(k, "_FILE") {
					t.Errorf("environment %s carries a secret inline; use compose secrets", k)
				}
			}
		}
	}

	// The command and the config mount.
	args := svc.Command
	if args == nil {
		args = img.cmd
	}
	if len(args) != 3 || args[0] != "serve" || args[1] != "--config" {
		t.Fatalf("command %q, want serve --config FILE", args)
	}
	var configSource string
	mounts := map[string]bool{}
	for _, v := range svc.Volumes {
		mounts[v.Target] = true
		if v.Target == args[2] {
			configSource = v.Source
			if !v.ReadOnly {
				t.Errorf("the config %s is mounted read-write", v.Target)
			}
		}
	}
	if configSource == "" {
		t.Fatalf("no volume mounts the config at %s", args[2])
	}
	if args[2] != img.cmd[2] {
		t.Errorf("config at %s; the image's CMD uses %s", args[2], img.cmd[2])
	}
	rel := path.Join("deploy", configSource)
	bc := parseBotConfig(t, rel, readFile(t, rel))
	cfg := bc.cfg

	// The store is on a named volume, which the image declares.
	dataDir := path.Dir(cfg.Store.DSN)
	var dataOK bool
	for _, v := range svc.Volumes {
		if v.Target == dataDir && v.Type == "volume" {
			dataOK = true
			if _, ok := cf.Volumes[v.Source]; !ok {
				t.Errorf("named volume %q is not declared under volumes:", v.Source)
			}
		}
	}
	if !dataOK {
		t.Errorf("store.dsn %s: no named volume at %s", cfg.Store.DSN, dataDir)
	}
	if !slices.Contains(img.volumes, dataDir) {
		t.Errorf("the image has no VOLUME %s for the store", dataDir)
	}
	if !slices.Contains(svc.Tmpfs, "/tmp") {
		t.Error("no tmpfs /tmp: SQLite's temporary files need somewhere to go on a read-only root")
	}

	// The port.
	var published bool
	for _, p := range svc.Ports {
		parts := strings.Split(strings.TrimSuffix(p, "/tcp"), ":")
		if parts[len(parts)-1] == strconv.Itoa(cfg.Server.Port) {
			published = true
		}
	}
	if !published {
		t.Errorf("ports %v do not publish server.port %d", svc.Ports, cfg.Server.Port)
	}
	if !slices.Contains(img.exposed, cfg.Server.Port) {
		t.Errorf("the image EXPOSEs %v, not server.port %d", img.exposed, cfg.Server.Port)
	}

	// Secrets: every *_file path is a compose secret, defined from a file.
	var targets []string
	for _, s := range svc.Secrets {
		target := s.Target
		if target == "" {
			target = s.Source
		}
		if !path.IsAbs(target) {
			target = "/run/secrets/" + target
		}
		targets = append(targets, target)
		def, ok := cf.Secrets[s.Source]
		switch {
		case !ok:
			t.Errorf("secret %q is not defined under secrets:", s.Source)
		case def.File == "" && def.Environment == "" && !def.External:
			t.Errorf("secret %q has no file, environment or external", s.Source)
		}
	}
	sort.Strings(targets)
	if want := bc.secretPaths(); !slices.Equal(targets, want) {
		t.Errorf("compose secrets are mounted at %v; the config reads %v", targets, want)
	}

	// Stop timeout.
	grace, err := time.ParseDuration(svc.StopGracePeriod)
	if err != nil {
		t.Fatalf("stop_grace_period %q: %v", svc.StopGracePeriod, err)
	}
	exceeds(t, "stop_grace_period", grace, cfg.Server.ShutdownGrace)
	if svc.StopSignal != "" && svc.StopSignal != "SIGTERM" {
		t.Errorf("stop_signal %s; the bot drains on SIGTERM", svc.StopSignal)
	}
}

// -------------------------------------------------------------- Kubernetes --

type deployment struct {
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Strategy struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type seccomp struct {
	Type string `yaml:"type"`
}

type podSpec struct {
	AutomountServiceAccountToken  *bool  `yaml:"automountServiceAccountToken"`
	TerminationGracePeriodSeconds *int64 `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               struct {
		RunAsNonRoot   *bool    `yaml:"runAsNonRoot"`
		RunAsUser      *int64   `yaml:"runAsUser"`
		RunAsGroup     *int64   `yaml:"runAsGroup"`
		FSGroup        *int64   `yaml:"fsGroup"`
		SeccompProfile *seccomp `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	Containers     []container `yaml:"containers"`
	InitContainers []container `yaml:"initContainers"`
	Volumes        []volume    `yaml:"volumes"`
}

type probe struct {
	HTTPGet *struct {
		Path string    `yaml:"path"`
		Port yaml.Node `yaml:"port"` // a number or a port name
	} `yaml:"httpGet"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom any    `yaml:"valueFrom"`
	} `yaml:"env"`
	LivenessProbe   *probe `yaml:"livenessProbe"`
	ReadinessProbe  *probe `yaml:"readinessProbe"`
	StartupProbe    *probe `yaml:"startupProbe"`
	SecurityContext struct {
		RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
		RunAsUser                *int64 `yaml:"runAsUser"`
		ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
		Privileged               *bool  `yaml:"privileged"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
			Add  []string `yaml:"add"`
		} `yaml:"capabilities"`
		SeccompProfile *seccomp `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type keyToPath struct {
	Key  string `yaml:"key"`
	Path string `yaml:"path"`
}

type volume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name  string      `yaml:"name"`
		Items []keyToPath `yaml:"items"`
	} `yaml:"configMap"`
	Secret *struct {
		SecretName string      `yaml:"secretName"`
		Items      []keyToPath `yaml:"items"`
	} `yaml:"secret"`
	PersistentVolumeClaim *struct {
		ClaimName string `yaml:"claimName"`
	} `yaml:"persistentVolumeClaim"`
	EmptyDir any `yaml:"emptyDir"`
}

// resolved is what a file path inside the container comes from.
type resolved struct {
	volume   volume
	key      string // the ConfigMap / Secret key, or the path inside the volume
	readOnly bool
}

// resolve finds the volume behind a path in the container (the mount with
// the longest matching mountPath) and the key it projects there.
func resolve(c container, vols []volume, p string) (resolved, bool) {
	best := -1
	for i, m := range c.VolumeMounts {
		if (p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/")) &&
			(best < 0 || len(m.MountPath) > len(c.VolumeMounts[best].MountPath)) {
			best = i
		}
	}
	if best < 0 {
		return resolved{}, false
	}
	m := c.VolumeMounts[best]
	rel := strings.TrimPrefix(strings.TrimPrefix(p, m.MountPath), "/")
	if m.SubPath != "" {
		rel = path.Join(m.SubPath, rel)
	}
	for _, v := range vols {
		if v.Name != m.Name {
			continue
		}
		r := resolved{volume: v, key: rel, readOnly: m.ReadOnly}
		var items []keyToPath
		switch {
		case v.Secret != nil:
			items = v.Secret.Items
		case v.ConfigMap != nil:
			items = v.ConfigMap.Items
		default:
			return r, true
		}
		if len(items) == 0 {
			return r, !strings.Contains(rel, "/")
		}
		for _, it := range items {
			if it.Path == rel {
				r.key = it.Key
				return r, true
			}
		}
		return r, false
	}
	return resolved{}, false
}

// portOf resolves a probe's port (number or name) to a container port.
func portOf(c container, n yaml.Node) int {
	if n.ShortTag() == "!!int" {
		p, _ := strconv.Atoi(n.Value)
		return p
	}
	for _, p := range c.Ports {
		if p.Name == n.Value {
			return p.ContainerPort
		}
	}
	return 0
}

func TestKubernetes(t *testing.T) {
	docs := k8sDocs(t)
	img := checkDockerfile(t)

	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	cmDoc := findK8s(t, docs, "ConfigMap", &cm)
	var secret struct {
		Data       map[string]string `yaml:"data"`
		StringData map[string]string `yaml:"stringData"`
	}
	secretDoc := findK8s(t, docs, "Secret", &secret)
	if secretDoc.file != "secret.example.yaml" {
		t.Errorf("the Secret lives in %s; keep only the example (secret.example.yaml) in the repository", secretDoc.file)
	}
	for k, v := range secret.StringData {
		if !strings.Contains(v, "REPLACE-ME") {
			t.Errorf("secret.example.yaml: %s does not look like a placeholder (want REPLACE-ME in it)", k)
		}
	}
	var dep deployment
	findK8s(t, docs, "Deployment", &dep)
	var pvc struct {
		Spec struct {
			AccessModes []string `yaml:"accessModes"`
		} `yaml:"spec"`
	}
	pvcDoc := findK8s(t, docs, "PersistentVolumeClaim", &pvc)
	var svc struct {
		Spec struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name       string    `yaml:"name"`
				Port       int       `yaml:"port"`
				TargetPort yaml.Node `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	findK8s(t, docs, "Service", &svc)

	spec := dep.Spec.Template.Spec
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 1 {
		t.Error("replicas must be 1: one bot per SQLite file")
	}
	if dep.Spec.Strategy.Type != "Recreate" {
		t.Errorf("strategy %q, want Recreate: the old pod must release the store before the new one opens it", dep.Spec.Strategy.Type)
	}
	if len(dep.Spec.Selector.MatchLabels) == 0 {
		t.Error("the Deployment has no selector.matchLabels")
	}
	for k, v := range dep.Spec.Selector.MatchLabels {
		if dep.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod labels", k, v)
		}
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(spec.Containers))
	}
	c := spec.Containers[0]

	// The config: the args name a file that is the ConfigMap's key.
	args := c.Args
	if c.Command != nil {
		t.Error("command overrides the image's ENTRYPOINT; use args")
	}
	if args == nil {
		args = img.cmd
	}
	if len(args) != 3 || args[0] != "serve" || args[1] != "--config" {
		t.Fatalf("args %q, want serve --config FILE", args)
	}
	r, ok := resolve(c, spec.Volumes, args[2])
	if !ok || r.volume.ConfigMap == nil || r.volume.ConfigMap.Name != cmDoc.Metadata.Name {
		t.Fatalf("%s is not mounted from ConfigMap %s", args[2], cmDoc.Metadata.Name)
	}
	if !r.readOnly {
		t.Errorf("the config mount is not readOnly")
	}
	data, ok := cm.Data[r.key]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %q", cmDoc.Metadata.Name, r.key)
	}
	bc := parseBotConfig(t, "deploy/k8s/"+cmDoc.file, []byte(data))
	cfg := bc.cfg

	// Secrets: each *_file path is a key of the Secret.
	for key, p := range bc.files {
		r, ok := resolve(c, spec.Volumes, p)
		switch {
		case !ok || r.volume.Secret == nil:
			t.Errorf("%s = %s is not a file from a Secret volume", key, p)
		case r.volume.Secret.SecretName != secretDoc.Metadata.Name:
			t.Errorf("%s comes from Secret %q, not %q", key, r.volume.Secret.SecretName, secretDoc.Metadata.Name)
		case secret.StringData[r.key] == "" && secret.Data[r.key] == "":
			t.Errorf("%s = %s is Secret key %q, which secret.example.yaml does not have", key, p, r.key)
		case !r.readOnly:
			t.Errorf("the secret mount for %s is not readOnly", p)
		}
	}
	for _, e := range c.Env {
		for _, ev := range config.EnvVars() {
			if ev.Name == e.Name && ev.Secret && e.Value != "" && !strings.HasSuffix(e.Name, "_FILE") {
				t.Errorf("env %s carries a secret inline; mount it from the Secret", e.Name)
			}
		}
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken must be false: the bot needs no API token, and it would be mounted under /var/run/secrets (= /run/secrets)")
	}

	// The store: dsn's directory is the PVC, which is ReadWriteOnce.
	r, ok = resolve(c, spec.Volumes, cfg.Store.DSN)
	if !ok || r.volume.PersistentVolumeClaim == nil || r.volume.PersistentVolumeClaim.ClaimName != pvcDoc.Metadata.Name {
		t.Errorf("store.dsn %s is not on PersistentVolumeClaim %s", cfg.Store.DSN, pvcDoc.Metadata.Name)
	} else if r.readOnly {
		t.Errorf("the store volume is mounted readOnly")
	}
	if !slices.Equal(pvc.Spec.AccessModes, []string{"ReadWriteOnce"}) && !slices.Equal(pvc.Spec.AccessModes, []string{"ReadWriteOncePod"}) {
		t.Errorf("PVC accessModes %v; the SQLite store has one writer (ReadWriteOnce)", pvc.Spec.AccessModes)
	}
	if !slices.Contains(img.volumes, path.Dir(cfg.Store.DSN)) {
		t.Errorf("the image declares VOLUME %v, not the store's %s", img.volumes, path.Dir(cfg.Store.DSN))
	}
	if r, ok := resolve(c, spec.Volumes, "/tmp/x"); !ok || r.volume.EmptyDir == nil {
		t.Error("no emptyDir at /tmp: SQLite's temporary files need somewhere to go on a read-only root")
	}

	// Ports and probes.
	var portName string
	for _, p := range c.Ports {
		if p.ContainerPort == cfg.Server.Port {
			portName = p.Name
		}
	}
	if portName == "" {
		t.Errorf("no containerPort equals server.port %d", cfg.Server.Port)
	}
	for _, pr := range []struct {
		name string
		p    *probe
		path string
	}{{"livenessProbe", c.LivenessProbe, "/healthz"}, {"readinessProbe", c.ReadinessProbe, "/readyz"}, {"startupProbe", c.StartupProbe, "/healthz"}} {
		if pr.p == nil {
			if pr.name != "startupProbe" {
				t.Errorf("no %s", pr.name)
			}
			continue
		}
		if pr.p.HTTPGet == nil {
			t.Errorf("%s is not an httpGet probe", pr.name)
			continue
		}
		if pr.p.HTTPGet.Path != pr.path {
			t.Errorf("%s hits %s, want %s", pr.name, pr.p.HTTPGet.Path, pr.path)
		}
		if got := portOf(c, pr.p.HTTPGet.Port); got != cfg.Server.Port {
			t.Errorf("%s port %q = %d, want server.port %d", pr.name, pr.p.HTTPGet.Port.Value, got, cfg.Server.Port)
		}
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("Service: want one port, got %d", len(svc.Spec.Ports))
	}
	sp := svc.Spec.Ports[0]
	if sp.Name != "http" || sp.Port != 80 || portOf(c, sp.TargetPort) != cfg.Server.Port {
		t.Errorf("Service port %s %d -> %s; want http 80 -> server.port %d", sp.Name, sp.Port, sp.TargetPort.Value, cfg.Server.Port)
	}
	for k, v := range svc.Spec.Selector {
		if dep.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not match the pod labels", k, v)
		}
	}

	// Shutdown.
	if spec.TerminationGracePeriodSeconds == nil {
		t.Error("terminationGracePeriodSeconds is not set (Kubernetes' default 30s)")
	} else {
		exceeds(t, "terminationGracePeriodSeconds", time.Duration(*spec.TerminationGracePeriodSeconds)*time.Second, cfg.Server.ShutdownGrace)
	}

	// Hardening.
	psc, csc := spec.SecurityContext, c.SecurityContext
	isTrue := func(b *bool) bool { return b != nil && *b }
	isFalse := func(b *bool) bool { return b != nil && !*b }
	if !isTrue(psc.RunAsNonRoot) && !isTrue(csc.RunAsNonRoot) {
		t.Error("runAsNonRoot is not true")
	}
	if psc.RunAsUser == nil || *psc.RunAsUser != int64(img.uid) {
		t.Errorf("runAsUser %v, want the image's USER %d", psc.RunAsUser, img.uid)
	}
	if psc.FSGroup == nil {
		t.Error("fsGroup is not set: the PVC may not be writable by the bot")
	}
	if !isTrue(csc.ReadOnlyRootFilesystem) {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if !isFalse(csc.AllowPrivilegeEscalation) {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if isTrue(csc.Privileged) {
		t.Error("privileged")
	}
	if !slices.Contains(csc.Capabilities.Drop, "ALL") || len(csc.Capabilities.Add) > 0 {
		t.Errorf("capabilities drop %v add %v; want drop ALL, add none", csc.Capabilities.Drop, csc.Capabilities.Add)
	}
	sc := csc.SeccompProfile
	if sc == nil {
		sc = psc.SeccompProfile
	}
	if sc == nil || sc.Type != "RuntimeDefault" {
		t.Error("seccompProfile is not RuntimeDefault")
	}
	for _, res := range []string{"cpu", "memory"} {
		if c.Resources.Requests[res] == "" {
			t.Errorf("no resources.requests.%s", res)
		}
	}
	if c.Resources.Limits["memory"] == "" {
		t.Error("no resources.limits.memory")
	}

	// kustomization.yaml applies every manifest but the example Secret.
	var kz struct {
		Resources []string `yaml:"resources"`
	}
	findK8s(t, docs, "Kustomization", &kz)
	var want []string
	for _, d := range docs {
		if d.Kind != "Kustomization" && d.Kind != "Secret" && !slices.Contains(want, d.file) {
			want = append(want, d.file)
		}
	}
	sort.Strings(want)
	if got := slices.Sorted(slices.Values(kz.Resources)); !slices.Equal(got, want) {
		t.Errorf("kustomization resources %v, want %v", got, want)
	}
}

// ---------------------------------------------------------------- the docs --

const (
	beginGenerated = "<!-- BEGIN GENERATED: go test ./deploy -run TestConfigurationDoc -update -->"
	endGenerated   = "<!-- END GENERATED -->"
)

// configTable renders config.EnvVars() as the Markdown reference table.
func configTable() string {
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	var b strings.Builder
	b.WriteString("| Key | Environment variable | Default | Secret | Meaning |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, e := range config.EnvVars() {
		def := "—"
		if e.Default != "" {
			def = "`" + e.Default + "`"
		}
		secret := ""
		if e.Secret {
			secret = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s |\n", e.Key, e.Name, def, secret, cell(e.Description))
	}
	return b.String()
}

func TestConfigurationDoc(t *testing.T) {
	const rel = "docs/configuration.md"
	doc := string(readFile(t, rel))
	i := strings.Index(doc, beginGenerated)
	j := strings.Index(doc, endGenerated)
	if i < 0 || j < i {
		t.Fatalf("%s: no generated section (%s ... %s)", rel, beginGenerated, endGenerated)
	}
	want := doc[:i+len(beginGenerated)] + "\n" + configTable() + doc[j:]
	if want != doc {
		if *update {
			if err := os.WriteFile(filepath.Join(root, rel), []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Errorf("%s is out of date with config.EnvVars(); run: go test ./deploy -run TestConfigurationDoc -update", rel)
		}
		doc = want
	}
	for _, e := range config.EnvVars() {
		if !strings.Contains(doc, "`"+e.Name+"`") || !strings.Contains(doc, "`"+e.Key+"`") {
			t.Errorf("%s does not mention %s / %s", rel, e.Key, e.Name)
		}
	}
}

// TestDocsFollowCode checks the hand-written docs against names in the code.
func TestDocsFollowCode(t *testing.T) {
	ops := string(readFile(t, "docs/operations.md"))
	metricNames := regexp.MustCompile(`"(tinyforge_bot_[a-z0-9_]+)"`).FindAllStringSubmatch(string(readFile(t, "app/metrics.go")), -1)
	if len(metricNames) == 0 {
		t.Error("no metric names found in app/metrics.go")
	}
	for _, m := range metricNames {
		if !strings.Contains(ops, "`"+m[1]+"`") {
			t.Errorf("docs/operations.md does not describe the metric %s", m[1])
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "deliveries --state dead", "tinyforge-bot audit", "VACUUM INTO", ".backup"} {
		if !strings.Contains(ops, p) {
			t.Errorf("docs/operations.md does not mention %s", p)
		}
	}

	cmds := string(readFile(t, "docs/commands.md"))
	main := string(readFile(t, "app/main.go"))
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`case "([a-z-]+)":`).FindAllStringSubmatch(main, -1) {
		seen[m[1]] = true
	}
	if u := regexp.MustCompile("(?s)const usage = `(.*?)`").FindStringSubmatch(main); u != nil {
		for _, m := range regexp.MustCompile(`(?m)^  ([a-z]+)\b`).FindAllStringSubmatch(u[1], -1) {
			seen[m[1]] = true
		}
	}
	if len(seen) == 0 {
		t.Error("no CLI commands found in app/main.go")
	}
	for c := range seen {
		if !strings.Contains(cmds, "tinyforge-bot "+c) {
			t.Errorf("docs/commands.md does not document `tinyforge-bot %s`", c)
		}
	}
	for _, c := range []string{"/tinyforge sync", "/tinyforge plan", "/tinyforge help"} {
		if !strings.Contains(cmds, c) {
			t.Errorf("docs/commands.md does not document %s", c)
		}
	}

	ref := string(readFile(t, "docs/tinyforge-yml.md"))
	for _, s := range []string{"tinyforge.schema.json", "# yaml-language-server: $schema="} {
		if !strings.Contains(ref, s) {
			t.Errorf("docs/tinyforge-yml.md does not mention %s", s)
		}
	}
	setup := string(readFile(t, "docs/setup.md"))
	for _, s := range []string{"app.yml", "docker compose", "kubectl", "/api/github/hook"} {
		if !strings.Contains(setup, s) {
			t.Errorf("docs/setup.md does not mention %s", s)
		}
	}

	// Relative links between the docs resolve.
	link := regexp.MustCompile(`\]\(([^)#:\s]+)(#[^)]*)?\)`)
	files, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(data), -1) {
			target := filepath.Join(filepath.Dir(f), filepath.FromSlash(m[1]))
			if _, err := os.Stat(target); err != nil && !strings.HasSuffix(m[1], "tinyforge.schema.json") {
				t.Errorf("%s links to %s, which does not exist", filepath.Base(f), m[1])
			}
		}
	}
}
