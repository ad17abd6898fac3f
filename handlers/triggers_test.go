package handlers

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/tinyforge/tinyforge-bot/tinyforge"
)

func TestPullRequestChecks(t *testing.T) {
	for action, want := range map[string]bool{
		"opened": true, "synchronize": true, "reopened": true,
		"closed": false, "edited": false, "labeled": false, "ready_for_review": false, "": false,
	} {
		if got := pullRequestChecks(action); got != want {
			t.Errorf("pullRequestChecks(%q) = %v, want %v", action, got, want)
		}
	}
}

func TestRerunTriggers(t *testing.T) {
	const ours = 42
	tests := []struct {
		action    string
		app       int64
		run, suit bool
	}{
		{"rerequested", ours, true, true},
		{"rerequested", 7, false, false},
		{"requested", ours, false, false},
		{"created", ours, false, false},
		{"completed", ours, false, false},
		{"requested_action", ours, false, false},
	}
	for _, tt := range tests {
		if got := rerunsCheck(tt.action, tt.app, ours); got != tt.run {
			t.Errorf("rerunsCheck(%q, %d) = %v, want %v", tt.action, tt.app, got, tt.run)
		}
		if got := rerunsSuite(tt.action, tt.app, ours); got != tt.suit {
			t.Errorf("rerunsSuite(%q, %d) = %v, want %v", tt.action, tt.app, got, tt.suit)
		}
	}
}

func commit(added, modified, removed []string) pushCommit {
	return pushCommit{Added: added, Modified: modified, Removed: removed}
}

func TestPushChangedPaths(t *testing.T) {
	sha1, sha2 := strings.Repeat("a", 40), strings.Repeat("b", 40)
	zero := strings.Repeat("0", 40)
	many := make([]pushCommit, maxPushCommits)
	for i := range many {
		many[i] = commit(nil, []string{"x"}, nil)
	}
	tests := []struct {
		name     string
		ev       pushEvent
		paths    []string
		complete bool
	}{
		{"listed commits", pushEvent{Before: sha1, After: sha2, Commits: []pushCommit{
			commit([]string{"a.go"}, []string{".tinyforge.yml"}, []string{}),
			commit([]string{}, []string{}, []string{"old.txt"}),
		}}, []string{"a.go", ".tinyforge.yml", "old.txt"}, true},
		{"new branch", pushEvent{Before: zero, After: sha2, Created: true}, nil, false},
		{"force push", pushEvent{Before: sha1, After: sha2, Forced: true, Commits: []pushCommit{commit(nil, []string{"a"}, nil)}}, nil, false},
		{"commit list at GitHub's cap", pushEvent{Before: sha1, After: sha2, Commits: many}, nil, false},
		{"file lists stripped", pushEvent{Before: sha1, After: sha2, Commits: []pushCommit{{}}}, nil, false},
		{"moved without commits", pushEvent{Before: sha1, After: sha2}, nil, false},
		{"nothing moved", pushEvent{Before: sha1, After: sha1}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paths, complete := pushChangedPaths(&tt.ev)
			if complete != tt.complete || !reflect.DeepEqual(paths, tt.paths) {
				t.Errorf("got (%v, %v), want (%v, %v)", paths, complete, tt.paths, tt.complete)
			}
		})
	}
}

func TestTouchedWorkloads(t *testing.T) {
	ws := []tinyforge.Workload{
		{Name: "default"},
		{Name: "nested", GitOpsPath: "deploy/web.tinyforge.yml"},
		{Name: "dotslash", GitOpsPath: "./svc/.tinyforge.yml"},
	}
	tests := []struct {
		changed []string
		want    []string
	}{
		{[]string{"README.md"}, nil},
		{[]string{".tinyforge.yml"}, []string{"default"}},
		{[]string{"deploy/web.tinyforge.yml", "svc/.tinyforge.yml"}, []string{"nested", "dotslash"}},
		{[]string{"sub/.tinyforge.yml"}, nil},
		{[]string{".TINYFORGE.yml"}, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, w := range touchedWorkloads(ws, tt.changed) {
			got = append(got, w.Name)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("touchedWorkloads(%v) = %v, want %v", tt.changed, got, tt.want)
		}
	}
}

func TestBranchOf(t *testing.T) {
	for ref, want := range map[string]string{"refs/heads/main": "main", "refs/heads/feature/x": "feature/x", "refs/tags/v1": "", "refs/heads/": "", "main": ""} {
		got, ok := branchOf(ref)
		if got != want || ok != (want != "") {
			t.Errorf("branchOf(%q) = %q, %v", ref, got, ok)
		}
	}
}

func TestAllowedBy(t *testing.T) {
	noTeam := func(string) bool { return false }
	inOps := func(team string) bool { return team == "acme/ops" }
	tests := []struct {
		name   string
		policy SyncPolicy
		login  string
		role   string
		inTeam func(string) bool
		want   bool
	}{
		{"admin by default", SyncPolicy{}, "a", "admin", noTeam, true},
		{"maintain not admin", SyncPolicy{}, "a", "maintain", noTeam, false},
		{"write not admin", SyncPolicy{}, "a", "write", noTeam, false},
		{"triage not admin", SyncPolicy{}, "a", "triage", noTeam, false},
		{"read not admin", SyncPolicy{}, "a", "read", noTeam, false},
		{"none not admin", SyncPolicy{}, "a", "none", noTeam, false},
		{"unknown role", SyncPolicy{}, "a", "", noTeam, false},
		{"write policy lets maintain", SyncPolicy{Permission: "write"}, "a", "maintain", noTeam, true},
		{"write policy lets write", SyncPolicy{Permission: "write"}, "a", "write", noTeam, true},
		{"write policy stops triage", SyncPolicy{Permission: "write"}, "a", "triage", noTeam, false},
		{"read policy stops none", SyncPolicy{Permission: "read"}, "a", "none", noTeam, false},
		{"listed user", SyncPolicy{Users: []string{"Octocat"}}, "octocat", "read", noTeam, true},
		{"team member", SyncPolicy{Teams: []string{"acme/ops"}}, "a", "write", inOps, true},
		{"other team", SyncPolicy{Teams: []string{"acme/dev"}}, "a", "write", inOps, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := allowedBy(tt.policy, tt.login, tt.role, tt.inTeam); got != tt.want {
				t.Errorf("allowedBy = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBatchAnnotations(t *testing.T) {
	mk := func(n int) []*github.CheckRunAnnotation { return make([]*github.CheckRunAnnotation, n) }
	for n, want := range map[int][]int{0: {0}, 1: {1}, 50: {50}, 51: {50, 1}, 120: {50, 50, 20}} {
		var got []int
		for _, b := range batchAnnotations(mk(n), 50) {
			got = append(got, len(b))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("batchAnnotations(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestTruncateBytes(t *testing.T) {
	s := strings.Repeat("é", 40000) // 80,000 bytes
	got := truncateBytes(s, maxOutputBytes, truncatedMarker)
	if len(got) > maxOutputBytes {
		t.Fatalf("len = %d, over %d", len(got), maxOutputBytes)
	}
	if !strings.HasSuffix(got, truncatedMarker) {
		t.Fatal("no truncation marker")
	}
	if !strings.HasPrefix(got, "éé") || strings.ContainsRune(got, '\uFFFD') {
		t.Fatal("cut inside a rune")
	}
	if short := "short"; truncateBytes(short, 10, "!") != short {
		t.Fatal("short string changed")
	}
}
