package githubtest

import "strings"

// RouteGetBranch reads a branch's head commit: the bot resolves the tracked
// branch to the commit it validates and passes that to Tinyforge as
// expected_sha. Not in openapi-subset.json (a GET without a body), so only
// its shape follows GitHub's documented response.
const RouteGetBranch = "GET /repos/{owner}/{repo}/branches/{branch}"

func init() {
	m, p, _ := strings.Cut(RouteGetBranch, " ")
	routes = append(routes, &route{template: RouteGetBranch, method: m, segs: strings.Split(strings.Trim(p, "/"), "/"), greedy: true, auth: "repo", handler: (*Server).handleGetBranch})
}

func (s *Server) handleGetBranch(req *request) response {
	rs := req.repo
	name := strings.Trim(req.params["branch"], "/")
	s.mu.Lock()
	sha, ok := rs.branches[name]
	var msg string
	if c := s.resolveLocked(rs, sha); ok && c != nil {
		msg = c.message
	}
	s.mu.Unlock()
	if !ok {
		return ghError(404, "Branch not found", "https://docs.github.com/rest/branches/branches#get-a-branch")
	}
	commitURL := s.apiURL("repos/" + rs.FullName + "/commits/" + sha)
	return jsonResp(200, map[string]any{
		"name": name,
		"commit": map[string]any{
			"sha": sha, "url": commitURL, "html_url": s.webURL(rs.FullName + "/commit/" + sha),
			"commit": map[string]any{"message": msg},
		},
		"_links":    map[string]any{"self": s.apiURL("repos/" + rs.FullName + "/branches/" + name), "html": s.webURL(rs.FullName + "/tree/" + name)},
		"protected": false,
	})
}
