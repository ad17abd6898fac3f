package githubtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

func nopBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Server) apiURL(p string) string { return s.ts.URL + "/" + strings.TrimPrefix(p, "/") }
func (s *Server) webURL(p string) string { return s.ts.URL + "/" + strings.TrimPrefix(p, "/") }

// userJSON overwrites a GitHub user object (from an example) with u.
func (s *Server) userJSON(tmpl map[string]any, u User) map[string]any {
	m := map[string]any{}
	for k, v := range tmpl {
		m[k] = v
	}
	m["login"] = u.Login
	m["id"] = u.ID
	m["node_id"] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("04:User%d", u.ID)))
	m["type"] = u.Type
	m["url"] = s.apiURL("users/" + u.Login)
	m["html_url"] = s.webURL(u.Login)
	for _, k := range []string{"followers_url", "following_url", "gists_url", "starred_url", "subscriptions_url", "organizations_url", "repos_url", "events_url", "received_events_url"} {
		if v, ok := m[k].(string); ok {
			if i := strings.Index(v, "/users/"); i >= 0 {
				rest := v[i+len("/users/"):]
				if j := strings.Index(rest, "/"); j >= 0 {
					m[k] = s.apiURL("users/" + u.Login + rest[j:])
				}
			}
		}
	}
	m["site_admin"] = false
	return m
}

func (s *Server) userTemplate() map[string]any {
	return example("issue-comment")["user"].(map[string]any)
}

// patchRepoJSON overwrites the identifying fields of a repository object
// (API or webhook shape) with rs. pushStyle keeps push payloads' quirk of
// html `url`.
func (s *Server) patchRepoJSON(m map[string]any, rs *repoState, pushStyle bool) {
	full := rs.FullName
	oldFull, _ := m["full_name"].(string)
	m["id"] = rs.ID
	m["node_id"] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("010:Repository%d", rs.ID)))
	m["name"] = rs.Name
	m["full_name"] = full
	m["html_url"] = s.webURL(full)
	m["default_branch"] = rs.DefaultBranch
	if _, ok := m["master_branch"]; ok {
		m["master_branch"] = rs.DefaultBranch
	}
	m["clone_url"] = s.webURL(full + ".git")
	if _, ok := m["git_url"]; ok {
		m["git_url"] = "git://" + strings.TrimPrefix(s.ts.URL, "http://") + "/" + full + ".git"
	}
	if _, ok := m["ssh_url"]; ok {
		m["ssh_url"] = "git@" + strings.TrimPrefix(s.ts.URL, "http://") + ":" + full + ".git"
	}
	if _, ok := m["svn_url"]; ok {
		m["svn_url"] = s.webURL(full)
	}
	if pushStyle {
		m["url"] = s.webURL(full)
	} else {
		m["url"] = s.apiURL("repos/" + full)
	}
	// *_url templates
	for k, v := range m {
		str, ok := v.(string)
		if !ok || !strings.HasSuffix(k, "_url") || k == "html_url" || k == "clone_url" || k == "git_url" || k == "ssh_url" || k == "svn_url" || k == "mirror_url" || k == "homepage" {
			continue
		}
		if oldFull != "" {
			if i := strings.Index(str, "/repos/"+oldFull); i >= 0 {
				m[k] = s.apiURL("repos/" + full + str[i+len("/repos/"+oldFull):])
			}
		}
	}
	owner := map[string]any{}
	if o, ok := m["owner"].(map[string]any); ok {
		owner = o
	}
	s.mu.Lock()
	u := *s.userLocked(rs.Owner)
	s.mu.Unlock()
	no := s.userJSON(owner, u)
	if _, ok := owner["name"]; ok { // push payloads' owner carries name/email
		no["name"] = rs.Owner
	}
	m["owner"] = no
	m["fork"] = rs.fork
}

func (s *Server) repoJSON(rs *repoState) map[string]any {
	m := example("pull-request")["base"].(map[string]any)["repo"].(map[string]any)
	s.patchRepoJSON(m, rs, false)
	return m
}

// ---- installation tokens -------------------------------------------------

func (s *Server) handleAccessToken(req *request) response {
	id, err := strconv.ParseInt(req.params["installation_id"], 10, 64)
	doc := docURL(RouteAccessToken)
	s.mu.Lock()
	inst := s.installations[id]
	s.mu.Unlock()
	if err != nil || inst == nil {
		return notFound(doc)
	}
	var body struct {
		Repositories  []string          `json:"repositories"`
		RepositoryIDs []int64           `json:"repository_ids"`
		Permissions   map[string]string `json:"permissions"`
	}
	if len(req.body) > 0 {
		_ = json.Unmarshal(req.body, &body)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := &instToken{token: newToken(), inst: id, expires: s.now().Add(s.tokenTTL).UTC().Truncate(time.Second)}
	var scoped []*repoState
	if len(body.Repositories) > 0 || len(body.RepositoryIDs) > 0 {
		tok.repos = map[string]bool{}
		for k := range inst.repos {
			rs := s.repos[k]
			if rs == nil {
				continue
			}
			want := false
			for _, n := range body.Repositories {
				if strings.EqualFold(n, rs.Name) || strings.EqualFold(n, rs.FullName) {
					want = true
				}
			}
			for _, rid := range body.RepositoryIDs {
				want = want || rid == rs.ID
			}
			if want {
				tok.repos[k] = true
				scoped = append(scoped, rs)
			}
		}
		if len(scoped) != len(body.Repositories)+len(body.RepositoryIDs) {
			return ghError(422, "There is at least one repository that does not exist or is not accessible to the parent installation.", doc)
		}
	}
	s.tokens[tok.token] = tok
	m := example("installation-token")
	m["token"] = tok.token
	m["expires_at"] = tok.expires.Format(time.RFC3339)
	perms := map[string]any{"checks": "write", "contents": "read", "issues": "write", "pull_requests": "read", "metadata": "read", "members": "read"}
	if len(body.Permissions) > 0 {
		perms = map[string]any{}
		for k, v := range body.Permissions {
			perms[k] = v
		}
	}
	m["permissions"] = perms
	m["repository_selection"] = "selected"
	if scoped != nil {
		tmpl := m["repositories"].([]any)[0].(map[string]any)
		var list []any
		s.mu.Unlock()
		for _, rs := range scoped {
			c := map[string]any{}
			for k, v := range tmpl {
				c[k] = v
			}
			s.patchRepoJSON(c, rs, false)
			list = append(list, c)
		}
		s.mu.Lock()
		m["repositories"] = list
	} else {
		delete(m, "repositories")
	}
	return jsonResp(201, m)
}

func (s *Server) handleRepoInstallation(req *request) response {
	full := req.params["owner"] + "/" + req.params["repo"]
	s.mu.Lock()
	id := s.installationForLocked(full)
	s.mu.Unlock()
	if id == 0 {
		return notFound(docURL(RouteRepoInstallation))
	}
	return jsonResp(200, map[string]any{
		"id": id, "app_id": s.appID, "app_slug": s.appSlug, "target_type": "Organization",
		"account":              map[string]any{"login": req.params["owner"]},
		"access_tokens_url":    s.apiURL(fmt.Sprintf("app/installations/%d/access_tokens", id)),
		"repository_selection": "selected",
		"permissions":          map[string]any{"checks": "write", "contents": "read", "issues": "write", "pull_requests": "read", "metadata": "read", "members": "read"},
		"events":               []any{"check_run", "check_suite", "issue_comment", "pull_request", "push"},
	})
}

// ---- repository ------------------------------------------------------------

func (s *Server) handleGetRepo(req *request) response {
	return jsonResp(200, s.repoJSON(req.repo))
}

const maxInlineContent = 1 << 20 // GitHub inlines content up to 1 MB

func wrap60(b64 string) string {
	var sb strings.Builder
	for len(b64) > 60 {
		sb.WriteString(b64[:60] + "\n")
		b64 = b64[60:]
	}
	sb.WriteString(b64 + "\n")
	return sb.String()
}

func (s *Server) handleContents(req *request) response {
	doc := docURL(RouteContents)
	rs := req.repo
	p := strings.Trim(req.params["path"], "/")
	ref := req.query.Get("ref")
	s.mu.Lock()
	defer s.mu.Unlock()
	if ref == "" {
		ref = rs.DefaultBranch
	}
	c := s.resolveLocked(rs, ref)
	if c == nil {
		return ghError(404, "No commit found for the ref "+ref, doc)
	}
	refQ := "?ref=" + url.QueryEscape(ref)
	entry := func(fp string, typ string, size int, sha string) map[string]any {
		return map[string]any{
			"type": typ, "size": size, "name": path.Base(fp), "path": fp, "sha": sha,
			"url":          s.apiURL("repos/"+rs.FullName+"/contents/"+fp) + refQ,
			"git_url":      s.apiURL("repos/" + rs.FullName + "/git/blobs/" + sha),
			"html_url":     s.webURL(rs.FullName + "/blob/" + ref + "/" + fp),
			"download_url": s.webURL(rs.FullName + "/raw/" + ref + "/" + fp),
		}
	}
	if b, ok := c.files[p]; ok {
		m := example("content-file-response-if-content-is-a-file")
		sha := blobSHA(b)
		for k, v := range entry(p, "file", len(b), sha) {
			m[k] = v
		}
		if len(b) <= maxInlineContent {
			m["encoding"] = "base64"
			m["content"] = wrap60(base64.StdEncoding.EncodeToString(b))
		} else {
			m["encoding"] = "none"
			m["content"] = ""
		}
		m["_links"] = map[string]any{"git": m["git_url"], "self": m["url"], "html": m["html_url"]}
		return jsonResp(200, m)
	}
	// directory listing
	prefix := p + "/"
	seen := map[string]bool{}
	var list []any
	for _, fp := range sortedKeys(c.files) {
		if !strings.HasPrefix(fp, prefix) {
			continue
		}
		rest := fp[len(prefix):]
		name, _, isDir := strings.Cut(rest, "/")
		if seen[name] {
			continue
		}
		seen[name] = true
		if isDir {
			e := entry(prefix+name, "dir", 0, treeSHA(map[string][]byte{name: nil}))
			e["download_url"] = nil
			list = append(list, e)
		} else {
			list = append(list, entry(fp, "file", len(c.files[fp]), blobSHA(c.files[fp])))
		}
	}
	if list == nil {
		return notFound(doc)
	}
	return jsonResp(200, list)
}

// ---- pull requests ---------------------------------------------------------

func (s *Server) prNumber(req *request) (*PullRequest, bool) {
	n, err := strconv.Atoi(req.params["pull_number"])
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pr := req.repo.pulls[n]
	if pr == nil {
		return nil, false
	}
	snap := s.prSnapshotLocked(req.repo, pr)
	return &snap, true
}

func (s *Server) branchJSON(tmpl map[string]any, repoFull, ref, sha string) map[string]any {
	m := map[string]any{}
	for k, v := range tmpl {
		m[k] = v
	}
	s.mu.Lock()
	rs := s.repos[strings.ToLower(repoFull)]
	u := *s.userLocked(rs.Owner)
	s.mu.Unlock()
	m["label"] = rs.Owner + ":" + ref
	m["ref"] = ref
	m["sha"] = sha
	m["user"] = s.userJSON(s.userTemplate(), u)
	if r, ok := tmpl["repo"].(map[string]any); ok {
		c := map[string]any{}
		for k, v := range r {
			c[k] = v
		}
		s.patchRepoJSON(c, rs, false)
		m["repo"] = c
	}
	return m
}

func (s *Server) prJSON(pr *PullRequest) map[string]any {
	m := example("pull-request")
	full := pr.Repo
	base := s.apiURL(fmt.Sprintf("repos/%s/pulls/%d", full, pr.Number))
	html := s.webURL(fmt.Sprintf("%s/pull/%d", full, pr.Number))
	m["url"] = base
	m["id"] = pr.ID
	m["node_id"] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("011:PullRequest%d", pr.ID)))
	m["html_url"] = html
	m["diff_url"] = html + ".diff"
	m["patch_url"] = html + ".patch"
	m["issue_url"] = s.apiURL(fmt.Sprintf("repos/%s/issues/%d", full, pr.Number))
	m["commits_url"] = base + "/commits"
	m["review_comments_url"] = base + "/comments"
	m["review_comment_url"] = s.apiURL("repos/" + full + "/pulls/comments{/number}")
	m["comments_url"] = s.apiURL(fmt.Sprintf("repos/%s/issues/%d/comments", full, pr.Number))
	m["statuses_url"] = s.apiURL("repos/" + full + "/statuses/" + pr.HeadSHA)
	m["number"] = pr.Number
	m["state"] = pr.State
	m["locked"] = false
	m["title"] = pr.Title
	m["body"] = "Pull request " + pr.HeadRef
	m["user"] = s.userJSON(s.userTemplate(), pr.User)
	m["created_at"] = ts(pr.CreatedAt)
	m["updated_at"] = ts(pr.UpdatedAt)
	m["closed_at"] = ts(pr.ClosedAt)
	if pr.Merged {
		m["merged_at"] = ts(pr.ClosedAt)
		m["merge_commit_sha"] = pr.MergeCommitSHA
		m["merged_by"] = m["user"]
	} else {
		m["merged_at"] = nil
		m["merge_commit_sha"] = nil
		m["merged_by"] = nil
	}
	m["merged"] = pr.Merged
	m["draft"] = false
	m["head"] = s.branchJSON(m["head"].(map[string]any), pr.HeadRepo, pr.HeadRef, pr.HeadSHA)
	m["base"] = s.branchJSON(m["base"].(map[string]any), pr.Repo, pr.BaseRef, pr.BaseSHA)
	s.mu.Lock()
	files := s.prFilesLocked(pr)
	commits := s.rangeLocked(pr.BaseSHA, pr.HeadSHA)
	s.mu.Unlock()
	adds, dels := 0, 0
	for _, f := range files {
		_, a, d := simplePatch(f.old, f.new)
		adds += a
		dels += d
	}
	m["additions"] = adds
	m["deletions"] = dels
	m["changed_files"] = len(files)
	m["commits"] = len(commits)
	m["comments"] = 0
	m["review_comments"] = 0
	m["_links"] = map[string]any{
		"self":            map[string]any{"href": base},
		"html":            map[string]any{"href": html},
		"issue":           map[string]any{"href": m["issue_url"]},
		"comments":        map[string]any{"href": m["comments_url"]},
		"review_comments": map[string]any{"href": m["review_comments_url"]},
		"review_comment":  map[string]any{"href": m["review_comment_url"]},
		"commits":         map[string]any{"href": m["commits_url"]},
		"statuses":        map[string]any{"href": m["statuses_url"]},
	}
	return m
}

func (s *Server) handlePull(req *request) response {
	pr, ok := s.prNumber(req)
	if !ok {
		return notFound(docURL(RoutePull))
	}
	return jsonResp(200, s.prJSON(pr))
}

func (s *Server) diffEntries(repoFull, ref string, files []fileChange) []any {
	tmpl := example("diff-entry-items")
	out := make([]any, 0, len(files))
	for _, f := range files {
		m := map[string]any{}
		for k, v := range tmpl {
			m[k] = v
		}
		content := f.new
		if f.status == "removed" {
			content = f.old
		}
		patch, a, d := simplePatch(f.old, f.new)
		m["sha"] = blobSHA(content)
		m["filename"] = f.path
		m["status"] = f.status
		m["additions"] = a
		m["deletions"] = d
		m["changes"] = a + d
		m["blob_url"] = s.webURL(repoFull + "/blob/" + ref + "/" + f.path)
		m["raw_url"] = s.webURL(repoFull + "/raw/" + ref + "/" + f.path)
		m["contents_url"] = s.apiURL("repos/"+repoFull+"/contents/"+f.path) + "?ref=" + ref
		m["patch"] = patch
		delete(m, "previous_filename")
		out = append(out, m)
	}
	return out
}

// paginate slices items per GitHub's page/per_page and sets the Link header.
func (s *Server) paginate(req *request, items []any, defPer int) ([]any, http.Header) {
	per := defPer
	if v, err := strconv.Atoi(req.query.Get("per_page")); err == nil && v > 0 {
		per = min(v, 100)
	}
	page := 1
	if v, err := strconv.Atoi(req.query.Get("page")); err == nil && v > 0 {
		page = v
	}
	last := max((len(items)+per-1)/per, 1)
	start := min((page-1)*per, len(items))
	end := min(start+per, len(items))
	h := http.Header{}
	link := func(p int, rel string) string {
		q := url.Values{}
		for k, v := range req.query {
			q[k] = v
		}
		q.Set("per_page", strconv.Itoa(per))
		q.Set("page", strconv.Itoa(p))
		return fmt.Sprintf(`<%s?%s>; rel="%s"`, s.apiURL(strings.TrimPrefix(req.r.URL.Path, "/")), q.Encode(), rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(page-1, "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		h.Set("Link", strings.Join(links, ", "))
	}
	return items[start:end], h
}

// MaxPRFiles is how many files GitHub lists for a pull request.
const MaxPRFiles = 3000

func (s *Server) handlePullFiles(req *request) response {
	pr, ok := s.prNumber(req)
	if !ok {
		return notFound(docURL(RoutePullFiles))
	}
	s.mu.Lock()
	files := s.prFilesLocked(pr)
	s.mu.Unlock()
	if len(files) > MaxPRFiles {
		files = files[:MaxPRFiles]
	}
	items := s.diffEntries(pr.HeadRepo, pr.HeadSHA, files)
	page, h := s.paginate(req, items, 30)
	return response{status: 200, body: page, header: h}
}

// ---- compare -----------------------------------------------------------------

func (s *Server) commitJSON(tmpl map[string]any, rs *repoState, c *commitObj) map[string]any {
	m := map[string]any{}
	for k, v := range tmpl {
		m[k] = v
	}
	m["sha"] = c.sha
	m["node_id"] = base64.StdEncoding.EncodeToString([]byte("06:Commit" + c.sha))
	m["url"] = s.apiURL("repos/" + rs.FullName + "/commits/" + c.sha)
	m["html_url"] = s.webURL(rs.FullName + "/commit/" + c.sha)
	m["comments_url"] = s.apiURL("repos/" + rs.FullName + "/commits/" + c.sha + "/comments")
	who := map[string]any{"name": c.author.Login, "email": c.author.Login + "@users.noreply.example.com", "date": ts(c.timestamp)}
	m["commit"] = map[string]any{
		"url":           s.apiURL("repos/" + rs.FullName + "/git/commits/" + c.sha),
		"author":        who,
		"committer":     who,
		"message":       c.message,
		"tree":          map[string]any{"url": s.apiURL("repos/" + rs.FullName + "/git/trees/" + c.tree), "sha": c.tree},
		"comment_count": 0,
		"verification":  map[string]any{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil, "verified_at": nil},
	}
	u := s.userJSON(s.userTemplate(), c.author)
	m["author"] = u
	m["committer"] = u
	var parents []any
	for _, p := range c.parents {
		parents = append(parents, map[string]any{"url": s.apiURL("repos/" + rs.FullName + "/commits/" + p), "sha": p, "html_url": s.webURL(rs.FullName + "/commit/" + p)})
	}
	if parents == nil {
		parents = []any{}
	}
	m["parents"] = parents
	delete(m, "files")
	delete(m, "stats")
	return m
}

// MaxCompareFiles and MaxCompareCommits are GitHub's compare limits.
const (
	MaxCompareFiles   = 300
	MaxCompareCommits = 250
)

func (s *Server) handleCompare(req *request) response {
	doc := docURL(RouteCompare)
	rs := req.repo
	basehead := req.params["basehead"]
	base, head, ok := strings.Cut(basehead, "...")
	if !ok {
		return notFound(doc)
	}
	// "owner:branch" names a ref in a fork of the network
	resolve := func(ref string) *commitObj {
		if owner, br, ok := strings.Cut(ref, ":"); ok {
			for _, other := range s.repos {
				if strings.EqualFold(other.Owner, owner) && other.Name == rs.Name {
					return s.resolveLocked(other, br)
				}
			}
			return nil
		}
		return s.resolveLocked(rs, ref)
	}
	s.mu.Lock()
	bc, hc := resolve(base), resolve(head)
	if bc == nil || hc == nil {
		s.mu.Unlock()
		return notFound(doc)
	}
	mb := s.mergeBaseLocked(bc.sha, hc.sha)
	ahead := s.rangeLocked(bc.sha, hc.sha)
	behind := s.rangeLocked(hc.sha, bc.sha)
	files := diffTrees(s.filesOfLocked(mb), hc.files)
	mbc := s.commits[mb]
	s.mu.Unlock()

	m := example("commit-comparison")
	ctmpl := m["base_commit"].(map[string]any)
	status := "identical"
	switch {
	case len(ahead) > 0 && len(behind) > 0:
		status = "diverged"
	case len(ahead) > 0:
		status = "ahead"
	case len(behind) > 0:
		status = "behind"
	}
	m["url"] = s.apiURL("repos/" + rs.FullName + "/compare/" + basehead)
	m["html_url"] = s.webURL(rs.FullName + "/compare/" + basehead)
	m["permalink_url"] = s.webURL(rs.FullName + "/compare/" + rs.Owner + ":" + bc.sha[:7] + "..." + rs.Owner + ":" + hc.sha[:7])
	m["diff_url"] = m["html_url"].(string) + ".diff"
	m["patch_url"] = m["html_url"].(string) + ".patch"
	m["base_commit"] = s.commitJSON(ctmpl, rs, bc)
	if mbc != nil {
		m["merge_base_commit"] = s.commitJSON(ctmpl, rs, mbc)
	} else {
		m["merge_base_commit"] = nil
	}
	m["status"] = status
	m["ahead_by"] = len(ahead)
	m["behind_by"] = len(behind)
	m["total_commits"] = len(ahead)
	var commits []any
	for i, c := range ahead {
		if i >= MaxCompareCommits {
			break
		}
		commits = append(commits, s.commitJSON(ctmpl, rs, c))
	}
	if commits == nil {
		commits = []any{}
	}
	m["commits"] = commits
	if len(files) > MaxCompareFiles {
		files = files[:MaxCompareFiles]
	}
	m["files"] = s.diffEntries(rs.FullName, hc.sha, files)
	return jsonResp(200, m)
}

// ---- collaborators and teams ------------------------------------------------

// legacyPermission maps a role to the `permission` field GitHub returns
// (admin/write/read/none); role_name carries the role itself.
func legacyPermission(role string) string {
	switch role {
	case "admin":
		return "admin"
	case "maintain", "write":
		return "write"
	case "triage", "read":
		return "read"
	}
	return "none"
}

func (s *Server) handlePermission(req *request) response {
	login := req.params["username"]
	s.mu.Lock()
	u, known := s.users[strings.ToLower(login)]
	role := s.perms[strings.ToLower(req.repo.FullName)][strings.ToLower(login)]
	if strings.EqualFold(login, req.repo.Owner) && role == "" {
		role = "admin"
	}
	var user User
	if known {
		user = *u
	}
	s.mu.Unlock()
	if !known {
		return ghError(404, login+" is not a user", docURL(RoutePermission))
	}
	if role == "" {
		role = "none"
	}
	m := example("repository-collaborator-permission-response-if-user-has-admin-permissions")
	m["permission"] = legacyPermission(role)
	m["role_name"] = role
	uj := s.userJSON(m["user"].(map[string]any), user)
	rank := map[string]int{"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}[role]
	uj["permissions"] = map[string]any{"admin": rank >= 5, "maintain": rank >= 4, "push": rank >= 3, "triage": rank >= 2, "pull": rank >= 1}
	uj["role_name"] = role
	m["user"] = uj
	return jsonResp(200, m)
}

func (s *Server) handleTeamMembership(req *request) response {
	org, slug, login := req.params["org"], req.params["team_slug"], req.params["username"]
	doc := docURL(RouteTeamMembership)
	s.mu.Lock()
	orgVisible := false
	for k := range req.inst.repos {
		if strings.HasPrefix(k, strings.ToLower(org)+"/") {
			orgVisible = true
		}
	}
	member := s.teams[strings.ToLower(org+"/"+slug)][strings.ToLower(login)]
	s.mu.Unlock()
	if !orgVisible || !member {
		return notFound(doc)
	}
	return jsonResp(200, map[string]any{
		"url":   s.apiURL(fmt.Sprintf("organizations/%s/team/%s/memberships/%s", org, slug, login)),
		"role":  "member",
		"state": "active",
	})
}

// ---- helpers for sorting check runs ----------------------------------------

func sortInt64(xs []int64) { sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] }) }
