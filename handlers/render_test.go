package handlers

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge-bot/gitops"
)

var update = flag.Bool("update", false, "rewrite golden files")

var liveDockerfile = map[string]any{"repo_url": "https://github.com/acme/web", "branch": "main", "port": 8080.0, "healthcheck": "/healthz", "deploy_strategy": "recreate"}

func TestRenderCheckGolden(t *testing.T) {
	plan := func(file string) *gitops.Plan { return gitops.BuildPlan([]byte(file), "dockerfile", liveDockerfile) }
	base := checkResult{Workload: "web", Path: ".tinyforge.yml", SHA: "0123456789abcdef0123456789abcdef01234567", Branch: "main"}
	with := func(f func(*checkResult)) checkResult { r := base; f(&r); return r }
	tests := []struct {
		name       string
		result     checkResult
		conclusion string
	}{
		{"in_sync", with(func(r *checkResult) { r.Plan = plan("version: 1\ndeploy:\n  port: 8080\n") }), "success"},
		{"drift", with(func(r *checkResult) {
			r.Plan = plan("version: 1\ndeploy:\n  port: 9090\n  deploy_strategy: blue-green\n")
		}), "neutral"},
		{"warnings", with(func(r *checkResult) {
			r.Plan = plan("version: 1\ndeploy:\n  port: 8080\n  max_instances: 2\n")
		}), "success"},
		{"invalid", with(func(r *checkResult) { r.Plan = plan("version: 1\ndeploy:\n  port: 70000\n  colour: red\n") }), "failure"},
		{"hostile_values", with(func(r *checkResult) {
			r.Workload = "web`@admins"
			r.Plan = plan("version: 1\ndeploy:\n  healthcheck: \"/a|b`<img/src=x>@team\"\n")
		}), "neutral"},
		{"missing_file", with(func(r *checkResult) { r.Missing = true }), "failure"},
		{"tinyforge_unreachable", with(func(r *checkResult) {
			r.Unreachable, r.Reason = "Tinyforge", "GET /api/workloads/7: connection refused"
		}), "failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := renderCheck(tt.result)
			if out.Conclusion != tt.conclusion {
				t.Errorf("conclusion = %q, want %q", out.Conclusion, tt.conclusion)
			}
			golden(t, filepath.Join("testdata", "golden", tt.name+".md"), describe(out))
		})
	}
}

func TestRenderCheckInvalidAnnotatesLines(t *testing.T) {
	out := renderCheck(checkResult{Workload: "web", Path: "deploy/.tinyforge.yml", SHA: "abc", Plan: gitops.BuildPlan([]byte("version: 1\ndeploy:\n  port: 70000\n"), "dockerfile", liveDockerfile)})
	if len(out.Annotations) == 0 {
		t.Fatal("no annotations")
	}
	a := out.Annotations[0]
	if a.GetPath() != "deploy/.tinyforge.yml" || a.GetStartLine() != 3 || a.GetAnnotationLevel() != "failure" {
		t.Errorf("annotation = %s:%d %s, want deploy/.tinyforge.yml:3 failure", a.GetPath(), a.GetStartLine(), a.GetAnnotationLevel())
	}
}

func TestRenderCheckHugeSummaryIsCut(t *testing.T) {
	long := strings.Repeat("x", 500)
	var file strings.Builder
	file.WriteString("version: 1\ndeploy:\n")
	for i := range 300 {
		fmt.Fprintf(&file, "  unknown_%d_%s: 1\n", i, long)
	}
	out := renderCheck(checkResult{Workload: "web", Path: ".tinyforge.yml", SHA: "abc", Plan: gitops.BuildPlan([]byte(file.String()), "dockerfile", liveDockerfile)})
	if len(out.Summary) > maxOutputBytes {
		t.Fatalf("summary is %d bytes, over GitHub's %d", len(out.Summary), maxOutputBytes)
	}
	if out.Conclusion != "failure" {
		t.Errorf("conclusion = %q", out.Conclusion)
	}
}

func describe(o checkOutput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "conclusion: %s\ntitle: %s\n\n--- summary ---\n%s\n", o.Conclusion, o.Title, o.Summary)
	if o.Text != "" {
		fmt.Fprintf(&b, "--- text ---\n%s\n", o.Text)
	}
	b.WriteString("--- annotations ---\n")
	for _, a := range o.Annotations {
		fmt.Fprintf(&b, "%s:%d:%d %s [%s] %s\n", a.GetPath(), a.GetStartLine(), a.GetStartColumn(), a.GetAnnotationLevel(), a.GetTitle(), a.GetMessage())
	}
	return b.String()
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create): %v", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}
