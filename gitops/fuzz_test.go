package gitops

import (
	"encoding/json"
	"strings"
	"testing"
)

func fuzzSeeds() []string {
	return []string{
		fullFile,
		"version: 1\n",
		"version: 1\ndeploy:\n  deploy_strategy: recreate\n",
		"",
		"~",
		"version: 1\n---\nversion: 1\n",
		"version: 1\nversion: 1\n",
		"version: 1\nenv: {TOKEN: x}\ndeploy: {faces: [], port: \"80\"}\n",
		"version: 1\ndeploy:\n  port: &p 80\n  resources: {memory_limit: *p}\n",
		"version: 1\ndeploy: {<<: {port: 1}}\n",
		billionLaughs(6),
		"version: 1\ndeploy:\n  healthcheck: \"/\\u202e@x|`<b>`\"\n",
		"version: !!binary aGVsbG8=\n",
		"version: 2001-12-14\n",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
		"{a: {a: {a: {a: {a: {a: {a: {a: 1}}}}}}}}",
		"? [a, b]\n: c\n",
		"version: 1\ndeploy:\n  port: 65535\n  healthcheck: \"\"\n  deploy_strategy: blue-green\n",
		"\xef\xbb\xbfversion: 1\n",
		"version: 1\x00\n",
		strings.Repeat("k: v\n", 200),
	}
}

// FuzzParseSpec: parsing and planning never panic, the plan JSON is always
// valid, and an invalid plan never carries a merged config or drift.
func FuzzParseSpec(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	lives := []map[string]any{
		nil,
		{"port": 8080.0, "healthcheck": "/h", "deploy_strategy": "blue-green", "x": []any{1.0}},
		{"port": "junk", "healthcheck": 5.0, "deploy_strategy": nil},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, probs := ParseSpec(data)
		if (spec == nil) == (len(probs) == 0) {
			t.Fatalf("spec nil=%v with %d problems", spec == nil, len(probs))
		}
		check := func(p *Plan) {
			b, err := p.JSON()
			if err != nil || !json.Valid(b) {
				t.Fatalf("invalid JSON %v: %s", err, b)
			}
			if p.Status == StatusInvalid && (p.Merged != nil || len(p.Drift) != 0 || len(p.Errors) == 0) {
				t.Fatalf("invalid plan with merged/drift or no errors: %s", b)
			}
			if p.Status != StatusInvalid && len(p.Errors) != 0 {
				t.Fatalf("errors but status %s", p.Status)
			}
			_ = RenderMarkdown(p, RenderOptions{Workload: "w"})
			_ = RenderText(p, "f")
		}
		for _, src := range []string{"dockerfile", "static", "image", "compose", "other", ""} {
			for _, live := range lives {
				check(BuildPlan(data, src, live))
			}
			check(Validate(data, src))
		}
	})
}
