package githubtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Annotation is a check-run annotation as sent by the app.
type Annotation struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	StartColumn     *int   `json:"start_column,omitempty"`
	EndColumn       *int   `json:"end_column,omitempty"`
	AnnotationLevel string `json:"annotation_level"`
	Message         string `json:"message"`
	Title           string `json:"title,omitempty"`
	RawDetails      string `json:"raw_details,omitempty"`
}

// CheckOutput is a check run's output.
type CheckOutput struct {
	Title   string
	Summary string
	Text    string
}

// CheckRun is the current state of a check run.
type CheckRun struct {
	ID          int64
	Repo        string
	Name        string
	HeadSHA     string
	Status      string // queued | in_progress | completed
	Conclusion  string // "" until completed
	ExternalID  string
	DetailsURL  string
	Output      CheckOutput
	Annotations []Annotation // accumulated over create and every update
	AppID       int64
	StartedAt   time.Time
	CompletedAt time.Time
	Updates     int // PATCH requests accepted
}

type checkRunState struct {
	CheckRun
	suiteID int64
}

// Comment is an issue or pull-request comment.
type Comment struct {
	ID        int64
	Repo      string
	Issue     int
	User      User
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
	HTMLURL   string
}

type commentState struct {
	Comment
	reactions []reaction
}

type reaction struct {
	id      int64
	user    User
	content string
	created time.Time
}

// Limits GitHub enforces on check runs and comments.
const (
	MaxAnnotationsPerRequest = 50
	MaxOutputChars           = 65535 // summary, text: characters (schema) and bytes (GitHub's bytesize check)
	MaxAnnotationMessage     = 64 * 1024
	MaxAnnotationTitle       = 255
	MaxCommentChars          = 65536
)

// CheckRuns returns the check runs of repo in creation order.
func (s *Server) CheckRuns(repo string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CheckRun
	for _, id := range s.checkOrder {
		cr := s.checkRuns[id]
		if strings.EqualFold(cr.Repo, repo) {
			c := cr.CheckRun
			c.Annotations = append([]Annotation(nil), cr.Annotations...)
			out = append(out, c)
		}
	}
	return out
}

// AddCheckRun inserts a check run as if another app (cr.AppID) created it.
func (s *Server) AddCheckRun(repo string, cr CheckRun) CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoLocked(repo)
	cr.ID = s.newIDLocked()
	cr.Repo = rs.FullName
	if cr.Status == "" {
		cr.Status = "queued"
	}
	if cr.StartedAt.IsZero() {
		cr.StartedAt = s.now().UTC().Truncate(time.Second)
	}
	s.checkRuns[cr.ID] = &checkRunState{CheckRun: cr, suiteID: s.newIDLocked()}
	s.checkOrder = append(s.checkOrder, cr.ID)
	return cr
}

type checkRunBody struct {
	Name        *string `json:"name"`
	HeadSHA     *string `json:"head_sha"`
	DetailsURL  *string `json:"details_url"`
	ExternalID  *string `json:"external_id"`
	Status      *string `json:"status"`
	StartedAt   *string `json:"started_at"`
	Conclusion  *string `json:"conclusion"`
	CompletedAt *string `json:"completed_at"`
	Output      *struct {
		Title       *string           `json:"title"`
		Summary     *string           `json:"summary"`
		Text        *string           `json:"text"`
		Annotations []json.RawMessage `json:"annotations"`
	} `json:"output"`
}

// checkLimits applies GitHub's check-run limits before schema validation,
// with GitHub's own messages.
func checkRunLimits(doc string, raw []byte, creating bool) (response, bool) {
	var b checkRunBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return ghError(400, "Problems parsing JSON", doc), true
	}
	if creating && b.Status != nil && *b.Status == "completed" && b.Conclusion == nil {
		return ghInvalidRequest(doc, `"conclusion" wasn't supplied.`), true
	}
	if b.Output == nil {
		return response{}, false
	}
	o := b.Output
	if n := len(o.Annotations); n > MaxAnnotationsPerRequest {
		return ghInvalidRequest(doc, fmt.Sprintf("No more than %d items are allowed; %d were supplied.", MaxAnnotationsPerRequest, n)), true
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"summary", o.Summary}, {"text", o.Text}} {
		if f.v == nil {
			continue
		}
		if n := utf8.RuneCountInString(*f.v); n > MaxOutputChars {
			return ghInvalidRequest(doc, fmt.Sprintf("Only %d characters are allowed; %d were supplied.", MaxOutputChars, n)), true
		}
		if len(*f.v) > MaxOutputChars {
			return ghValidationFailed(doc, map[string]any{"resource": "CheckRun", "code": "custom", "field": f.name, "message": fmt.Sprintf("%s exceeds a maximum bytesize of %d", f.name, MaxOutputChars)}), true
		}
	}
	for _, rawA := range o.Annotations {
		var a map[string]any
		if err := json.Unmarshal(rawA, &a); err != nil {
			continue // left to schema validation
		}
		for _, req := range []string{"path", "start_line", "end_line", "annotation_level", "message"} {
			if _, ok := a[req]; !ok {
				return ghInvalidRequest(doc, fmt.Sprintf("%q wasn't supplied.", req)), true
			}
		}
		if msg, _ := a["message"].(string); len(msg) > MaxAnnotationMessage {
			return ghValidationFailed(doc, map[string]any{"resource": "CheckRun", "code": "custom", "field": "annotations", "message": fmt.Sprintf("message exceeds a maximum bytesize of %d", MaxAnnotationMessage)}), true
		}
		if rd, _ := a["raw_details"].(string); len(rd) > MaxAnnotationMessage {
			return ghValidationFailed(doc, map[string]any{"resource": "CheckRun", "code": "custom", "field": "annotations", "message": fmt.Sprintf("raw_details exceeds a maximum bytesize of %d", MaxAnnotationMessage)}), true
		}
		if t, _ := a["title"].(string); utf8.RuneCountInString(t) > MaxAnnotationTitle {
			return ghValidationFailed(doc, map[string]any{"resource": "CheckRun", "code": "custom", "field": "annotations", "message": fmt.Sprintf("title is too long (maximum is %d characters)", MaxAnnotationTitle)}), true
		}
		sl, _ := a["start_line"].(float64)
		el, _ := a["end_line"].(float64)
		_, hasSC := a["start_column"]
		_, hasEC := a["end_column"]
		if (hasSC || hasEC) && sl != el {
			return ghInvalidRequest(doc, "start_column and end_column may only be given when start_line and end_line are equal."), true
		}
		if sl < 1 || el < sl {
			return ghInvalidRequest(doc, "start_line must be at least 1 and end_line must not be before start_line."), true
		}
	}
	return response{}, false
}

func parseTime(v *string) (time.Time, bool) {
	if v == nil {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339, *v)
	return t, err == nil
}

func (s *Server) applyCheckRunBody(cr *checkRunState, b *checkRunBody, doc string, creating bool) (response, bool) {
	now := s.now().UTC().Truncate(time.Second)
	if b.Name != nil {
		cr.Name = *b.Name
	}
	if b.DetailsURL != nil {
		cr.DetailsURL = *b.DetailsURL
	}
	if b.ExternalID != nil {
		cr.ExternalID = *b.ExternalID
	}
	status := cr.Status
	if b.Status != nil {
		status = *b.Status
	}
	if b.Conclusion != nil {
		status = "completed" // providing a conclusion completes the run
	}
	if b.CompletedAt != nil && b.Conclusion == nil && cr.Conclusion == "" {
		return ghInvalidRequest(doc, `"conclusion" wasn't supplied.`), true
	}
	if status == "completed" && b.Conclusion == nil && cr.Conclusion == "" {
		return ghInvalidRequest(doc, `"conclusion" wasn't supplied.`), true
	}
	switch status {
	case "waiting", "requested", "pending":
		return ghInvalidRequest(doc, "Only GitHub Actions can set a status of waiting, pending or requested."), true
	}
	if b.Conclusion != nil && *b.Conclusion == "stale" {
		return ghInvalidRequest(doc, "You cannot change a check run conclusion to stale, only GitHub can set this."), true
	}
	started, ok := parseTime(b.StartedAt)
	if !ok {
		return ghInvalidRequest(doc, "started_at is not a valid ISO 8601 timestamp."), true
	}
	completed, ok := parseTime(b.CompletedAt)
	if !ok {
		return ghInvalidRequest(doc, "completed_at is not a valid ISO 8601 timestamp."), true
	}
	if !started.IsZero() {
		cr.StartedAt = started
	} else if creating {
		cr.StartedAt = now
	}
	cr.Status = status
	if b.Conclusion != nil {
		cr.Conclusion = *b.Conclusion
	}
	if cr.Status == "completed" {
		if !completed.IsZero() {
			cr.CompletedAt = completed
		} else if cr.CompletedAt.IsZero() {
			cr.CompletedAt = now
		}
	}
	if b.Output != nil {
		if b.Output.Title != nil {
			cr.Output.Title = *b.Output.Title
		}
		if b.Output.Summary != nil {
			cr.Output.Summary = *b.Output.Summary
		}
		if b.Output.Text != nil {
			cr.Output.Text = *b.Output.Text
		}
		for _, raw := range b.Output.Annotations {
			var a Annotation
			_ = json.Unmarshal(raw, &a)
			cr.Annotations = append(cr.Annotations, a)
		}
	}
	return response{}, false
}

func (s *Server) checkRunJSON(cr *checkRunState) map[string]any {
	m := example("check-run")
	full := cr.Repo
	m["id"] = cr.ID
	m["node_id"] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("08:CheckRun%d", cr.ID)))
	m["head_sha"] = cr.HeadSHA
	m["external_id"] = cr.ExternalID
	m["url"] = s.apiURL(fmt.Sprintf("repos/%s/check-runs/%d", full, cr.ID))
	m["html_url"] = s.webURL(fmt.Sprintf("%s/runs/%d", full, cr.ID))
	if cr.DetailsURL != "" {
		m["details_url"] = cr.DetailsURL
	} else {
		m["details_url"] = s.webURL("apps/" + s.appSlug)
	}
	m["status"] = cr.Status
	if cr.Conclusion == "" {
		m["conclusion"] = nil
	} else {
		m["conclusion"] = cr.Conclusion
	}
	m["started_at"] = ts(cr.StartedAt)
	m["completed_at"] = ts(cr.CompletedAt)
	str := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	m["output"] = map[string]any{
		"title":             str(cr.Output.Title),
		"summary":           str(cr.Output.Summary),
		"text":              str(cr.Output.Text),
		"annotations_count": len(cr.Annotations),
		"annotations_url":   s.apiURL(fmt.Sprintf("repos/%s/check-runs/%d/annotations", full, cr.ID)),
	}
	m["name"] = cr.Name
	m["check_suite"] = map[string]any{"id": cr.suiteID}
	app := m["app"].(map[string]any)
	app["id"] = cr.AppID
	if cr.AppID == s.appID {
		app["slug"] = s.appSlug
		app["name"] = s.appSlug
		app["html_url"] = s.webURL("apps/" + s.appSlug)
	} else {
		app["slug"] = fmt.Sprintf("app-%d", cr.AppID)
		app["name"] = fmt.Sprintf("App %d", cr.AppID)
		app["html_url"] = s.webURL(fmt.Sprintf("apps/app-%d", cr.AppID))
	}
	// open PRs whose head is this commit
	var prs []any
	s.mu.Lock()
	if rs := s.repos[strings.ToLower(full)]; rs != nil {
		for _, n := range sortedPRNumbers(rs) {
			pr := rs.pulls[n]
			if pr.State != "open" || s.prHeadLocked(pr) != cr.HeadSHA || !strings.EqualFold(pr.HeadRepo, pr.Repo) {
				continue
			}
			ref := func(r, sha string) map[string]any {
				return map[string]any{"ref": r, "sha": sha, "repo": map[string]any{"id": rs.ID, "url": s.apiURL("repos/" + full), "name": rs.Name}}
			}
			prs = append(prs, map[string]any{
				"url": s.apiURL(fmt.Sprintf("repos/%s/pulls/%d", full, n)), "id": pr.ID, "number": n,
				"head": ref(pr.HeadRef, pr.HeadSHA), "base": ref(pr.BaseRef, rs.branches[pr.BaseRef]),
			})
		}
	}
	s.mu.Unlock()
	if prs == nil {
		prs = []any{}
	}
	m["pull_requests"] = prs
	return m
}

func sortedPRNumbers(rs *repoState) []int {
	var ns []int
	for n := range rs.pulls {
		ns = append(ns, n)
	}
	for i := 1; i < len(ns); i++ {
		for j := i; j > 0 && ns[j] < ns[j-1]; j-- {
			ns[j], ns[j-1] = ns[j-1], ns[j]
		}
	}
	return ns
}

func (s *Server) handleCreateCheckRun(req *request) response {
	doc := docURL(RouteCreateCheckRun)
	var b checkRunBody
	_ = json.Unmarshal(req.body, &b)
	s.mu.Lock()
	rs := req.repo
	if b.HeadSHA == nil || len(*b.HeadSHA) != 40 || s.resolveLocked(rs, *b.HeadSHA) == nil {
		s.mu.Unlock()
		sha := ""
		if b.HeadSHA != nil {
			sha = *b.HeadSHA
		}
		return ghValidationFailed(doc, map[string]any{"resource": "CheckRun", "code": "invalid", "field": "head_sha", "message": "No commit found for SHA: " + sha})
	}
	head := strings.ToLower(*b.HeadSHA)
	cr := &checkRunState{CheckRun: CheckRun{ID: s.newIDLocked(), Repo: rs.FullName, HeadSHA: head, Status: "queued", AppID: s.appID}, suiteID: s.suiteIDLocked(rs, head)}
	if resp, bad := s.applyCheckRunBody(cr, &b, doc, true); bad {
		s.mu.Unlock()
		return resp
	}
	s.checkRuns[cr.ID] = cr
	s.checkOrder = append(s.checkOrder, cr.ID)
	snap := *cr
	s.mu.Unlock()
	return jsonResp(201, s.checkRunJSON(&snap))
}

func (s *Server) suiteIDLocked(rs *repoState, sha string) int64 {
	for _, cr := range s.checkRuns {
		if cr.Repo == rs.FullName && cr.HeadSHA == sha && cr.AppID == s.appID {
			return cr.suiteID
		}
	}
	return s.newIDLocked()
}

func (s *Server) lookupCheckRun(req *request) (*checkRunState, bool) {
	id, err := strconv.ParseInt(req.params["check_run_id"], 10, 64)
	if err != nil {
		return nil, false
	}
	cr := s.checkRuns[id]
	if cr == nil || !strings.EqualFold(cr.Repo, req.repo.FullName) {
		return nil, false
	}
	return cr, true
}

func (s *Server) handleUpdateCheckRun(req *request) response {
	doc := docURL(RouteUpdateCheckRun)
	var b checkRunBody
	_ = json.Unmarshal(req.body, &b)
	s.mu.Lock()
	cr, ok := s.lookupCheckRun(req)
	if !ok {
		s.mu.Unlock()
		return notFound(doc)
	}
	if cr.AppID != s.appID {
		s.mu.Unlock()
		return ghError(403, "Invalid app_id `"+strconv.FormatInt(s.appID, 10)+"` - check run can only be modified by its creator.", doc)
	}
	// apply to a copy so a refused update changes nothing
	cp := *cr
	cp.Annotations = append([]Annotation(nil), cr.Annotations...)
	if resp, bad := s.applyCheckRunBody(&cp, &b, doc, false); bad {
		s.mu.Unlock()
		return resp
	}
	cp.Updates++
	*cr = cp
	s.mu.Unlock()
	return jsonResp(200, s.checkRunJSON(&cp))
}

func (s *Server) handleGetCheckRun(req *request) response {
	s.mu.Lock()
	cr, ok := s.lookupCheckRun(req)
	var snap checkRunState
	if ok {
		snap = *cr
	}
	s.mu.Unlock()
	if !ok {
		return notFound(docURL(RouteGetCheckRun))
	}
	return jsonResp(200, s.checkRunJSON(&snap))
}

func (s *Server) handleListCheckRuns(req *request) response {
	doc := docURL(RouteListCheckRuns)
	rs := req.repo
	s.mu.Lock()
	c := s.resolveLocked(rs, req.params["ref"])
	if c == nil {
		s.mu.Unlock()
		return ghValidationFailed(doc, map[string]any{"resource": "Commit", "code": "invalid", "field": "ref", "message": "No commit found for SHA: " + req.params["ref"]})
	}
	name := req.query.Get("check_name")
	status := req.query.Get("status")
	filter := req.query.Get("filter")
	appID, _ := strconv.ParseInt(req.query.Get("app_id"), 10, 64)
	var matched []checkRunState
	latest := map[string]int{} // name+app → index in matched
	for _, id := range s.checkOrder {
		cr := s.checkRuns[id]
		if cr.Repo != rs.FullName || cr.HeadSHA != c.sha {
			continue
		}
		if name != "" && cr.Name != name || status != "" && cr.Status != status || appID != 0 && cr.AppID != appID {
			continue
		}
		if filter != "all" {
			k := fmt.Sprintf("%d/%s", cr.AppID, cr.Name)
			if i, ok := latest[k]; ok {
				matched[i] = *cr
				continue
			}
			latest[k] = len(matched)
		}
		matched = append(matched, *cr)
	}
	s.mu.Unlock()
	// newest first, as GitHub lists them
	items := make([]any, 0, len(matched))
	for i := len(matched) - 1; i >= 0; i-- {
		items = append(items, s.checkRunJSON(&matched[i]))
	}
	page, h := s.paginate(req, items, 30)
	return response{status: 200, body: map[string]any{"total_count": len(items), "check_runs": page}, header: h}
}

// ---- comments and reactions --------------------------------------------------

// Comments returns the comments on issue/PR number, oldest first.
func (s *Server) Comments(repo string, issue int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.commentsSortedLocked() {
		if strings.EqualFold(c.Repo, repo) && c.Issue == issue {
			out = append(out, c.Comment)
		}
	}
	return out
}

func (s *Server) commentsSortedLocked() []*commentState {
	var ids []int64
	for id := range s.comments {
		ids = append(ids, id)
	}
	sortInt64(ids)
	out := make([]*commentState, len(ids))
	for i, id := range ids {
		out[i] = s.comments[id]
	}
	return out
}

// AddComment records a comment by login on issue/PR number, as if a user
// had posted it (use it to build issue_comment webhooks).
func (s *Server) AddComment(repo string, issue int, login, body string) Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoLocked(repo)
	if rs.issues[issue] == nil {
		panic(fmt.Sprintf("githubtest: no issue %s#%d", repo, issue))
	}
	return s.addCommentLocked(rs, issue, *s.userLocked(login), body)
}

func (s *Server) addCommentLocked(rs *repoState, issue int, u User, body string) Comment {
	now := s.now().UTC().Truncate(time.Second)
	id := s.newIDLocked()
	kind := "issues"
	if rs.issues[issue].isPR {
		kind = "pull"
	}
	c := &commentState{Comment: Comment{
		ID: id, Repo: rs.FullName, Issue: issue, User: u, Body: body, CreatedAt: now, UpdatedAt: now,
		HTMLURL: s.webURL(fmt.Sprintf("%s/%s/%d#issuecomment-%d", rs.FullName, kind, issue, id)),
	}}
	s.comments[id] = c
	return c.Comment
}

// Reactions returns the reaction contents on a comment, in creation order.
func (s *Server) Reactions(repo string, commentID int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.comments[commentID]
	if c == nil || !strings.EqualFold(c.Repo, repo) {
		return nil
	}
	out := []string{}
	for _, r := range c.reactions {
		out = append(out, r.content)
	}
	return out
}

func (s *Server) commentJSON(c Comment) map[string]any {
	m := example("issue-comment")
	m["id"] = c.ID
	m["node_id"] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("012:IssueComment%d", c.ID)))
	m["url"] = s.apiURL(fmt.Sprintf("repos/%s/issues/comments/%d", c.Repo, c.ID))
	m["html_url"] = c.HTMLURL
	m["issue_url"] = s.apiURL(fmt.Sprintf("repos/%s/issues/%d", c.Repo, c.Issue))
	m["body"] = c.Body
	m["user"] = s.userJSON(m["user"].(map[string]any), c.User)
	m["created_at"] = ts(c.CreatedAt)
	m["updated_at"] = ts(c.UpdatedAt)
	if c.User.Type == "Bot" {
		m["author_association"] = "NONE"
		m["performed_via_github_app"] = map[string]any{"id": s.appID, "slug": s.appSlug, "name": s.appSlug}
	}
	return m
}

func commentBodyLimits(doc string, raw []byte) (string, response, bool) {
	var b struct {
		Body *string `json:"body"`
	}
	_ = json.Unmarshal(raw, &b)
	if b.Body == nil {
		return "", response{}, false // schema validation reports it
	}
	if strings.TrimSpace(*b.Body) == "" {
		return "", ghValidationFailed(doc, map[string]any{"resource": "IssueComment", "code": "missing_field", "field": "body"}), true
	}
	if utf8.RuneCountInString(*b.Body) > MaxCommentChars {
		return "", ghValidationFailed(doc, map[string]any{"resource": "IssueComment", "code": "custom", "field": "body", "message": fmt.Sprintf("body is too long (maximum is %d characters)", MaxCommentChars)}), true
	}
	return *b.Body, response{}, false
}

func (s *Server) handleCreateComment(req *request) response {
	doc := docURL(RouteCreateComment)
	body, resp, bad := commentBodyLimits(doc, req.body)
	if bad {
		return resp
	}
	n, _ := strconv.Atoi(req.params["issue_number"])
	s.mu.Lock()
	if req.repo.issues[n] == nil {
		s.mu.Unlock()
		return notFound(doc)
	}
	c := s.addCommentLocked(req.repo, n, s.botUserLocked(), body)
	s.mu.Unlock()
	return jsonResp(201, s.commentJSON(c))
}

func (s *Server) handleUpdateComment(req *request) response {
	doc := docURL(RouteUpdateComment)
	body, resp, bad := commentBodyLimits(doc, req.body)
	if bad {
		return resp
	}
	id, _ := strconv.ParseInt(req.params["comment_id"], 10, 64)
	s.mu.Lock()
	c := s.comments[id]
	if c == nil || !strings.EqualFold(c.Repo, req.repo.FullName) {
		s.mu.Unlock()
		return notFound(doc)
	}
	c.Body = body
	c.UpdatedAt = s.now().UTC().Truncate(time.Second)
	snap := c.Comment
	s.mu.Unlock()
	return jsonResp(200, s.commentJSON(snap))
}

func (s *Server) handleCreateReaction(req *request) response {
	doc := docURL(RouteCreateReaction)
	var b struct {
		Content string `json:"content"`
	}
	_ = json.Unmarshal(req.body, &b)
	id, _ := strconv.ParseInt(req.params["comment_id"], 10, 64)
	s.mu.Lock()
	c := s.comments[id]
	if c == nil || !strings.EqualFold(c.Repo, req.repo.FullName) {
		s.mu.Unlock()
		return notFound(doc)
	}
	bot := s.botUserLocked()
	status := 201
	var r *reaction
	for i := range c.reactions {
		if c.reactions[i].user.ID == bot.ID && c.reactions[i].content == b.Content {
			r = &c.reactions[i]
			status = 200
		}
	}
	if r == nil {
		c.reactions = append(c.reactions, reaction{id: s.newIDLocked(), user: bot, content: b.Content, created: s.now().UTC().Truncate(time.Second)})
		r = &c.reactions[len(c.reactions)-1]
	}
	rc := *r
	s.mu.Unlock()
	m := example("reaction")
	m["id"] = rc.id
	m["node_id"] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("010:Reaction%d", rc.id)))
	m["user"] = s.userJSON(m["user"].(map[string]any), rc.user)
	m["content"] = rc.content
	m["created_at"] = ts(rc.created)
	return jsonResp(status, m)
}
