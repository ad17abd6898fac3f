package gitops

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./gitops -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden (run go test ./gitops -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// hostile values that must not break a table, ping anyone or inject HTML.
var hostile = []string{
	"a|b", `back\slash\`, "two\nlines\r\n", "``tick`s`", "@octocat hi @org/team", "<img src=x onerror=alert(1)>&amp;",
	"see #123 and GH-7", "http://evil.example www.evil.example", "\u202eevil\u200d", "` |`",
}

func renderCases() map[string]struct {
	p *Plan
	o RenderOptions
} {
	live := map[string]any{"port": 8080.0, "deploy_strategy": "", "healthcheck": "/healthz"}
	drift := BuildPlan([]byte(fullFile), "dockerfile", live)
	hostileDrift := &Plan{Status: StatusDrift, Errors: []Problem{}, Warnings: []Problem{}, ManagedFields: []string{FieldHealthcheck}}
	for _, h := range hostile {
		hostileDrift.Drift = append(hostileDrift.Drift, DriftEntry{Field: FieldHealthcheck, Repo: h, Live: h})
	}
	hostileDrift.Drift = append(hostileDrift.Drift, DriftEntry{Field: FieldPort, Repo: 9090, Live: nil})
	invalid := BuildPlan([]byte("version: 1\n\"@admin <b>|x\": 1\ndeploy:\n  port: 70000\n  deploy_strategy: \"#1 `rm -rf` @you\"\n  max_instances: 2\n"), "dockerfile", live)
	return map[string]struct {
		p *Plan
		o RenderOptions
	}{
		"in_sync": {BuildPlan([]byte("version: 1\ndeploy:\n  port: 8080\n"), "dockerfile", live), RenderOptions{Workload: "api", Path: ".tinyforge.yml"}},
		"drift":   {drift, RenderOptions{Workload: "api", Path: ".tinyforge.yml"}},
		"invalid": {invalid, RenderOptions{Workload: "api", Path: "deploy/.tinyforge.yml"}},
		"hostile": {hostileDrift, RenderOptions{Workload: "@octocat <script>|#1", Path: "x|`y`.yml"}},
		"no_name": {Validate([]byte("version: 1\n"), ""), RenderOptions{}},
	}
}

func TestRenderGolden(t *testing.T) {
	for name, c := range renderCases() {
		t.Run(name, func(t *testing.T) {
			golden(t, name+".md", RenderMarkdown(c.p, c.o))
			golden(t, name+".txt", RenderText(c.p, c.o.Path))
			j, err := c.p.JSON()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".json", string(j)+"\n")
		})
	}
}

var (
	mention  = regexp.MustCompile(`(^|[^\w\x60])@[A-Za-z0-9]`)
	issueRef = regexp.MustCompile(`(^|[^\w\x60])#[0-9]`)
)

// TestMarkdownSafety checks every hostile value on its own: each table row
// keeps exactly four unescaped pipes, no raw HTML, no live mention or ref
// outside code spans, and no raw newline inside a row.
func TestMarkdownSafety(t *testing.T) {
	for _, h := range hostile {
		p := &Plan{Status: StatusDrift, Drift: []DriftEntry{{Field: h, Repo: h, Live: h}},
			Warnings: []Problem{{Field: h, Line: 1, Column: 1, Message: h}}, Errors: []Problem{{Message: h}}}
		md := RenderMarkdown(p, RenderOptions{Workload: h, Path: h})
		for _, line := range strings.Split(md, "\n") {
			if strings.HasPrefix(line, "| `") || strings.HasPrefix(line, "| *") {
				if n := countUnescapedPipes(line); n != 4 {
					t.Errorf("value %q: row has %d cell separators: %s", h, n, line)
				}
			}
			outside := stripCodeSpans(line)
			if strings.ContainsAny(outside, "<>") {
				t.Errorf("value %q: raw angle bracket outside code: %s", h, line)
			}
			if mention.MatchString(outside) || issueRef.MatchString(outside) {
				t.Errorf("value %q: live mention/ref: %s", h, line)
			}
			if strings.Contains(outside, "://") || strings.Contains(strings.ToLower(outside), "www.") {
				t.Errorf("value %q: autolink: %s", h, line)
			}
		}
	}
}

func countUnescapedPipes(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == '|' {
			n++
		}
	}
	return n
}

// stripCodeSpans removes code spans (any fence length) from a line.
func stripCodeSpans(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '`' {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] == '`' {
			j++
		}
		fence := s[i:j]
		end := strings.Index(s[j:], fence)
		if end < 0 {
			b.WriteString(s[i:])
			break
		}
		i = j + end + len(fence)
	}
	return b.String()
}

func TestRenderTextEscapesControls(t *testing.T) {
	p := &Plan{Status: StatusDrift, Drift: []DriftEntry{{Field: FieldHealthcheck, Repo: "/a\x1b[2Jb", Live: "x\ny"}},
		Errors: []Problem{{Line: 2, Column: 3, Message: "bad \x1b[31m"}}}
	out := RenderText(p, "f.yml")
	if strings.Contains(out, "\x1b") || strings.Count(out, "\n") != 3 {
		t.Fatalf("control characters leaked:\n%q", out)
	}
}
