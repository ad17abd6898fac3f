package app

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTemp(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLIValidateAndPlan(t *testing.T) {
	dir := t.TempDir()
	good := writeTemp(t, dir, "good.yml", "version: 1\ndeploy:\n  port: 9090\n  healthcheck: /healthz\n  max_instances: 2\n")
	bad := writeTemp(t, dir, "bad.yml", "version: 1\ndeploy:\n  port: 70000\n  faces: []\n")
	bg := writeTemp(t, dir, "bg.yml", "version: 1\ndeploy:\n  deploy_strategy: blue-green\n")
	big := writeTemp(t, dir, "big.yml", "version: 1\n"+strings.Repeat("#", 70000))
	liveDrift := writeTemp(t, dir, "drift.json", `{"id":7,"name":"api","source":"dockerfile","source_config":{"repo_url":"https://github.com/a/b","port":8080,"healthcheck":"/healthz"}}`)
	liveSync := writeTemp(t, dir, "sync.json", `{"id":"w-1","name":"api","source":"dockerfile","source_config":{"port":9090.0,"healthcheck":"/healthz"}}`)
	liveNoHC := writeTemp(t, dir, "nohc.json", `{"id":"w-1","name":"api","source":"dockerfile","source_config":{"port":9090}}`)
	liveImage := writeTemp(t, dir, "image.json", `{"id":1,"name":"img","source":"image","source_config":{"image":"nginx"}}`)
	liveBroken := writeTemp(t, dir, "broken.json", `{"id":1,`)
	liveArray := writeTemp(t, dir, "array.json", `[]`)
	liveNoSource := writeTemp(t, dir, "nosource.json", `{"id":1}`)
	missing := filepath.Join(dir, "missing.yml")

	cases := []struct {
		name       string
		args       []string
		code       int
		stdout     []string // substrings
		stderr     []string
		jsonStatus string
	}{
		{"validate ok", []string{"validate", good}, 0, []string{good + ":5:18: warning: deploy.max_instances: is valid but not applied", good + ": valid (2 managed fields)"}, nil, ""},
		{"validate errors", []string{"validate", bad}, 1, []string{bad + ":3:9: deploy.port: must be an integer between 1 and 65535, got 70000", bad + ":4:3: deploy.faces: unknown key"}, nil, ""},
		{"validate flags after file", []string{"validate", bad, "--format", "json"}, 1, []string{`"field":"deploy.port"`}, nil, "invalid"},
		{"validate json ok", []string{"validate", "--format", "json", good}, 0, []string{`"merged":null`, `"drift":[]`}, nil, "in_sync"},
		{"validate source static warns", []string{"validate", "--source", "static", good}, 0, []string{"does not apply to static workloads"}, nil, ""},
		{"validate dockerfile blue-green warns", []string{"validate", "--source=dockerfile", bg}, 0, []string{"warning: deploy.deploy_strategy: blue-green needs"}, nil, ""},
		{"validate bad source", []string{"validate", "--source", "image", good}, 1, nil, []string{"--source must be dockerfile or static"}, ""},
		{"validate bad format", []string{"validate", "--format", "yaml", good}, 1, nil, []string{"--format must be text or json"}, ""},
		{"validate missing file", []string{"validate", missing}, 1, nil, []string{"missing.yml"}, ""},
		{"validate no file", []string{"validate"}, 1, nil, []string{"expected exactly one FILE", "usage:"}, ""},
		{"validate two files", []string{"validate", good, bad}, 1, nil, []string{"expected exactly one FILE, got 2"}, ""},
		{"validate unknown flag", []string{"validate", "--nope", good}, 1, nil, []string{"flag provided but not defined"}, ""},
		{"validate too big", []string{"validate", big}, 1, []string{"refused before parsing"}, nil, ""},
		{"plan drift text", []string{"plan", "--live", liveDrift, good}, 2, []string{"drift: 1 field differs", "deploy.port: 9090 (repo) != 8080 (live)"}, nil, ""},
		{"plan drift json", []string{"plan", "--format", "json", "--live", liveDrift, good}, 2, []string{`"drift":[{"field":"deploy.port","repo":9090,"live":8080}]`, `"repo_url":"https://github.com/a/b"`}, nil, "drift"},
		{"plan drift markdown", []string{"plan", "--live", liveDrift, "--format", "markdown", good}, 2, []string{"### ⚠️ api: drift", "| `deploy.port` | `9090` | `8080` |"}, nil, ""},
		{"plan in sync", []string{"plan", "--live", liveSync, good}, 0, []string{`in sync with workload "api" (2 managed fields)`}, nil, ""},
		{"plan in sync json", []string{"plan", "--live", liveSync, "--format", "json", good}, 0, []string{`"managed_fields":["deploy.healthcheck","deploy.port"]`}, nil, "in_sync"},
		{"plan invalid file", []string{"plan", "--live", liveSync, bad}, 1, []string{bad + ":3:9:", "invalid; nothing can be applied"}, nil, ""},
		{"plan invalid merged", []string{"plan", "--live", liveNoHC, "--format", "json", bg}, 1, []string{`"merged":null`, "the live config has no healthcheck"}, nil, "invalid"},
		{"plan image not eligible", []string{"plan", "--live", liveImage, good}, 1, []string{`workload source "image" is not eligible`}, nil, ""},
		{"plan no live", []string{"plan", good}, 1, nil, []string{"--live WORKLOAD.json is required"}, ""},
		{"plan missing live", []string{"plan", "--live", filepath.Join(dir, "nope.json"), good}, 1, nil, []string{"live workload", "nope.json"}, ""},
		{"plan malformed live", []string{"plan", "--live", liveBroken, good}, 1, nil, []string{"broken.json: not valid JSON"}, ""},
		{"plan live not object", []string{"plan", "--live", liveArray, good}, 1, nil, []string{"array.json: must be a JSON object"}, ""},
		{"plan live without source", []string{"plan", "--live", liveNoSource, good}, 1, nil, []string{`nosource.json: missing "source"`}, ""},
		{"plan missing file", []string{"plan", "--live", liveSync, missing}, 1, nil, []string{"missing.yml"}, ""},
		{"plan bad format", []string{"plan", "--live", liveSync, "--format", "html", good}, 1, nil, []string{"--format must be text, markdown or json"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout.String(), stderr.String())
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			if tc.jsonStatus != "" {
				var m map[string]json.RawMessage
				if err := json.Unmarshal(stdout.Bytes(), &m); err != nil {
					t.Fatalf("stdout is not JSON: %v\n%s", err, stdout.String())
				}
				for _, k := range []string{"status", "errors", "warnings", "managed_fields", "drift", "merged"} {
					if _, ok := m[k]; !ok {
						t.Errorf("JSON lacks %q", k)
					}
				}
				if len(m) != 6 {
					t.Errorf("JSON has %d keys, want 6: %s", len(m), stdout.String())
				}
				if string(m["status"]) != `"`+tc.jsonStatus+`"` {
					t.Errorf("status = %s, want %s", m["status"], tc.jsonStatus)
				}
			}
		})
	}
}

func TestCLIExamples(t *testing.T) {
	root := filepath.Join("..", "examples")
	cases := []struct {
		dir      string
		validate int
		plan     int
	}{
		{"dockerfile", 0, 2},
		{"static", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.dir, func(t *testing.T) {
			file := filepath.Join(root, tc.dir, ".tinyforge.yml")
			live := filepath.Join(root, tc.dir, "workload.json")
			var out, errb bytes.Buffer
			if code := run([]string{"validate", "--source", tc.dir, file}, &out, &errb); code != tc.validate {
				t.Errorf("validate exit %d, want %d: %s%s", code, tc.validate, out.String(), errb.String())
			}
			for _, format := range []string{"text", "markdown", "json"} {
				out.Reset()
				errb.Reset()
				if code := run([]string{"plan", "--live", live, "--format", format, file}, &out, &errb); code != tc.plan {
					t.Errorf("plan --format %s exit %d, want %d: %s%s", format, code, tc.plan, out.String(), errb.String())
				}
			}
		})
	}
}
