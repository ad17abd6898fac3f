// Package githubtest is a stateful fake of the GitHub REST endpoints
// tinyforge-bot calls, served over a real httptest server.
//
// The fake verifies the app JWT (RS256, iss, iat/exp window) on the token
// exchange, issues expiring installation tokens, requires them on every
// repository endpoint, validates request bodies against GitHub's OpenAPI
// description (testdata/openapi-subset.json), enforces GitHub's size limits
// with GitHub's 422 answers, answers conditional GETs with 304, and records
// every call. Responses start from GitHub's own examples
// (components.examples) and are overwritten with the fake's state.
//
// Decisions where GitHub leaves room:
//   - collaborator permission: a known user (any login the fake has seen)
//     without a role gets 200 {"permission":"none","role_name":"none"}; an
//     unknown login gets 404 "<login> is not a user". `permission` is the
//     legacy value (maintain→write, triage→read); role_name is the role. The
//     repository owner is admin.
//   - summary/text: refused above 65535 characters (schema, "Only 65535
//     characters are allowed; N were supplied.") and above 65535 bytes
//     ("summary exceeds a maximum bytesize of 65535"), both GitHub answers.
//   - a request without Authorization on a repository route gets 401
//     "Requires authentication" (GitHub answers 404 for private repos).
//   - a push webhook carries at most MaxPushCommits commits and no marker
//     when capped (PushOptions.MaxCommits simulates a smaller cap).
//   - the access-token request body "null" (what ghinstallation sends) is
//     taken as no body.
package githubtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Option configures a Server.
type Option func(*Server)

// WithTokenTTL sets the lifetime of installation tokens (GitHub: 1 hour).
func WithTokenTTL(d time.Duration) Option { return func(s *Server) { s.tokenTTL = d } }

// WithAppID sets the app ID (default 4242).
func WithAppID(id int64) Option { return func(s *Server) { s.appID = id } }

// WithAppSlug sets the app slug (default "tinyforge-bot"); the app's bot user
// is "<slug>[bot]".
func WithAppSlug(slug string) Option { return func(s *Server) { s.appSlug = slug } }

// WithClock replaces time.Now (token expiry, JWT checks, timestamps).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// Server is the fake GitHub. All methods are safe for concurrent use.
type Server struct {
	ts       *httptest.Server
	appID    int64
	appSlug  string
	key      *rsa.PrivateKey
	pem      []byte
	tokenTTL time.Duration
	now      func() time.Time

	mu            sync.Mutex
	installations map[int64]*installation
	tokens        map[string]*instToken
	repos         map[string]*repoState // lower(full name)
	commits       map[string]*commitObj
	checkRuns     map[int64]*checkRunState
	checkOrder    []int64
	comments      map[int64]*commentState
	perms         map[string]map[string]string // lower(repo) → lower(login) → permission
	users         map[string]*User             // lower(login)
	teams         map[string]map[string]bool   // lower(org/slug) → lower(login)
	calls         []Call
	faults        map[string]*fault
	rate          map[string]*rateState
	seq           int
	nextID        int64
}

type installation struct {
	id    int64
	repos map[string]bool // lower(full name)
}

type instToken struct {
	token   string
	inst    int64
	expires time.Time
	repos   map[string]bool // nil = all of the installation's repos
}

type fault struct {
	status int
	times  int
}

type rateState struct {
	used  int
	reset time.Time
}

// New starts a fake GitHub with a fresh 2048-bit RSA app key.
func New(opts ...Option) *Server {
	s := &Server{
		appID:         4242,
		appSlug:       "tinyforge-bot",
		tokenTTL:      time.Hour,
		now:           time.Now,
		installations: map[int64]*installation{},
		tokens:        map[string]*instToken{},
		repos:         map[string]*repoState{},
		commits:       map[string]*commitObj{},
		checkRuns:     map[int64]*checkRunState{},
		comments:      map[int64]*commentState{},
		perms:         map[string]map[string]string{},
		users:         map[string]*User{},
		teams:         map[string]map[string]bool{},
		faults:        map[string]*fault{},
		rate:          map[string]*rateState{},
		nextID:        1000,
	}
	for _, o := range opts {
		o(s)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	s.key = key
	s.pem = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// URL is "http://127.0.0.1:PORT/" (with the trailing slash go-githubapp
// expects of v3_api_url; also usable as web_url).
func (s *Server) URL() string { return s.ts.URL + "/" }

// BaseURL is URL without the trailing slash (ghinstallation's BaseURL).
func (s *Server) BaseURL() string { return s.ts.URL }

// AppID is the GitHub App's ID.
func (s *Server) AppID() int64 { return s.appID }

// AppSlug is the GitHub App's slug.
func (s *Server) AppSlug() string { return s.appSlug }

// BotLogin is the login of the app's bot user ("<slug>[bot]").
func (s *Server) BotLogin() string { return s.appSlug + "[bot]" }

// PrivateKeyPEM is the app's private key, PKCS#1 PEM.
func (s *Server) PrivateKeyPEM() []byte { return append([]byte(nil), s.pem...) }

// PrivateKey is the app's private key.
func (s *Server) PrivateKey() *rsa.PrivateKey { return s.key }

func (s *Server) newIDLocked() int64 {
	s.nextID++
	return s.nextID
}

// AddInstallation creates (or extends) installation id with repos ("owner/name").
func (s *Server) AddInstallation(id int64, repos ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.installations[id]
	if inst == nil {
		inst = &installation{id: id, repos: map[string]bool{}}
		s.installations[id] = inst
	}
	for _, r := range repos {
		inst.repos[strings.ToLower(r)] = true
	}
}

// RemoveRepoFromInstallation takes repo away from installation id (tokens
// already issued lose access at once, as on GitHub).
func (s *Server) RemoveRepoFromInstallation(id int64, repo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inst := s.installations[id]; inst != nil {
		delete(inst.repos, strings.ToLower(repo))
	}
}

// InstallationFor returns the ID of an installation that has repo (0 if none).
func (s *Server) InstallationFor(repo string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.installationForLocked(repo)
}

func (s *Server) installationForLocked(repo string) int64 {
	var best int64
	for id, inst := range s.installations {
		if inst.repos[strings.ToLower(repo)] && (best == 0 || id < best) {
			best = id
		}
	}
	return best
}

// ExpireTokens makes every installation token issued so far expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Second)
	for _, t := range s.tokens {
		t.expires = past
	}
}

// AddUser registers an account (AddComment, SetPermission and
// AddTeamMember register theirs implicitly). typ is "User" or "Bot".
func (s *Server) AddUser(login, typ string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(login)
	if typ != "" {
		u.Type = typ
	}
	return *u
}

func (s *Server) userLocked(login string) *User {
	k := strings.ToLower(login)
	u := s.users[k]
	if u == nil {
		typ := "User"
		if strings.HasSuffix(login, "[bot]") {
			typ = "Bot"
		}
		u = &User{Login: login, ID: s.newIDLocked(), Type: typ}
		s.users[k] = u
	}
	return u
}

func (s *Server) botUserLocked() User {
	u := s.userLocked(s.BotLogin())
	u.Type = "Bot"
	return *u
}

// AddRepo creates a repository with an initial commit (a README.md) on
// defaultBranch ("main" if empty).
func (s *Server) AddRepo(fullName, defaultBranch string) *Repo {
	if defaultBranch == "" {
		defaultBranch = "main"
	}
	owner, name := splitFull(fullName)
	if owner == "" || name == "" {
		panic("githubtest: repo must be owner/name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.repos[strings.ToLower(fullName)]; ok {
		panic("githubtest: repo exists: " + fullName)
	}
	s.userLocked(owner)
	rs := &repoState{
		Repo:     Repo{ID: s.newIDLocked(), FullName: fullName, Owner: owner, Name: name, DefaultBranch: defaultBranch},
		branches: map[string]string{},
		known:    map[string]bool{},
		issues:   map[int]*issueState{},
		pulls:    map[int]*PullRequest{},
	}
	c := s.newCommitLocked(nil, map[string][]byte{"README.md": []byte("# " + name + "\n")}, "Initial commit", *s.userLocked(owner))
	rs.branches[defaultBranch] = c.sha
	rs.known[c.sha] = true
	rs.InitialSHA = c.sha
	s.repos[strings.ToLower(fullName)] = rs
	r := rs.Repo
	return &r
}

// Fork creates forkFullName as a fork of repo: same branches and commits.
func (s *Server) Fork(repo, forkFullName string) *Repo {
	owner, name := splitFull(forkFullName)
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.repoLocked(repo)
	if _, ok := s.repos[strings.ToLower(forkFullName)]; ok || owner == "" || name == "" {
		panic("githubtest: bad fork name " + forkFullName)
	}
	s.userLocked(owner)
	rs := &repoState{
		Repo:     Repo{ID: s.newIDLocked(), FullName: forkFullName, Owner: owner, Name: name, DefaultBranch: src.DefaultBranch, InitialSHA: src.InitialSHA},
		branches: map[string]string{},
		known:    map[string]bool{},
		issues:   map[int]*issueState{},
		pulls:    map[int]*PullRequest{},
		fork:     true,
	}
	for b, sha := range src.branches {
		rs.branches[b] = sha
	}
	for sha := range src.known {
		rs.known[sha] = true
	}
	s.repos[strings.ToLower(forkFullName)] = rs
	r := rs.Repo
	return &r
}

// Repo returns a snapshot of a repository.
func (s *Server) Repo(fullName string) Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repoLocked(fullName).Repo
}

// Commit commits files to branch (nil value deletes the path), creating the
// branch from the default branch if absent, and returns the new head sha.
func (s *Server) Commit(repo, branch string, files map[string]*string, message string) string {
	return s.CommitAs(repo, branch, "", files, message)
}

// CommitAs is Commit with an author login ("" = the repo owner).
func (s *Server) CommitAs(repo, branch, author string, files map[string]*string, message string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoLocked(repo)
	parent, ok := rs.branches[branch]
	if !ok {
		parent = rs.branches[rs.DefaultBranch]
	}
	snap := map[string][]byte{}
	for p, b := range s.filesOfLocked(parent) {
		snap[p] = b
	}
	for p, v := range files {
		p = strings.TrimPrefix(p, "/")
		if v == nil {
			delete(snap, p)
		} else {
			snap[p] = []byte(*v)
		}
	}
	if author == "" {
		author = rs.Owner
	}
	c := s.newCommitLocked([]string{parent}, snap, message, *s.userLocked(author))
	rs.branches[branch] = c.sha
	rs.known[c.sha] = true
	return c.sha
}

// ForcePush points branch at sha (a commit of the repo), as a force push would.
func (s *Server) ForcePush(repo, branch, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoLocked(repo)
	c := s.resolveLocked(rs, sha)
	if c == nil {
		panic("githubtest: unknown commit " + sha)
	}
	rs.branches[branch] = c.sha
}

// CreateBranch creates branch at from (a branch or sha) and returns its sha.
func (s *Server) CreateBranch(repo, branch, from string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoLocked(repo)
	if from == "" {
		from = rs.DefaultBranch
	}
	c := s.resolveLocked(rs, from)
	if c == nil {
		panic("githubtest: unknown ref " + from)
	}
	rs.branches[branch] = c.sha
	return c.sha
}

// DeleteBranch removes a branch.
func (s *Server) DeleteBranch(repo, branch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.repoLocked(repo).branches, branch)
}

// Head returns the head sha of branch ("" if absent).
func (s *Server) Head(repo, branch string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repoLocked(repo).branches[branch]
}

// File returns path at ref (branch or commit sha) with its git blob sha.
func (s *Server) File(repo, ref, path string) (content []byte, blobSHA string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repos[strings.ToLower(repo)]
	if rs == nil {
		return nil, "", false
	}
	c := s.resolveLocked(rs, ref)
	if c == nil {
		return nil, "", false
	}
	b, ok := c.files[strings.TrimPrefix(path, "/")]
	if !ok {
		return nil, "", false
	}
	return append([]byte(nil), b...), blobSHAOf(b), true
}

func blobSHAOf(b []byte) string { return blobSHA(b) }

// ChangedFiles lists the paths that commit sha changed relative to its first
// parent (what a push payload lists for it).
func (s *Server) ChangedFiles(repo, sha string) (added, modified, removed []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.resolveLocked(s.repoLocked(repo), sha)
	if c == nil {
		return nil, nil, nil
	}
	added, modified, removed = []string{}, []string{}, []string{}
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
	return
}

// AddIssue opens a plain issue and returns its number.
func (s *Server) AddIssue(repo, author, title string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoLocked(repo)
	if author == "" {
		author = rs.Owner
	}
	rs.nextNumber++
	rs.issues[rs.nextNumber] = &issueState{number: rs.nextNumber, title: title, user: *s.userLocked(author)}
	return rs.nextNumber
}

// OpenPR opens a same-repository pull request from head into base.
func (s *Server) OpenPR(repo, head, base string) int {
	return s.OpenForkPR(repo, repo, head, base)
}

// OpenForkPR opens a pull request into repo's base from forkRepo's head
// branch (forkRepo must exist: AddRepo it and CreateBranch/Commit there).
func (s *Server) OpenForkPR(repo, forkRepo, head, base string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoLocked(repo)
	hr := s.repoLocked(forkRepo)
	if base == "" {
		base = rs.DefaultBranch
	}
	headSHA, ok := hr.branches[head]
	if !ok {
		panic("githubtest: no head branch " + head + " in " + forkRepo)
	}
	baseSHA, ok := rs.branches[base]
	if !ok {
		panic("githubtest: no base branch " + base + " in " + repo)
	}
	rs.nextNumber++
	n := rs.nextNumber
	now := s.now().UTC().Truncate(time.Second)
	pr := &PullRequest{
		Number: n, ID: s.newIDLocked(), Repo: rs.FullName, HeadRepo: hr.FullName,
		HeadRef: head, HeadSHA: headSHA, BaseRef: base, BaseSHA: baseSHA,
		State: "open", User: *s.userLocked(hr.Owner), Title: "Update " + head,
		CreatedAt: now, UpdatedAt: now,
	}
	rs.pulls[n] = pr
	rs.issues[n] = &issueState{number: n, title: pr.Title, user: pr.User, isPR: true}
	s.markKnownLocked(rs, headSHA)
	return n
}

// ClosePR closes a pull request without merging.
func (s *Server) ClosePR(repo string, number int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr := s.mustPRLocked(repo, number)
	s.prHeadLocked(pr)
	pr.State = "closed"
	pr.ClosedAt = s.now().UTC().Truncate(time.Second)
	pr.UpdatedAt = pr.ClosedAt
}

func (s *Server) mustPRLocked(repo string, number int) *PullRequest {
	pr := s.repoLocked(repo).pulls[number]
	if pr == nil {
		panic(fmt.Sprintf("githubtest: no PR %s#%d", repo, number))
	}
	return pr
}

// MergePR creates a merge commit on the base branch (base head + the PR's
// changes since the merge base) and marks the PR merged and closed.
func (s *Server) MergePR(repo string, number int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoLocked(repo)
	pr := s.mustPRLocked(repo, number)
	head := s.prHeadLocked(pr)
	base := rs.branches[pr.BaseRef]
	mb := s.mergeBaseLocked(base, head)
	snap := map[string][]byte{}
	for p, b := range s.filesOfLocked(base) {
		snap[p] = b
	}
	for _, ch := range diffTrees(s.filesOfLocked(mb), s.filesOfLocked(head)) {
		if ch.status == "removed" {
			delete(snap, ch.path)
		} else {
			snap[ch.path] = ch.new
		}
	}
	c := s.newCommitLocked([]string{base, head}, snap, fmt.Sprintf("Merge pull request #%d from %s", number, pr.HeadRef), pr.User)
	rs.branches[pr.BaseRef] = c.sha
	rs.known[c.sha] = true
	s.markKnownLocked(rs, head)
	pr.BaseSHA = base
	pr.Merged = true
	pr.State = "closed"
	pr.MergeCommitSHA = c.sha
	pr.ClosedAt = s.now().UTC().Truncate(time.Second)
	pr.UpdatedAt = pr.ClosedAt
	return c.sha
}

// PR returns a snapshot of a pull request (head sha follows the head branch
// while open).
func (s *Server) PR(repo string, number int) PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prSnapshotLocked(s.repoLocked(repo), s.mustPRLocked(repo, number))
}

// SetPermission gives login a role on repo: admin|maintain|write|triage|read|none.
func (s *Server) SetPermission(repo, login, permission string) {
	switch permission {
	case "admin", "maintain", "write", "triage", "read", "none":
	default:
		panic("githubtest: bad permission " + permission)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(login)
	k := strings.ToLower(repo)
	if s.perms[k] == nil {
		s.perms[k] = map[string]string{}
	}
	s.perms[k][strings.ToLower(login)] = permission
}

// AddTeamMember makes login an active member of org/teamSlug.
func (s *Server) AddTeamMember(org, teamSlug, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(login)
	k := strings.ToLower(org + "/" + teamSlug)
	if s.teams[k] == nil {
		s.teams[k] = map[string]bool{}
	}
	s.teams[k][strings.ToLower(login)] = true
}

// SetFault makes the next `times` requests to route (e.g.
// "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}") fail with status.
// times < 0 fails until cleared with times 0.
func (s *Server) SetFault(route string, status, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if times == 0 {
		delete(s.faults, route)
		return
	}
	s.faults[route] = &fault{status: status, times: times}
}
