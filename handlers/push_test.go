package handlers

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/tinyforge/tinyforge-bot/internal/githubtest"
)

// The handler's narrow push decoding reads GitHub's real payloads the same
// way go-github's full PushEvent does.
func TestPushEventMatchesGoGitHub(t *testing.T) {
	for _, name := range []string{"push", "push.existing-branch"} {
		raw := githubtest.PayloadBytes(name)
		var narrow pushEvent
		var full github.PushEvent
		if err := json.Unmarshal(raw, &narrow); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &full); err != nil {
			t.Fatal(err)
		}
		got := []any{narrow.Ref, narrow.Before, narrow.After, narrow.Created, narrow.Deleted, narrow.Forced,
			narrow.Repo.FullName, narrow.Repo.DefaultBranch, narrow.GetInstallation().GetID(), len(narrow.Commits)}
		want := []any{full.GetRef(), full.GetBefore(), full.GetAfter(), full.GetCreated(), full.GetDeleted(), full.GetForced(),
			full.GetRepo().GetFullName(), full.GetRepo().GetDefaultBranch(), full.GetInstallation().GetID(), len(full.Commits)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: narrow %v, go-github %v", name, got, want)
		}
		for i, c := range full.Commits {
			if !reflect.DeepEqual([][]string{narrow.Commits[i].Added, narrow.Commits[i].Modified, narrow.Commits[i].Removed}, [][]string{c.Added, c.Modified, c.Removed}) {
				t.Errorf("%s commit %d: file lists differ", name, i)
			}
		}
		if r := narrow.repo(); r.FullName() != full.GetRepo().GetFullName() {
			t.Errorf("%s: repo %s", name, r.FullName())
		}
	}
}
