package githubtest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// Call is one request the fake received.
type Call struct {
	Method         string
	Path           string // decoded URL path
	Query          url.Values
	Route          string // template, e.g. "GET /repos/{owner}/{repo}/contents/{path}"; "" when no route matched
	Params         map[string]string
	Status         int
	Auth           string // "jwt" | "installation" | "none" | "invalid"
	InstallationID int64
	RequestBody    []byte
	Time           time.Time
}

// Calls returns every request received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ResetCalls forgets the recorded calls.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// CallCount counts calls to route ("" counts all calls).
func (s *Server) CallCount(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if route == "" || c.Route == route {
			n++
		}
	}
	return n
}

// Routes (templates as recorded in Call.Route).
const (
	RouteAccessToken      = "POST /app/installations/{installation_id}/access_tokens"
	RouteRepoInstallation = "GET /repos/{owner}/{repo}/installation"
	RouteGetRepo          = "GET /repos/{owner}/{repo}"
	RouteContents         = "GET /repos/{owner}/{repo}/contents/{path}"
	RoutePull             = "GET /repos/{owner}/{repo}/pulls/{pull_number}"
	RoutePullFiles        = "GET /repos/{owner}/{repo}/pulls/{pull_number}/files"
	RouteCompare          = "GET /repos/{owner}/{repo}/compare/{basehead}"
	RouteCreateCheckRun   = "POST /repos/{owner}/{repo}/check-runs"
	RouteUpdateCheckRun   = "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}"
	RouteGetCheckRun      = "GET /repos/{owner}/{repo}/check-runs/{check_run_id}"
	RouteListCheckRuns    = "GET /repos/{owner}/{repo}/commits/{ref}/check-runs"
	RouteCreateComment    = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"
	RouteUpdateComment    = "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}"
	RouteCreateReaction   = "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"
	RoutePermission       = "GET /repos/{owner}/{repo}/collaborators/{username}/permission"
	RouteTeamMembership   = "GET /orgs/{org}/teams/{team_slug}/memberships/{username}"
)

type route struct {
	template string
	method   string
	segs     []string
	greedy   bool // last param takes the rest of the path
	auth     string
	handler  func(*Server, *request) response
}

var routes []*route

func init() {
	add := func(tmpl, auth string, greedy bool, h func(*Server, *request) response) {
		m, p, _ := strings.Cut(tmpl, " ")
		routes = append(routes, &route{template: tmpl, method: m, segs: strings.Split(strings.Trim(p, "/"), "/"), greedy: greedy, auth: auth, handler: h})
	}
	add(RouteAccessToken, "jwt", false, (*Server).handleAccessToken)
	add(RouteRepoInstallation, "jwt", false, (*Server).handleRepoInstallation)
	add(RouteGetRepo, "repo", false, (*Server).handleGetRepo)
	add(RouteContents, "repo", true, (*Server).handleContents)
	add(RoutePull, "repo", false, (*Server).handlePull)
	add(RoutePullFiles, "repo", false, (*Server).handlePullFiles)
	add(RouteCompare, "repo", true, (*Server).handleCompare)
	add(RouteCreateCheckRun, "repo", false, (*Server).handleCreateCheckRun)
	add(RouteUpdateCheckRun, "repo", false, (*Server).handleUpdateCheckRun)
	add(RouteGetCheckRun, "repo", false, (*Server).handleGetCheckRun)
	add(RouteListCheckRuns, "repo", true, (*Server).handleListCheckRuns)
	add(RouteCreateComment, "repo", false, (*Server).handleCreateComment)
	add(RouteUpdateComment, "repo", false, (*Server).handleUpdateComment)
	add(RouteCreateReaction, "repo", false, (*Server).handleCreateReaction)
	add(RoutePermission, "repo", false, (*Server).handlePermission)
	add(RouteTeamMembership, "org", false, (*Server).handleTeamMembership)
}

func matchRoute(method, path string) (*route, map[string]string, bool) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	pathMatched := false
	for _, rt := range routes {
		params, ok := rt.match(parts)
		if !ok {
			continue
		}
		pathMatched = true
		if rt.method == method {
			return rt, params, true
		}
	}
	return nil, nil, pathMatched
}

func (rt *route) match(parts []string) (map[string]string, bool) {
	if len(parts) < len(rt.segs) || (!rt.greedy && len(parts) != len(rt.segs)) {
		return nil, false
	}
	params := map[string]string{}
	for i, seg := range rt.segs {
		if strings.HasPrefix(seg, "{") {
			name := strings.Trim(seg, "{}")
			if rt.greedy && i == len(rt.segs)-1 {
				// the greedy parameter may be followed by fixed segments
				// (".../commits/{ref}/check-runs")
				params[name] = strings.Join(parts[i:], "/")
				return params, params[name] != ""
			}
			if parts[i] == "" {
				return nil, false
			}
			params[name] = parts[i]
			continue
		}
		if parts[i] != seg {
			// greedy middle parameter: {ref} followed by a fixed tail
			return rt.matchGreedyMiddle(parts)
		}
	}
	if len(parts) != len(rt.segs) {
		return rt.matchGreedyMiddle(parts)
	}
	return params, true
}

// matchGreedyMiddle handles templates whose greedy parameter is followed by
// fixed segments, e.g. /repos/{owner}/{repo}/commits/{ref}/check-runs where
// ref may contain slashes.
func (rt *route) matchGreedyMiddle(parts []string) (map[string]string, bool) {
	if !rt.greedy {
		return nil, false
	}
	gi := -1
	for i := len(rt.segs) - 1; i >= 0; i-- {
		if strings.HasPrefix(rt.segs[i], "{") {
			gi = i
			break
		}
	}
	tail := rt.segs[gi+1:]
	if gi < 0 || len(tail) == 0 || len(parts) < len(rt.segs) {
		return nil, false
	}
	for i, seg := range tail {
		if parts[len(parts)-len(tail)+i] != seg {
			return nil, false
		}
	}
	params := map[string]string{}
	for i := 0; i < gi; i++ {
		seg := rt.segs[i]
		if strings.HasPrefix(seg, "{") {
			params[strings.Trim(seg, "{}")] = parts[i]
		} else if parts[i] != seg {
			return nil, false
		}
	}
	v := strings.Join(parts[gi:len(parts)-len(tail)], "/")
	params[strings.Trim(rt.segs[gi], "{}")] = v
	return params, v != ""
}

var prechecks = map[string]func(doc string, body []byte) (response, bool){
	RouteCreateCheckRun: func(doc string, body []byte) (response, bool) { return checkRunLimits(doc, body, true) },
	RouteUpdateCheckRun: func(doc string, body []byte) (response, bool) { return checkRunLimits(doc, body, false) },
	RouteCreateComment: func(doc string, body []byte) (response, bool) {
		_, resp, bad := commentBodyLimits(doc, body)
		return resp, bad
	},
	RouteUpdateComment: func(doc string, body []byte) (response, bool) {
		_, resp, bad := commentBodyLimits(doc, body)
		return resp, bad
	},
}

type request struct {
	r      *http.Request
	body   []byte
	params map[string]string
	query  url.Values
	inst   *installation
	token  *instToken
	repo   *repoState // for repo routes, set after auth
	route  *route
}

type response struct {
	status int
	body   any // marshalled as JSON unless raw is set
	header http.Header
}

func jsonResp(status int, body any) response { return response{status: status, body: body} }

const docsRoot = "https://docs.github.com/rest"

// ghError is GitHub's error body.
func ghError(status int, message, doc string) response {
	if doc == "" {
		doc = docsRoot
	}
	return jsonResp(status, map[string]any{"message": message, "documentation_url": doc, "status": strconv.Itoa(status)})
}

// ghValidationFailed is GitHub's "Validation Failed" 422 with an errors list.
func ghValidationFailed(doc string, errs ...map[string]any) response {
	if doc == "" {
		doc = docsRoot
	}
	list := make([]any, len(errs))
	for i, e := range errs {
		list[i] = e
	}
	return jsonResp(422, map[string]any{"message": "Validation Failed", "errors": list, "documentation_url": doc, "status": "422"})
}

// ghInvalidRequest is GitHub's schema-validation 422 ("Invalid request.\n\n...").
func ghInvalidRequest(doc, detail string) response {
	return ghError(422, "Invalid request.\n\n"+detail, doc)
}

func notFound(doc string) response { return ghError(404, "Not Found", doc) }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))

	call := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), RequestBody: body, Auth: "none", Time: s.now()}
	rt, params, pathMatched := matchRoute(r.Method, r.URL.Path)
	var resp response
	var rateKey string
	switch {
	case rt == nil && pathMatched:
		resp = ghError(404, "Not Found", docsRoot)
	case rt == nil:
		resp = notFound(docsRoot)
	default:
		call.Route = rt.template
		call.Params = params
		req := &request{r: r, body: body, params: params, query: r.URL.Query(), route: rt}
		resp, rateKey = s.dispatch(req, &call)
	}
	s.write(w, r, &call, resp, rateKey)
}

func (s *Server) dispatch(req *request, call *Call) (response, string) {
	rt := req.route
	doc := docURL(rt.template)
	// Authentication.
	authz := req.r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(authz, " ")
	scheme = strings.ToLower(scheme)
	rateKey := ""
	switch rt.auth {
	case "jwt":
		if scheme != "bearer" || cred == "" {
			call.Auth = authKind(authz)
			return ghError(401, "A JSON web token could not be decoded", doc), ""
		}
		if msg := s.verifyJWT(cred); msg != "" {
			call.Auth = "invalid"
			return ghError(401, msg, doc), ""
		}
		call.Auth = "jwt"
		rateKey = "app"
	default:
		if authz == "" {
			return ghError(401, "Requires authentication", doc), ""
		}
		if scheme != "token" && scheme != "bearer" {
			call.Auth = "invalid"
			return ghError(401, "Bad credentials", doc), ""
		}
		s.mu.Lock()
		tok := s.tokens[cred]
		var inst *installation
		if tok != nil {
			inst = s.installations[tok.inst]
		}
		expired := tok != nil && !s.now().Before(tok.expires)
		s.mu.Unlock()
		if tok == nil || inst == nil || expired {
			call.Auth = "invalid"
			return ghError(401, "Bad credentials", doc), ""
		}
		call.Auth = "installation"
		call.InstallationID = tok.inst
		req.token, req.inst = tok, inst
		rateKey = fmt.Sprintf("installation:%d", tok.inst)
		if rt.auth == "repo" {
			full := req.params["owner"] + "/" + req.params["repo"]
			s.mu.Lock()
			rs := s.repos[strings.ToLower(full)]
			ok := rs != nil && inst.repos[strings.ToLower(full)] && (tok.repos == nil || tok.repos[strings.ToLower(full)])
			s.mu.Unlock()
			if !ok {
				// GitHub hides repositories an installation cannot see.
				return notFound(doc), rateKey
			}
			req.repo = rs
		}
	}
	// Injected faults.
	s.mu.Lock()
	if f := s.faults[rt.template]; f != nil {
		if f.times > 0 {
			f.times--
			if f.times == 0 {
				delete(s.faults, rt.template)
			}
		}
		s.mu.Unlock()
		return faultResponse(f.status), rateKey
	}
	s.mu.Unlock()
	// GitHub's own limits (with GitHub's messages), then validation against
	// GitHub's OpenAPI description.
	if pre := prechecks[rt.template]; pre != nil {
		if resp, bad := pre(doc, req.body); bad {
			return resp, rateKey
		}
	}
	if resp, bad := s.validateOpenAPI(req, doc); bad {
		return resp, rateKey
	}
	return rt.handler(s, req), rateKey
}

func faultResponse(status int) response {
	switch status {
	case 502:
		return ghError(502, "Server Error", docsRoot)
	case 503:
		return ghError(503, "Service Unavailable", docsRoot)
	case 500:
		return ghError(500, "Server Error", docsRoot)
	case 403:
		return ghError(403, "API rate limit exceeded", docsRoot)
	}
	return ghError(status, http.StatusText(status), docsRoot)
}

func authKind(authz string) string {
	if authz == "" {
		return "none"
	}
	return "invalid"
}

// write marshals resp, applies ETag/If-None-Match and rate-limit headers,
// and records the call.
func (s *Server) write(w http.ResponseWriter, r *http.Request, call *Call, resp response, rateKey string) {
	var payload []byte
	if resp.body != nil {
		var err error
		payload, err = json.Marshal(resp.body)
		if err != nil {
			resp = ghError(500, "fake: "+err.Error(), "")
			payload, _ = json.Marshal(resp.body)
		}
	}
	h := w.Header()
	for k, vs := range resp.header {
		h[k] = vs
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	h.Set("X-GitHub-Request-Id", randHex(8))
	h.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
	status := resp.status
	if r.Method == http.MethodGet && status == 200 {
		sum := sha256.Sum256(payload)
		etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
		h.Set("ETag", etag)
		h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
		if etagMatch(r.Header.Get("If-None-Match"), etag) {
			status = http.StatusNotModified
			payload = nil
		}
	}
	if rateKey != "" {
		s.mu.Lock()
		rs := s.rate[rateKey]
		now := s.now()
		if rs == nil || !now.Before(rs.reset) {
			rs = &rateState{reset: now.Add(time.Hour).Truncate(time.Second)}
			s.rate[rateKey] = rs
		}
		if status != http.StatusNotModified {
			rs.used++
		}
		used := rs.used
		reset := rs.reset
		s.mu.Unlock()
		limit := 5000
		h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(limit-used, 0)))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("X-RateLimit-Used", strconv.Itoa(used))
		h.Set("X-RateLimit-Resource", "core")
	}
	if status == http.StatusNotModified {
		h.Del("Content-Type")
	} else {
		h.Set("Content-Length", strconv.Itoa(len(payload)))
	}
	w.WriteHeader(status)
	if status != http.StatusNotModified {
		_, _ = w.Write(payload)
	}
	call.Status = status
	s.mu.Lock()
	s.calls = append(s.calls, *call)
	s.mu.Unlock()
}

func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	strip := func(t string) string { return strings.TrimPrefix(strings.TrimSpace(t), "W/") }
	for _, t := range strings.Split(header, ",") {
		if strings.TrimSpace(t) == "*" || strip(t) == strip(etag) {
			return true
		}
	}
	return false
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func newToken() string {
	b := make([]byte, 36)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = tokenAlphabet[int(b[i])%len(tokenAlphabet)]
	}
	return "ghs_" + string(b)
}

// verifyJWT checks an app JWT as GitHub does and returns GitHub's message
// when it is refused ("" = accepted).
func (s *Server) verifyJWT(raw string) string {
	const undecodable = "A JSON web token could not be decoded"
	p := jwt.Parser{SkipClaimsValidation: true, ValidMethods: []string{"RS256"}}
	claims := jwt.MapClaims{}
	_, err := p.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil })
	if err != nil {
		return undecodable
	}
	var iss string
	switch v := claims["iss"].(type) {
	case string:
		iss = v
	case float64:
		iss = strconv.FormatInt(int64(v), 10)
	case json.Number:
		iss = v.String()
	}
	if iss != strconv.FormatInt(s.appID, 10) {
		return undecodable
	}
	iat, ok1 := numClaim(claims["iat"])
	exp, ok2 := numClaim(claims["exp"])
	if !ok1 {
		return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued."
	}
	if !ok2 {
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires."
	}
	now := s.now().Unix()
	if iat > now+60 {
		return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued."
	}
	if exp <= now {
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires."
	}
	if exp-iat > 600 || exp > now+600+60 {
		return "'Expiration time' claim ('exp') is too far in the future."
	}
	return ""
}

func numClaim(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

// MintJWT signs an app JWT with the app's key (for tests and tools):
// iat = now-30s, exp = now+ttl, iss = app ID.
func (s *Server) MintJWT(ttl time.Duration) string {
	now := s.now()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		IssuedAt:  jwt.NewNumericDate(now.Add(-30 * time.Second)),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		Issuer:    strconv.FormatInt(s.appID, 10),
	})
	out, err := tok.SignedString(s.key)
	if err != nil {
		panic(err)
	}
	return out
}
