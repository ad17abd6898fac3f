package app

import (
	"bytes"
	"strings"
	"testing"
)

func TestDemoRunsTheWholeStory(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"demo"}, &out, &errOut); code != 0 {
		t.Fatalf("demo exit %d:\n%s\n%s", code, out.String(), errOut.String())
	}
	mustContain(t, "demo output", out.String(),
		"| `deploy.port` | `9090` | `8080` |", // the PR's drift row
		"needs the **admin** role",            // bob denied
		"👀 🚀",                                 // alice's sync
		"now has port 9090",
		"denied", "applied", // audit
		"✓ every step turned out as narrated")
	if strings.Contains(out.String(), fakeTinyforgeToken) {
		t.Error("the demo prints the Tinyforge token")
	}
}

func TestMetricsAfterTraffic(t *testing.T) {
	w := newSyncWorld(t, true)
	c, _ := w.comment(t, w.pr, "alice", "/tinyforge sync")
	w.finished(t, c)
	text, err := w.Scrape()
	if err != nil {
		t.Fatal(err)
	}
	for _, family := range []string{
		"tinyforge_bot_webhooks_total", "tinyforge_bot_deliveries_processed_total", "tinyforge_bot_processing_seconds_count",
		"tinyforge_bot_github_requests_total", "tinyforge_bot_github_rate_limit_remaining", "tinyforge_bot_tinyforge_requests_total",
		"tinyforge_bot_syncs_total", "tinyforge_bot_check_runs_total",
	} {
		if total, _ := sumFamily(text, family); total <= 0 {
			t.Errorf("%s is %v after a sync", family, total)
		}
	}
	mustContain(t, "metrics", text, "tinyforge_bot_inbox_pending 0", `tinyforge_bot_syncs_total{outcome="applied"} 1`,
		`route="POST /repos/{owner}/{repo}/check-runs"`, `route="/api/workloads/{id}/gitops/sync"`)
}
