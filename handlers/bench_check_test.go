package handlers

import (
	"testing"

	"github.com/tinyforge/tinyforge-bot/gitops"
)

// BenchmarkRenderCheck measures building a check run's body (conclusion,
// title, markdown summary, annotations) from a plan already made; the plan
// itself is gitops.BenchmarkParsePlanRender's business.
func BenchmarkRenderCheck(b *testing.B) {
	live := map[string]any{"repo_url": "https://github.com/acme/web", "branch": "main", "port": 8080.0, "healthcheck": "/healthz", "deploy_strategy": "recreate"}
	cases := []struct{ name, file string }{
		// The common case of a PR that changes the file: one field drifts.
		{"drift", "version: 1\ndeploy:\n  port: 9090\n  healthcheck: /healthz\n"},
		{"in_sync", "version: 1\ndeploy:\n  port: 8080\n  healthcheck: /healthz\n"},
		// Errors and warnings: annotations are built too.
		{"invalid", "version: 1\ndeploy:\n  port: 70000\n  colour: red\n  max_instances: 2\n  healthcheck: healthz\n"},
	}
	for _, c := range cases {
		r := checkResult{Workload: "web", Path: ".tinyforge.yml", SHA: "0123456789abcdef0123456789abcdef01234567", Branch: "main",
			Plan: gitops.BuildPlan([]byte(c.file), "dockerfile", live)}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var bytes int
			for b.Loop() {
				out := renderCheck(r)
				bytes = len(out.Summary)
			}
			b.ReportMetric(float64(bytes), "summary_bytes")
		})
	}
}
