package gitops

import (
	"fmt"
	"strings"
	"testing"
)

func BenchmarkParsePlanRender(b *testing.B) {
	data := []byte(fullFile)
	live := dockerLive()
	b.ReportAllocs()
	for b.Loop() {
		p := BuildPlan(data, "dockerfile", live)
		_ = RenderMarkdown(p, RenderOptions{Workload: "api", Path: ".tinyforge.yml"})
	}
}

// BenchmarkHostile runs the worst inputs within the size cap: an alias bomb
// and a 64 KiB file of unknown keys (problems capped at maxProblems).
func BenchmarkHostile(b *testing.B) {
	var keys strings.Builder
	keys.WriteString("version: 1\n")
	for i := 0; keys.Len() < MaxFileSize-32; i++ {
		fmt.Fprintf(&keys, "k%d: \"@x <b>|\"\n", i)
	}
	for _, c := range []struct{ name, data string }{
		{"billion_laughs", billionLaughs(9)},
		{"64KiB_unknown_keys", keys.String()},
		{"deep_nesting", "version: 1\ndeploy: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n"},
	} {
		data := []byte(c.data)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				p := BuildPlan(data, "dockerfile", nil)
				_ = RenderMarkdown(p, RenderOptions{Workload: "api"})
			}
		})
	}
}
