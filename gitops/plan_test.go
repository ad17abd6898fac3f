package gitops

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const fullFile = `version: 1
deploy:
  port: 9090
  healthcheck: /healthz
  deploy_strategy: blue-green
  resources: { cpu_limit: 0.5, memory_limit: 256 }
  max_instances: 1
`

func dockerLive() map[string]any {
	return map[string]any{"repo_url": "https://github.com/acme/api", "branch": "main", "port": 8080.0,
		"healthcheck": "/healthz", "deploy_strategy": "", "extra": map[string]any{"nested": []any{1.0, "x"}}}
}

func TestRuleSourceAware(t *testing.T) {
	cases := []struct {
		name     string
		source   string
		file     string
		managed  []string
		warnings []want
		errs     []want
	}{
		{"dockerfile applies three", "dockerfile", fullFile,
			[]string{FieldDeployStrategy, FieldHealthcheck, FieldPort},
			[]want{{FieldCPULimit, 6, 27, "not applied in v1"}, {FieldMemoryLimit, 6, 46, "not applied in v1"}, {FieldMaxInstances, 7, 18, "not applied in v1"}}, nil},
		{"static applies strategy", "static", "version: 1\ndeploy:\n  port: 80\n  healthcheck: /h\n  deploy_strategy: recreate\n",
			[]string{FieldDeployStrategy},
			[]want{{FieldPort, 3, 9, "does not apply to static workloads"}, {FieldHealthcheck, 4, 16, "does not apply to static"}}, nil},
		{"empty resources", "dockerfile", "version: 1\ndeploy:\n  resources: {}\n", []string{},
			[]want{{"deploy.resources", 3, 14, "is empty and not applied"}}, nil},
		{"image not eligible", "image", "version: 1\n", []string{}, nil, []want{{"", 0, 0, `workload source "image" is not eligible`}}},
		{"compose not eligible", "compose", "version: 1\ndeploy:\n  port: 80\n", []string{}, nil, []want{{"", 0, 0, `"compose" is not eligible`}}},
		{"unknown source", "lambda", "version: 1\n", []string{}, nil, []want{{"", 0, 0, "not eligible"}}},
		{"empty source", "", "version: 1\n", []string{}, nil, []want{{"", 0, 0, "(none)"}}},
		{"parse errors and source together", "image", "version: 3\n", []string{}, nil, []want{{"version", 1, 10, "unsupported"}, {"", 0, 0, "not eligible"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := BuildPlan([]byte(tc.file), tc.source, dockerLive())
			checkProblems(t, p.Warnings, tc.warnings)
			checkProblems(t, p.Errors, tc.errs)
			if len(tc.errs) == 0 && !reflect.DeepEqual(p.ManagedFields, tc.managed) {
				t.Errorf("managed = %v, want %v", p.ManagedFields, tc.managed)
			}
			if len(tc.errs) > 0 && (p.Status != StatusInvalid || p.Merged != nil) {
				t.Errorf("status %s merged %v", p.Status, p.Merged)
			}
			for _, d := range p.Drift {
				if !Applicable(tc.source, d.Field) {
					t.Errorf("drift on non-applicable %s", d.Field)
				}
			}
			if p.Merged != nil {
				for _, k := range []string{"cpu_limit", "memory_limit", "max_instances", "resources"} {
					if _, ok := p.Merged[k]; ok {
						t.Errorf("merged has %s", k)
					}
				}
			}
		})
	}
}

func TestRuleMergedValidation(t *testing.T) {
	cases := []struct {
		name   string
		source string
		file   string
		live   map[string]any
		errs   []want
	}{
		{"live port float is integer", "dockerfile", "version: 1\n", map[string]any{"port": 8080.0}, nil},
		{"live port json.Number", "dockerfile", "version: 1\n", map[string]any{"port": json.Number("8080")}, nil},
		{"live port fractional", "dockerfile", "version: 1\n", map[string]any{"port": 80.5},
			[]want{{FieldPort, 0, 0, "the live value is invalid and .tinyforge.yml does not override it: must be an integer between 1 and 65535, got 80.5"}}},
		{"live port out of range", "dockerfile", "version: 1\n", map[string]any{"port": 70000.0}, []want{{FieldPort, 0, 0, "got 70000"}}},
		{"live port string", "dockerfile", "version: 1\n", map[string]any{"port": "8080"}, []want{{FieldPort, 0, 0, `got "8080"`}}},
		{"declared port fixes bad live", "dockerfile", "version: 1\ndeploy:\n  port: 80\n", map[string]any{"port": "junk"}, nil},
		{"live healthcheck scheme", "dockerfile", "version: 1\n", map[string]any{"healthcheck": "http://x/"}, []want{{FieldHealthcheck, 0, 0, "no scheme or host"}}},
		{"live strategy bad", "dockerfile", "version: 1\n", map[string]any{"deploy_strategy": "canary"}, []want{{FieldDeployStrategy, 0, 0, `got "canary"`}}},
		{"static ignores live port", "static", "version: 1\n", map[string]any{"port": "junk"}, nil},
		{"blue-green declared, healthcheck declared empty", "dockerfile", "version: 1\ndeploy:\n  healthcheck: \"\"\n  deploy_strategy: blue-green\n", nil,
			[]want{{FieldDeployStrategy, 4, 20, "blue-green needs a non-empty healthcheck so the new container can prove healthy before traffic moves, but deploy.healthcheck is empty"}}},
		{"blue-green declared, live healthcheck empty", "dockerfile", "version: 1\ndeploy:\n  deploy_strategy: blue-green\n", map[string]any{"healthcheck": ""},
			[]want{{FieldDeployStrategy, 3, 20, "the live healthcheck is empty and .tinyforge.yml does not set deploy.healthcheck"}}},
		{"blue-green declared, live healthcheck absent", "dockerfile", "version: 1\ndeploy:\n  deploy_strategy: blue-green\n", map[string]any{},
			[]want{{FieldDeployStrategy, 3, 20, "the live config has no healthcheck"}}},
		{"blue-green declared, live healthcheck set", "dockerfile", "version: 1\ndeploy:\n  deploy_strategy: blue-green\n", map[string]any{"healthcheck": "/up"}, nil},
		{"live blue-green, healthcheck declared empty", "dockerfile", "version: 1\ndeploy:\n  healthcheck: \"\"\n", map[string]any{"deploy_strategy": "blue-green", "healthcheck": "/up"},
			[]want{{FieldHealthcheck, 3, 16, "live deploy_strategy is blue-green (not declared in .tinyforge.yml)"}}},
		{"live blue-green without healthcheck", "dockerfile", "version: 1\ndeploy:\n  port: 80\n", map[string]any{"deploy_strategy": "blue-green"},
			[]want{{FieldDeployStrategy, 0, 0, "the live config uses blue-green without a healthcheck"}}},
		{"static blue-green needs none", "static", "version: 1\ndeploy:\n  deploy_strategy: blue-green\n", map[string]any{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := BuildPlan([]byte(tc.file), tc.source, tc.live)
			checkProblems(t, p.Errors, tc.errs)
			if len(tc.errs) > 0 {
				if p.Status != StatusInvalid || p.Merged != nil || len(p.Drift) != 0 {
					t.Errorf("invalid plan leaked: status %s merged %v drift %v", p.Status, p.Merged, p.Drift)
				}
			} else if p.Status == StatusInvalid || p.Merged == nil {
				t.Errorf("unexpected invalid plan: %+v", p)
			}
		})
	}
}

func TestRuleMergePreservesLive(t *testing.T) {
	live := dockerLive()
	before, _ := json.Marshal(live)
	p := BuildPlan([]byte("version: 1\ndeploy:\n  port: 9090\n"), "dockerfile", live)
	after, _ := json.Marshal(live)
	if string(before) != string(after) {
		t.Fatalf("live mutated:\n%s\n%s", before, after)
	}
	if p.Merged["port"] != 9090 || p.Merged["healthcheck"] != "/healthz" || p.Merged["repo_url"] != "https://github.com/acme/api" {
		t.Fatalf("merged = %v", p.Merged)
	}
	// The merged config is a deep copy: changing it leaves live alone.
	p.Merged["extra"].(map[string]any)["nested"].([]any)[0] = "changed"
	if live["extra"].(map[string]any)["nested"].([]any)[0] != 1.0 {
		t.Fatal("merged shares nested values with live")
	}
	// nil live works and yields a map holding only declared fields.
	p = BuildPlan([]byte("version: 1\ndeploy:\n  port: 9090\n"), "dockerfile", nil)
	if len(p.Merged) != 1 || p.Merged["port"] != 9090 {
		t.Fatalf("merged from nil live = %v", p.Merged)
	}
}

func TestRuleDrift(t *testing.T) {
	cases := []struct {
		name   string
		source string
		file   string
		live   map[string]any
		status Status
		drift  []DriftEntry
	}{
		{"int equals float", "dockerfile", "version: 1\ndeploy:\n  port: 8080\n", map[string]any{"port": 8080.0}, StatusInSync, nil},
		{"int equals json.Number", "dockerfile", "version: 1\ndeploy:\n  port: 8080\n", map[string]any{"port": json.Number("8080")}, StatusInSync, nil},
		{"port differs", "dockerfile", "version: 1\ndeploy:\n  port: 9090\n", map[string]any{"port": 8080.0}, StatusDrift,
			[]DriftEntry{{FieldPort, 9090, 8080.0}}},
		{"empty strategy equals recreate", "dockerfile", "version: 1\ndeploy:\n  deploy_strategy: recreate\n", map[string]any{"deploy_strategy": ""}, StatusInSync, nil},
		{"recreate equals absent-empty", "static", "version: 1\ndeploy:\n  deploy_strategy: \"\"\n", map[string]any{"deploy_strategy": "recreate"}, StatusInSync, nil},
		{"absent live is unset", "dockerfile", "version: 1\ndeploy:\n  healthcheck: /h\n", map[string]any{}, StatusDrift,
			[]DriftEntry{{FieldHealthcheck, "/h", nil}}},
		{"null live is unset", "dockerfile", "version: 1\ndeploy:\n  healthcheck: /h\n", map[string]any{"healthcheck": nil}, StatusDrift,
			[]DriftEntry{{FieldHealthcheck, "/h", nil}}},
		{"omitted fields never drift", "dockerfile", "version: 1\ndeploy:\n  port: 8080\n", map[string]any{"port": 8080.0, "healthcheck": "/other"}, StatusInSync, nil},
		{"not applicable never drifts", "static", "version: 1\ndeploy:\n  port: 1\n  deploy_strategy: recreate\n", map[string]any{"port": 2.0, "deploy_strategy": ""}, StatusInSync, nil},
		{"resources never drift", "dockerfile", "version: 1\ndeploy:\n  resources: {cpu_limit: 2}\n  max_instances: 3\n", map[string]any{}, StatusInSync, nil},
		{"ordered by field", "dockerfile", fullFile, map[string]any{"port": 1.0, "healthcheck": "/x", "deploy_strategy": "recreate"}, StatusDrift,
			[]DriftEntry{{FieldDeployStrategy, "blue-green", "recreate"}, {FieldHealthcheck, "/healthz", "/x"}, {FieldPort, 9090, 1.0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := BuildPlan([]byte(tc.file), tc.source, tc.live)
			if len(p.Errors) > 0 {
				t.Fatalf("errors: %v", p.Errors)
			}
			if p.Status != tc.status {
				t.Errorf("status = %s, want %s", p.Status, tc.status)
			}
			if tc.drift == nil {
				tc.drift = []DriftEntry{}
			}
			if !reflect.DeepEqual(p.Drift, tc.drift) {
				t.Errorf("drift = %#v, want %#v", p.Drift, tc.drift)
			}
		})
	}
}

func TestValidateWithoutLive(t *testing.T) {
	cases := []struct {
		name     string
		source   string
		file     string
		status   Status
		managed  []string
		warnings []want
		errs     []want
	}{
		{"no source: everything applied counts", "", fullFile, StatusInSync, []string{FieldDeployStrategy, FieldHealthcheck, FieldPort},
			[]want{{FieldCPULimit, 6, 27, "not applied"}, {FieldMemoryLimit, 6, 46, "not applied"}, {FieldMaxInstances, 7, 18, "not applied"}}, nil},
		{"no source: blue-green without healthcheck not decided", "", "version: 1\ndeploy:\n  deploy_strategy: blue-green\n", StatusInSync, []string{FieldDeployStrategy}, nil, nil},
		{"dockerfile: blue-green without healthcheck warns", "dockerfile", "version: 1\ndeploy:\n  deploy_strategy: blue-green\n", StatusInSync, []string{FieldDeployStrategy},
			[]want{{FieldDeployStrategy, 3, 20, "the live config must provide one"}}, nil},
		{"dockerfile: blue-green with empty healthcheck fails", "dockerfile", "version: 1\ndeploy:\n  healthcheck: \"\"\n  deploy_strategy: blue-green\n", StatusInvalid, nil,
			nil, []want{{FieldDeployStrategy, 4, 20, "deploy.healthcheck is empty"}}},
		{"static: port warns", "static", "version: 1\ndeploy:\n  port: 1\n", StatusInSync, []string{}, []want{{FieldPort, 3, 9, "does not apply to static"}}, nil},
		{"image source fails", "image", "version: 1\n", StatusInvalid, nil, nil, []want{{"", 0, 0, "not eligible"}}},
		{"parse error", "", "version: 1\ndeploy:\n  port: 70000\n", StatusInvalid, nil, nil, []want{{FieldPort, 3, 9, "got 70000"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Validate([]byte(tc.file), tc.source)
			if p.Status != tc.status || p.Merged != nil || len(p.Drift) != 0 {
				t.Errorf("status %s merged %v drift %v", p.Status, p.Merged, p.Drift)
			}
			checkProblems(t, p.Warnings, tc.warnings)
			checkProblems(t, p.Errors, tc.errs)
			if tc.managed != nil && !reflect.DeepEqual(p.ManagedFields, tc.managed) {
				t.Errorf("managed = %v, want %v", p.ManagedFields, tc.managed)
			}
		})
	}
}

func TestPlanJSONShape(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    *Plan
	}{
		{"invalid", BuildPlan([]byte("version: 2\n"), "dockerfile", nil)},
		{"drift", BuildPlan([]byte("version: 1\ndeploy:\n  port: 9090\n"), "dockerfile", map[string]any{"port": 8080.0})},
		{"zero value", &Plan{Status: StatusInSync}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.p.JSON()
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			keys := []string{"status", "errors", "warnings", "managed_fields", "drift", "merged"}
			if len(m) != len(keys) {
				t.Fatalf("keys: %s", b)
			}
			for _, k := range keys[1:5] {
				if s := string(m[k]); !strings.HasPrefix(s, "[") {
					t.Errorf("%s = %s, want an array", k, s)
				}
			}
			if tc.p.Status != StatusDrift && string(m["merged"]) != "null" {
				t.Errorf("merged = %s", m["merged"])
			}
		})
	}
	b, _ := BuildPlan([]byte("version: 1\ndeploy:\n  port: 9090\n"), "dockerfile", map[string]any{"port": 8080.0}).JSON()
	want := `{"status":"drift","errors":[],"warnings":[],"managed_fields":["deploy.port"],"drift":[{"field":"deploy.port","repo":9090,"live":8080}],"merged":{"port":9090}}`
	if string(b) != want {
		t.Fatalf("JSON =\n%s\nwant\n%s", b, want)
	}
}
