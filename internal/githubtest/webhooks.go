package githubtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Payload loads testdata/webhooks/<name>.json (GitHub's example payloads)
// as a fresh map. name is the file name without ".json", e.g.
// "pull_request.opened". Timestamps in the examples' non-ISO form
// ("2018-04-25 20:42:10", in check_run.rerequested's app objects, which
// go-github cannot decode) are rewritten to RFC 3339, as GitHub sends them;
// PayloadBytes has the file untouched.
func Payload(name string) map[string]any {
	raw, err := testdata.ReadFile("testdata/webhooks/" + name + ".json")
	if err != nil {
		panic("githubtest: no webhook example " + name)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		panic(err)
	}
	normalizeTimes(m)
	return m
}

func normalizeTimes(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if str, ok := e.(string); ok && strings.HasSuffix(k, "_at") {
				if t, err := time.Parse("2006-01-02 15:04:05", str); err == nil {
					x[k] = t.UTC().Format(time.RFC3339)
				}
				continue
			}
			normalizeTimes(e)
		}
	case []any:
		for _, e := range x {
			normalizeTimes(e)
		}
	}
}

// PayloadBytes returns the example payload's bytes exactly as stored.
func PayloadBytes(name string) []byte {
	raw, err := testdata.ReadFile("testdata/webhooks/" + name + ".json")
	if err != nil {
		panic("githubtest: no webhook example " + name)
	}
	return raw
}

// Sign returns the X-Hub-Signature-256 value for body: "sha256=<hex>".
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// SignedRequest builds a webhook delivery to url: payload is marshalled
// (a []byte is sent as is) and signed with secret ("" = no signature).
func (s *Server) SignedRequest(url, secret, event, deliveryID string, payload any) (*http.Request, error) {
	return SignedRequest(url, secret, event, deliveryID, payload)
}

// SignedRequest is the Server-independent form of Server.SignedRequest.
func SignedRequest(url, secret, event, deliveryID string, payload any) (*http.Request, error) {
	var body []byte
	switch p := payload.(type) {
	case []byte:
		body = p
	case json.RawMessage:
		body = p
	default:
		var err error
		if body, err = json.Marshal(payload); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/fake")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", deliveryID)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	if secret != "" {
		req.Header.Set("X-Hub-Signature-256", Sign(secret, body))
	}
	return req, nil
}

func (s *Server) installationJSON(repo string) map[string]any {
	s.mu.Lock()
	id := s.installationForLocked(repo)
	s.mu.Unlock()
	return map[string]any{"id": id, "node_id": fmt.Sprintf("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u%d", id)}
}

func (s *Server) senderJSON(tmpl map[string]any, login, typ string) map[string]any {
	s.mu.Lock()
	u := *s.userLocked(login)
	s.mu.Unlock()
	if typ != "" {
		u.Type = typ
	}
	if tmpl == nil {
		tmpl = s.userTemplate()
	}
	return s.userJSON(tmpl, u)
}

func (s *Server) patchRepo(p map[string]any, repo string, pushStyle bool) *repoState {
	s.mu.Lock()
	rs := s.repoLocked(repo)
	s.mu.Unlock()
	m, _ := p["repository"].(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	s.patchRepoJSON(m, rs, pushStyle)
	p["repository"] = m
	if org, ok := p["organization"].(map[string]any); ok {
		org["login"] = rs.Owner
		org["url"] = s.apiURL("orgs/" + rs.Owner)
	}
	p["installation"] = s.installationJSON(repo)
	return rs
}

// PushOptions tunes PushPayload.
type PushOptions struct {
	Sender string // login; default the repo owner
	Forced bool
	// MaxCommits caps commits[] (GitHub: MaxPushCommits for webhooks). GitHub
	// puts no marker in a capped payload: a receiver must treat
	// len(commits) == cap as possibly truncated.
	MaxCommits int
}

// MaxPushCommits is how many commits a push webhook lists at most.
const MaxPushCommits = 2048

const zeroSHA = "0000000000000000000000000000000000000000"

func (s *Server) pushCommitJSON(rs *repoState, c *commitObj, distinct bool) map[string]any {
	added, modified, removed := []any{}, []any{}, []any{}
	for _, ch := range s.commitChangesLocked(c) {
		switch ch.status {
		case "added":
			added = append(added, ch.path)
		case "modified":
			modified = append(modified, ch.path)
		case "removed":
			removed = append(removed, ch.path)
		}
	}
	who := map[string]any{"name": c.author.Login, "email": c.author.Login + "@users.noreply.example.com", "username": c.author.Login}
	return map[string]any{
		"id": c.sha, "tree_id": c.tree, "distinct": distinct, "message": c.message,
		"timestamp": c.timestamp.Format(time.RFC3339), "url": s.webURL(rs.FullName + "/commit/" + c.sha),
		"author": who, "committer": who, "added": added, "removed": removed, "modified": modified,
	}
}

// PushPayload builds a push webhook for branch moving from before to after
// (40 zeros = branch created / deleted), from GitHub's example payloads,
// with commits[] (added/modified/removed per commit) taken from the fake's
// commits: those reachable from after and not from before (for a new
// branch: not from any other branch), oldest first.
func (s *Server) PushPayload(repo, branch, before, after string, opts PushOptions) map[string]any {
	if before == "" {
		before = zeroSHA
	}
	if after == "" {
		after = zeroSHA
	}
	tmpl := "push.existing-branch"
	if before == zeroSHA {
		tmpl = "push"
	}
	p := Payload(tmpl)
	rs := s.patchRepo(p, repo, true)
	if opts.Sender == "" {
		opts.Sender = rs.Owner
	}
	if opts.MaxCommits <= 0 {
		opts.MaxCommits = MaxPushCommits
	}
	p["ref"] = "refs/heads/" + branch
	p["before"] = before
	p["after"] = after
	p["created"] = before == zeroSHA
	p["deleted"] = after == zeroSHA
	p["forced"] = opts.Forced
	p["base_ref"] = nil
	if before == zeroSHA {
		p["compare"] = s.webURL(rs.FullName + "/commit/" + after[:12])
	} else if after == zeroSHA {
		p["compare"] = s.webURL(rs.FullName + "/compare/" + before[:12] + "..." + after[:12])
	} else {
		p["compare"] = s.webURL(rs.FullName + "/compare/" + before[:12] + "..." + after[:12])
	}
	s.mu.Lock()
	commits := []any{}
	var head any
	if after != zeroSHA {
		var list []*commitObj
		if before == zeroSHA {
			exclude := map[string]bool{}
			for br, sha := range rs.branches {
				if br == branch {
					continue
				}
				for _, c := range s.ancestorsLocked(sha) {
					exclude[c.sha] = true
				}
			}
			for _, c := range s.rangeLocked("", after) {
				if !exclude[c.sha] {
					list = append(list, c)
				}
			}
		} else {
			list = s.rangeLocked(before, after)
		}
		if len(list) > opts.MaxCommits {
			list = list[len(list)-opts.MaxCommits:]
		}
		for _, c := range list {
			commits = append(commits, s.pushCommitJSON(rs, c, true))
		}
		if c := s.commits[after]; c != nil {
			head = s.pushCommitJSON(rs, c, len(list) > 0)
		}
	}
	u := *s.userLocked(opts.Sender)
	s.mu.Unlock()
	p["commits"] = commits
	p["head_commit"] = head
	p["pusher"] = map[string]any{"name": u.Login, "email": u.Login + "@users.noreply.example.com"}
	p["sender"] = s.userJSON(mapOr(p["sender"]), u)
	return p
}

func mapOr(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{}
}

// PullRequestPayload builds a pull_request webhook (opened, synchronize,
// reopened, closed, edited, ...) for the fake's PR number.
func (s *Server) PullRequestPayload(action, repo string, number int) map[string]any {
	tmpl := "pull_request." + action
	if _, err := testdata.ReadFile("testdata/webhooks/" + tmpl + ".json"); err != nil {
		tmpl = "pull_request.opened"
	}
	p := Payload(tmpl)
	p["action"] = action
	rs := s.patchRepo(p, repo, false)
	pr := s.PR(repo, number)
	api := s.prJSON(&pr)
	wpr := mapOr(p["pull_request"])
	for k, v := range api {
		wpr[k] = v
	}
	p["pull_request"] = wpr
	p["number"] = number
	if action == "synchronize" {
		s.mu.Lock()
		before := ""
		if c := s.commits[pr.HeadSHA]; c != nil && len(c.parents) > 0 {
			before = c.parents[0]
		}
		s.mu.Unlock()
		p["before"] = before
		p["after"] = pr.HeadSHA
	} else {
		delete(p, "before")
		delete(p, "after")
	}
	_ = rs
	p["sender"] = s.userJSON(mapOr(p["sender"]), pr.User)
	return p
}

// IssueCommentPayload builds an issue_comment webhook (created, edited,
// deleted) for comment on issue/PR number issue; senderType ("User" or
// "Bot"; "" keeps the commenter's) sets sender.type and comment.user.type.
func (s *Server) IssueCommentPayload(action, repo string, issue int, comment Comment, senderType string) map[string]any {
	s.mu.Lock()
	rs := s.repoLocked(repo)
	is := rs.issues[issue]
	if is == nil {
		s.mu.Unlock()
		panic(fmt.Sprintf("githubtest: no issue %s#%d", repo, issue))
	}
	iss := *is
	var pr *PullRequest
	if iss.isPR {
		snap := s.prSnapshotLocked(rs, rs.pulls[issue])
		pr = &snap
	}
	s.mu.Unlock()
	var tmpl string
	switch {
	case action == "created" && iss.isPR:
		tmpl = "issue_comment.created.pull_request"
	case action == "edited":
		tmpl = "issue_comment.edited"
	case action == "deleted":
		tmpl = "issue_comment.deleted"
	default:
		tmpl = "issue_comment.created"
	}
	p := Payload(tmpl)
	p["action"] = action
	s.patchRepo(p, repo, false)
	i := mapOr(p["issue"])
	i["number"] = issue
	i["title"] = iss.title
	i["url"] = s.apiURL(fmt.Sprintf("repos/%s/issues/%d", repo, issue))
	i["repository_url"] = s.apiURL("repos/" + repo)
	i["comments_url"] = s.apiURL(fmt.Sprintf("repos/%s/issues/%d/comments", repo, issue))
	i["events_url"] = s.apiURL(fmt.Sprintf("repos/%s/issues/%d/events", repo, issue))
	i["labels_url"] = s.apiURL(fmt.Sprintf("repos/%s/issues/%d/labels{/name}", repo, issue))
	i["user"] = s.userJSON(mapOr(i["user"]), iss.user)
	i["state"] = "open"
	if pr != nil {
		i["html_url"] = s.webURL(fmt.Sprintf("%s/pull/%d", repo, issue))
		i["state"] = pr.State
		var mergedAt any
		if pr.Merged {
			mergedAt = ts(pr.ClosedAt)
		}
		i["pull_request"] = map[string]any{
			"url":       s.apiURL(fmt.Sprintf("repos/%s/pulls/%d", repo, issue)),
			"html_url":  i["html_url"],
			"diff_url":  i["html_url"].(string) + ".diff",
			"patch_url": i["html_url"].(string) + ".patch",
			"merged_at": mergedAt,
		}
	} else {
		i["html_url"] = s.webURL(fmt.Sprintf("%s/issues/%d", repo, issue))
		delete(i, "pull_request")
	}
	p["issue"] = i
	u := comment.User
	if senderType != "" {
		u.Type = senderType
	}
	cm := mapOr(p["comment"])
	cj := s.commentJSON(comment)
	for k, v := range cj {
		if k == "performed_via_github_app" && u.Type != "Bot" {
			continue
		}
		cm[k] = v
	}
	cm["user"] = s.userJSON(mapOr(cm["user"]), u)
	if action == "created" {
		delete(p, "changes")
	}
	p["comment"] = cm
	p["sender"] = s.userJSON(mapOr(p["sender"]), u)
	return p
}

func (s *Server) branchForLocked(rs *repoState, sha string) any {
	for _, b := range sortedKeys(rs.branches) {
		if rs.branches[b] == sha {
			return b
		}
	}
	return nil
}

// CheckRunPayload builds a check_run webhook (created, completed,
// rerequested, requested_action) for the fake's check run.
func (s *Server) CheckRunPayload(action, repo string, checkRunID int64) map[string]any {
	tmpl := "check_run.rerequested"
	if action == "requested_action" {
		tmpl = "check_run.requested_action"
	}
	p := Payload(tmpl)
	p["action"] = action
	rs := s.patchRepo(p, repo, false)
	s.mu.Lock()
	cr := s.checkRuns[checkRunID]
	if cr == nil || !strings.EqualFold(cr.Repo, rs.FullName) {
		s.mu.Unlock()
		panic(fmt.Sprintf("githubtest: no check run %d in %s", checkRunID, repo))
	}
	snap := *cr
	branch := s.branchForLocked(rs, cr.HeadSHA)
	s.mu.Unlock()
	api := s.checkRunJSON(&snap)
	w := mapOr(p["check_run"])
	for k, v := range api {
		if k == "check_suite" || k == "app" {
			continue
		}
		w[k] = v
	}
	app := mapOr(w["app"])
	for k, v := range mapOr(api["app"]) {
		if _, ok := app[k]; ok || k == "id" {
			app[k] = v
		}
	}
	w["app"] = app
	suite := mapOr(w["check_suite"])
	suite["id"] = snap.suiteID
	suite["head_sha"] = snap.HeadSHA
	suite["head_branch"] = branch
	suite["after"] = snap.HeadSHA
	suite["url"] = s.apiURL(fmt.Sprintf("repos/%s/check-suites/%d", rs.FullName, snap.suiteID))
	suite["pull_requests"] = api["pull_requests"]
	if sa, ok := suite["app"].(map[string]any); ok {
		sa["id"] = snap.AppID
	}
	w["check_suite"] = suite
	p["check_run"] = w
	p["sender"] = s.senderJSON(mapOr(p["sender"]), rs.Owner, "")
	return p
}

// CheckSuitePayload builds a check_suite webhook (requested, rerequested,
// completed) for this app's suite on headSHA.
func (s *Server) CheckSuitePayload(action, repo, headSHA string) map[string]any {
	tmpl := "check_suite.requested"
	if action == "rerequested" {
		tmpl = "check_suite.rerequested"
	}
	p := Payload(tmpl)
	p["action"] = action
	rs := s.patchRepo(p, repo, false)
	s.mu.Lock()
	c := s.resolveLocked(rs, headSHA)
	if c == nil {
		s.mu.Unlock()
		panic("githubtest: unknown commit " + headSHA)
	}
	suiteID := s.suiteIDLocked(rs, c.sha)
	branch := s.branchForLocked(rs, c.sha)
	before := zeroSHA
	if len(c.parents) > 0 {
		before = c.parents[0]
	}
	var prs []any
	for _, n := range sortedPRNumbers(rs) {
		pr := rs.pulls[n]
		if pr.State != "open" || s.prHeadLocked(pr) != c.sha || !strings.EqualFold(pr.HeadRepo, pr.Repo) {
			continue
		}
		ref := func(r, sha string) map[string]any {
			return map[string]any{"ref": r, "sha": sha, "repo": map[string]any{"id": rs.ID, "url": s.apiURL("repos/" + rs.FullName), "name": rs.Name}}
		}
		prs = append(prs, map[string]any{"url": s.apiURL(fmt.Sprintf("repos/%s/pulls/%d", rs.FullName, n)), "id": pr.ID, "number": n, "head": ref(pr.HeadRef, pr.HeadSHA), "base": ref(pr.BaseRef, rs.branches[pr.BaseRef])})
	}
	hc := s.pushCommitJSON(rs, c, true)
	s.mu.Unlock()
	if prs == nil {
		prs = []any{}
	}
	suite := mapOr(p["check_suite"])
	suite["id"] = suiteID
	suite["head_sha"] = c.sha
	suite["head_branch"] = branch
	suite["before"] = before
	suite["after"] = c.sha
	suite["pull_requests"] = prs
	suite["url"] = s.apiURL(fmt.Sprintf("repos/%s/check-suites/%d", rs.FullName, suiteID))
	suite["check_runs_url"] = s.apiURL(fmt.Sprintf("repos/%s/check-suites/%d/check-runs", rs.FullName, suiteID))
	if action == "completed" {
		suite["status"] = "completed"
	}
	app := mapOr(suite["app"])
	app["id"] = s.appID
	app["slug"] = s.appSlug
	app["name"] = s.appSlug
	suite["app"] = app
	if hcm, ok := suite["head_commit"].(map[string]any); ok {
		hcm["id"] = c.sha
		hcm["tree_id"] = c.tree
		hcm["message"] = c.message
		hcm["timestamp"] = hc["timestamp"]
		hcm["author"] = map[string]any{"name": c.author.Login, "email": c.author.Login + "@users.noreply.example.com"}
		hcm["committer"] = hcm["author"]
	}
	p["check_suite"] = suite
	p["sender"] = s.senderJSON(mapOr(p["sender"]), rs.Owner, "")
	return p
}
