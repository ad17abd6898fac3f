package githubtest

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Repo describes a repository of the fake. It is a snapshot: mutate the
// repository through the Server's methods.
type Repo struct {
	ID            int64
	FullName      string // "owner/name"
	Owner         string
	Name          string
	DefaultBranch string
	InitialSHA    string // the commit AddRepo created on DefaultBranch
}

// User is a GitHub account known to the fake.
type User struct {
	Login string
	ID    int64
	Type  string // "User", "Bot" or "Organization"
}

// PullRequest is the fake's view of a pull request.
type PullRequest struct {
	Number         int
	ID             int64
	Repo           string // base repository
	HeadRepo       string // == Repo unless the PR comes from a fork
	HeadRef        string
	HeadSHA        string // follows the head branch while the PR is open
	BaseRef        string
	BaseSHA        string // the base branch head now (or at merge time)
	State          string // "open" | "closed"
	Merged         bool
	MergeCommitSHA string
	User           User
	Title          string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ClosedAt       time.Time
}

type commitObj struct {
	sha       string
	tree      string
	parents   []string
	files     map[string][]byte // full snapshot
	message   string
	author    User
	timestamp time.Time
}

type repoState struct {
	Repo
	branches   map[string]string // branch → head sha
	known      map[string]bool   // commits reachable in this repo's network (branches, PR refs)
	nextNumber int               // issue/PR numbers share one sequence
	issues     map[int]*issueState
	pulls      map[int]*PullRequest
	fork       bool
}

type issueState struct {
	number int
	title  string
	user   User
	isPR   bool
}

func blobSHA(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

func treeSHA(files map[string][]byte) string {
	h := sha1.New()
	for _, p := range sortedKeys(files) {
		fmt.Fprintf(h, "%s\x00%s\n", p, blobSHA(files[p]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func splitFull(full string) (owner, name string) {
	owner, name, _ = strings.Cut(full, "/")
	return
}

// newCommitLocked creates a commit object in the global store. s.mu held.
func (s *Server) newCommitLocked(parents []string, files map[string][]byte, message string, author User) *commitObj {
	s.seq++
	c := &commitObj{
		parents:   parents,
		files:     files,
		message:   message,
		author:    author,
		timestamp: s.now().UTC().Truncate(time.Second),
		tree:      treeSHA(files),
	}
	h := sha1.New()
	fmt.Fprintf(h, "tree %s\n", c.tree)
	for _, p := range parents {
		fmt.Fprintf(h, "parent %s\n", p)
	}
	fmt.Fprintf(h, "seq %d\n\n%s", s.seq, message)
	c.sha = hex.EncodeToString(h.Sum(nil))
	s.commits[c.sha] = c
	return c
}

func (s *Server) repoLocked(full string) *repoState {
	rs := s.repos[strings.ToLower(full)]
	if rs == nil {
		panic(fmt.Sprintf("githubtest: unknown repo %q", full))
	}
	return rs
}

// resolveLocked resolves a ref (branch, refs/heads/branch, refs/pull/N/head,
// full or abbreviated (≥7) commit sha) in a repository to a commit.
func (s *Server) resolveLocked(rs *repoState, ref string) *commitObj {
	ref = strings.TrimPrefix(ref, "refs/heads/")
	if sha, ok := rs.branches[ref]; ok {
		return s.commits[sha]
	}
	if strings.HasPrefix(ref, "refs/pull/") {
		var n int
		var kind string
		if _, err := fmt.Sscanf(strings.ReplaceAll(strings.TrimPrefix(ref, "refs/pull/"), "/", " "), "%d %s", &n, &kind); err == nil {
			if pr := rs.pulls[n]; pr != nil {
				switch kind {
				case "head":
					return s.commits[s.prHeadLocked(pr)]
				case "merge":
					return nil
				}
			}
		}
		return nil
	}
	if len(ref) >= 7 && len(ref) <= 40 && isHex(ref) {
		ref = strings.ToLower(ref)
		if c, ok := s.commits[ref]; ok && rs.known[ref] {
			return c
		}
		for sha := range rs.known {
			if strings.HasPrefix(sha, ref) {
				return s.commits[sha]
			}
		}
	}
	return nil
}

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// ancestorsLocked returns the commits reachable from sha (inclusive), in
// breadth-first order.
func (s *Server) ancestorsLocked(sha string) []*commitObj {
	var out []*commitObj
	seen := map[string]bool{}
	queue := []string{sha}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if seen[cur] || cur == "" {
			continue
		}
		seen[cur] = true
		c := s.commits[cur]
		if c == nil {
			continue
		}
		out = append(out, c)
		queue = append(queue, c.parents...)
	}
	return out
}

func (s *Server) markKnownLocked(rs *repoState, sha string) {
	for _, c := range s.ancestorsLocked(sha) {
		if rs.known[c.sha] {
			// ancestors of a known commit are known too
			continue
		}
		rs.known[c.sha] = true
	}
}

// mergeBaseLocked returns the best common ancestor of a and b ("" if none).
func (s *Server) mergeBaseLocked(a, b string) string {
	inA := map[string]bool{}
	for _, c := range s.ancestorsLocked(a) {
		inA[c.sha] = true
	}
	for _, c := range s.ancestorsLocked(b) {
		if inA[c.sha] {
			return c.sha
		}
	}
	return ""
}

// rangeLocked returns commits reachable from head but not from base, oldest
// first (what `git log base..head --reverse` lists, topologically by time).
func (s *Server) rangeLocked(base, head string) []*commitObj {
	exclude := map[string]bool{}
	if base != "" {
		for _, c := range s.ancestorsLocked(base) {
			exclude[c.sha] = true
		}
	}
	var out []*commitObj
	for _, c := range s.ancestorsLocked(head) {
		if !exclude[c.sha] {
			out = append(out, c)
		}
	}
	// ancestorsLocked is newest-first along parents; commits carry a
	// sequence-ordered timestamp only to the second, so reverse the BFS order.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

type fileChange struct {
	path     string
	status   string // added | removed | modified
	old, new []byte
}

func diffTrees(oldFiles, newFiles map[string][]byte) []fileChange {
	var out []fileChange
	for p, nb := range newFiles {
		ob, ok := oldFiles[p]
		switch {
		case !ok:
			out = append(out, fileChange{path: p, status: "added", new: nb})
		case string(ob) != string(nb):
			out = append(out, fileChange{path: p, status: "modified", old: ob, new: nb})
		}
	}
	for p, ob := range oldFiles {
		if _, ok := newFiles[p]; !ok {
			out = append(out, fileChange{path: p, status: "removed", old: ob})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

func (s *Server) filesOfLocked(sha string) map[string][]byte {
	if c := s.commits[sha]; c != nil {
		return c.files
	}
	return map[string][]byte{}
}

// commitChangesLocked: the files a commit changed relative to its first parent.
func (s *Server) commitChangesLocked(c *commitObj) []fileChange {
	var parent map[string][]byte
	if len(c.parents) > 0 {
		parent = s.filesOfLocked(c.parents[0])
	}
	return diffTrees(parent, c.files)
}

func (s *Server) prHeadLocked(pr *PullRequest) string {
	if pr.State == "open" {
		if hr := s.repos[strings.ToLower(pr.HeadRepo)]; hr != nil {
			if sha, ok := hr.branches[pr.HeadRef]; ok {
				pr.HeadSHA = sha
			}
		}
	}
	return pr.HeadSHA
}

func (s *Server) prSnapshotLocked(rs *repoState, pr *PullRequest) PullRequest {
	head := s.prHeadLocked(pr)
	s.markKnownLocked(rs, head) // refs/pull/N/head lives in the base repo
	if !pr.Merged {
		if sha, ok := rs.branches[pr.BaseRef]; ok {
			pr.BaseSHA = sha
		}
	}
	return *pr
}

// prFilesLocked: what GitHub lists as the PR's files: the diff between the
// merge base of base and head, and head (three-dot diff).
func (s *Server) prFilesLocked(pr *PullRequest) []fileChange {
	head := pr.HeadSHA
	base := pr.BaseSHA
	mb := s.mergeBaseLocked(base, head)
	return diffTrees(s.filesOfLocked(mb), s.filesOfLocked(head))
}

func lineCount(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	n := strings.Count(string(b), "\n")
	if b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// simplePatch renders a one-hunk unified diff replacing the whole file, with
// the additions/deletions counts that go with it.
func simplePatch(old, new []byte) (patch string, additions, deletions int) {
	ol, nl := splitLines(old), splitLines(new)
	// trim common prefix/suffix so counts resemble git's
	pre := 0
	for pre < len(ol) && pre < len(nl) && ol[pre] == nl[pre] {
		pre++
	}
	suf := 0
	for suf < len(ol)-pre && suf < len(nl)-pre && ol[len(ol)-1-suf] == nl[len(nl)-1-suf] {
		suf++
	}
	dels := ol[pre : len(ol)-suf]
	adds := nl[pre : len(nl)-suf]
	var b strings.Builder
	fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@", pre+1, len(dels), pre+1, len(adds))
	for _, l := range dels {
		b.WriteString("\n-" + l)
	}
	for _, l := range adds {
		b.WriteString("\n+" + l)
	}
	return b.String(), len(adds), len(dels)
}

func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.Split(s, "\n")
}
