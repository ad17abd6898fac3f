package tinyforge

import (
	"net/url"
	"strings"
)

// NormalizeRepoURL maps a repository URL to its lower-case "owner/name":
//
//	https://github.com/Owner/Repo(.git)(/)   http://, git://, git+ssh://, ssh://git@host(:port)/Owner/Repo.git
//	git@host:Owner/Repo.git                  (scp-like ssh)
//	Owner/Repo                               (already a full name)
//
// The host is not part of the result. Anything else — no owner or name, more
// than two path segments, a query or fragment, characters GitHub does not
// allow in names, "." or ".." — is not ok.
func NormalizeRepoURL(raw string) (fullName string, ok bool) {
	s := strings.TrimSpace(raw)
	if s == "" || strings.ContainsAny(s, " \t\r\n\x00\\?#") {
		return "", false
	}
	var path string
	switch {
	case strings.Contains(s, "://"):
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return "", false
		}
		switch strings.ToLower(u.Scheme) {
		case "https", "http", "ssh", "git", "git+ssh", "ssh+git":
		default:
			return "", false
		}
		path = u.Path
	case isSCPLike(s):
		path = s[strings.Index(s, ":")+1:]
	default:
		if strings.Contains(s, ":") || strings.Contains(s, "@") {
			return "", false
		}
		path = s
	}
	path = strings.TrimRight(path, "/")
	path = strings.TrimSuffix(path, ".git")
	path = strings.TrimRight(path, "/")
	path = strings.TrimPrefix(path, "/")
	parts := strings.Split(path, "/")
	if len(parts) != 2 || !validNamePart(parts[0]) || !validNamePart(parts[1]) {
		return "", false
	}
	return strings.ToLower(parts[0] + "/" + parts[1]), true
}

// isSCPLike reports user@host:path (or host:path without a scheme).
func isSCPLike(s string) bool {
	colon := strings.Index(s, ":")
	if colon <= 0 {
		return false
	}
	slash := strings.Index(s, "/")
	if slash >= 0 && slash < colon {
		return false
	}
	host := s[:colon]
	if at := strings.LastIndex(host, "@"); at >= 0 {
		host = host[at+1:]
	}
	return host != "" && !strings.ContainsAny(host, "@:")
}

func validNamePart(p string) bool {
	if p == "" || p == "." || p == ".." || len(p) > 100 {
		return false
	}
	for _, c := range p {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
