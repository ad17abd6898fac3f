package tinyforgetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/tinyforge/tinyforge-bot/gitops"
	"github.com/tinyforge/tinyforge-bot/tinyforge"
)

// MaxPathLen bounds gitops_path.
const MaxPathLen = 512

// ValidGitOpsPath reports why p is not an acceptable gitops_path ("" when it
// is): it must be a non-empty relative path of at most MaxPathLen bytes with
// no "", "." or ".." segment, no leading or trailing "/", no backslash, "?",
// "#", ":" (scheme), NUL, control characters or whitespace.
func ValidGitOpsPath(p string) string {
	switch {
	case p == "":
		return "path must not be empty"
	case len(p) > MaxPathLen:
		return "path is too long"
	case strings.HasPrefix(p, "/"):
		return "path must be relative (no leading /)"
	case strings.HasSuffix(p, "/"):
		return "path must name a file (no trailing /)"
	case strings.ContainsAny(p, `\`):
		return "path must not contain a backslash"
	case strings.ContainsAny(p, "?#"):
		return "path must not contain ? or #"
	case strings.Contains(p, ":"):
		return "path must not contain a scheme or ':'"
	case strings.ContainsRune(p, 0):
		return "path must not contain NUL"
	case strings.IndexFunc(p, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return "path must not contain whitespace or control characters"
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "":
			return "path must not contain empty segments"
		case ".", "..":
			return "path must not contain . or .. segments"
		}
	}
	return ""
}

// secretsOf lists the strings that must never appear in a message: every API
// token and the workload's credentials from source_config.
func (s *Server) secretsOf(w tinyforge.Workload) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t := range s.tokens {
		out = append(out, t)
	}
	for k, v := range w.SourceConfig {
		lk := strings.ToLower(k)
		if str, ok := v.(string); ok && str != "" && (strings.Contains(lk, "token") || strings.Contains(lk, "secret") || strings.Contains(lk, "password")) {
			out = append(out, str)
		}
	}
	return out
}

func sanitize(msg string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			msg = strings.ReplaceAll(msg, sec, "[REDACTED]")
		}
	}
	if len(msg) > 512 {
		msg = msg[:512] + "…"
	}
	return msg
}

func (s *Server) fetch(ctx context.Context, w tinyforge.Workload) ([]byte, string, error) {
	return s.FileSource().Fetch(ctx, w.RepoURL(), w.Branch(), w.GitOpsFile())
}

// statusFor computes the GitOpsStatus of w, fetching its file.
func (s *Server) statusFor(ctx context.Context, w tinyforge.Workload) tinyforge.GitOpsStatus {
	st := tinyforge.GitOpsStatus{
		Drift: []tinyforge.DriftEntry{}, ManagedFields: []string{},
		Enabled: w.GitOpsEnabled, Path: w.GitOpsFile(),
		LastSyncAt: w.GitOpsLastSyncAt, LastSyncSHA: w.GitOpsLastSyncSHA,
	}
	if !w.GitOpsEnabled {
		st.Status, st.Message = tinyforge.StatusDisabled, "GitOps is not enabled for this workload"
		return st
	}
	content, sha, err := s.fetch(ctx, w)
	switch {
	case errors.Is(err, ErrFileNotFound):
		st.Status = tinyforge.StatusNoFile
		st.Message = fmt.Sprintf("%s not found on branch %q", w.GitOpsFile(), w.Branch())
		return st
	case err != nil:
		st.Status = tinyforge.StatusFetchFailed
		st.Message = sanitize("fetching "+w.GitOpsFile()+" failed: "+err.Error(), s.secretsOf(w))
		return st
	}
	st.Raw, st.SHA = string(content), sha
	plan := gitops.BuildPlan(content, w.Source, w.SourceConfig)
	st.ManagedFields = append(st.ManagedFields, plan.ManagedFields...)
	if plan.Status == gitops.StatusInvalid {
		st.Status = tinyforge.StatusInvalid
		st.Message = sanitize(problemsMessage(plan.Errors), s.secretsOf(w))
		return st
	}
	st.Status = tinyforge.StatusOK
	for _, d := range plan.Drift {
		st.Drift = append(st.Drift, tinyforge.DriftEntry{Field: d.Field, Repo: d.Repo, Live: d.Live})
	}
	if len(st.Drift) == 0 {
		st.Message = "in sync"
	} else {
		st.Message = strconv.Itoa(len(st.Drift)) + " field(s) differ from the live config"
	}
	return st
}

func problemsMessage(ps []gitops.Problem) string {
	msgs := make([]string, 0, len(ps))
	for _, p := range ps {
		m := p.Message
		if p.Line > 0 {
			m = fmt.Sprintf("line %d: %s", p.Line, m)
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return "invalid .tinyforge.yml"
	}
	return strings.Join(msgs, "; ")
}

func (s *Server) handleGetGitOps(w http.ResponseWriter, r *http.Request, id tinyforge.ID) {
	wl, ok := s.Workload(id)
	if !ok {
		writeError(w, http.StatusNotFound, tinyforge.CodeNotFound, "workload not found")
		return
	}
	writeJSON(w, http.StatusOK, s.statusFor(r.Context(), wl))
}

func (s *Server) handlePutGitOps(w http.ResponseWriter, r *http.Request, id tinyforge.ID, body []byte) {
	var in struct {
		Enabled *bool   `json:"enabled"`
		Path    *string `json:"path"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Enabled == nil {
		writeError(w, http.StatusBadRequest, tinyforge.CodeBadRequest, `body must be {"enabled": bool, "path": string}`)
		return
	}
	lock := s.lockFor(id)
	lock.Lock()
	wl, ok := s.Workload(id)
	if !ok {
		lock.Unlock()
		writeError(w, http.StatusNotFound, tinyforge.CodeNotFound, "workload not found")
		return
	}
	if !wl.Eligible() {
		lock.Unlock()
		writeError(w, http.StatusUnprocessableEntity, tinyforge.CodeNotEligible,
			"GitOps is available for dockerfile and static workloads only, not "+strconv.Quote(wl.Source))
		return
	}
	path := ""
	if in.Path != nil {
		path = *in.Path
	}
	if why := ValidGitOpsPath(path); why != "" {
		lock.Unlock()
		writeError(w, http.StatusBadRequest, tinyforge.CodeBadRequest, "invalid gitops path: "+why)
		return
	}
	s.mu.Lock()
	cur := s.workloads[id]
	cur.GitOpsEnabled, cur.GitOpsPath = *in.Enabled, path
	s.workloads[id] = cur
	wl = cur.Clone()
	s.mu.Unlock()
	lock.Unlock()
	writeJSON(w, http.StatusOK, s.statusFor(r.Context(), wl))
}

func (s *Server) handleSync(w http.ResponseWriter, r *http.Request, id tinyforge.ID, body []byte) {
	var in struct {
		ExpectedSHA string `json:"expected_sha"`
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			writeError(w, http.StatusBadRequest, tinyforge.CodeBadRequest, `body must be {"expected_sha": string}`)
			return
		}
	}
	// Tinyforge's rule: read -> fetch -> merge -> validate -> write, under a
	// per-workload lock, so concurrent syncs are serialised.
	lock := s.lockFor(id)
	lock.Lock()
	defer lock.Unlock()

	wl, ok := s.Workload(id)
	if !ok {
		writeError(w, http.StatusNotFound, tinyforge.CodeNotFound, "workload not found")
		return
	}
	if !wl.Eligible() {
		writeError(w, http.StatusUnprocessableEntity, tinyforge.CodeNotEligible,
			"GitOps is available for dockerfile and static workloads only, not "+strconv.Quote(wl.Source))
		return
	}
	if !wl.GitOpsEnabled {
		writeError(w, http.StatusUnprocessableEntity, tinyforge.CodeNotEnabled, "GitOps is not enabled for this workload")
		return
	}
	content, sha, err := s.fetch(r.Context(), wl)
	switch {
	case errors.Is(err, ErrFileNotFound):
		writeError(w, http.StatusUnprocessableEntity, tinyforge.CodeNoFile,
			fmt.Sprintf("%s not found on branch %q; nothing to sync", wl.GitOpsFile(), wl.Branch()))
		return
	case err != nil:
		writeError(w, http.StatusBadGateway, tinyforge.CodeFetchFailed,
			sanitize("fetching "+wl.GitOpsFile()+" failed: "+err.Error(), s.secretsOf(wl)))
		return
	}
	if in.ExpectedSHA != "" && !strings.EqualFold(in.ExpectedSHA, sha) {
		writeError(w, http.StatusConflict, tinyforge.CodeConflict,
			fmt.Sprintf("%s is at commit %s, not the expected %s", wl.GitOpsFile(), sha, in.ExpectedSHA))
		return
	}
	plan := gitops.BuildPlan(content, wl.Source, wl.SourceConfig)
	if plan.Status == gitops.StatusInvalid || plan.Merged == nil {
		writeError(w, http.StatusUnprocessableEntity, tinyforge.CodeInvalid, sanitize(problemsMessage(plan.Errors), s.secretsOf(wl)))
		return
	}
	applied := []tinyforge.FieldChange{}
	for _, d := range plan.Drift {
		applied = append(applied, tinyforge.FieldChange{Field: d.Field, From: d.Live, To: d.Repo})
	}

	// One write: the whole merged config and the sync markers, or nothing.
	s.mu.Lock()
	now := s.now().UTC()
	cur := s.workloads[id]
	cur.SourceConfig = plan.Merged
	cur.GitOpsLastSyncAt = &now
	cur.GitOpsLastSyncSHA = sha
	cur = jsonCopy(cur)
	s.workloads[id] = cur
	ev := Event{
		ID: tinyforge.ID(strconv.Itoa(len(s.events) + 1)), WorkloadID: id, Type: EventTypeGitOpsSync,
		SHA: sha, Applied: jsonChanges(applied), Time: now,
	}
	s.events = append(s.events, ev)
	res := tinyforge.SyncResult{Workload: cur.Clone(), Applied: ev.Applied, EventID: ev.ID, SHA: sha}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, res)
}

// jsonChanges normalises values to their JSON types (ints become float64),
// as a stored event would hold them.
func jsonChanges(in []tinyforge.FieldChange) []tinyforge.FieldChange {
	data, err := json.Marshal(in)
	if err != nil {
		panic("tinyforgetest: " + err.Error())
	}
	out := []tinyforge.FieldChange{}
	if err := json.Unmarshal(data, &out); err != nil {
		panic("tinyforgetest: " + err.Error())
	}
	return out
}
