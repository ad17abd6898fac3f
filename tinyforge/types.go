package tinyforge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Workload sources known to Tinyforge.
const (
	SourceDockerfile = "dockerfile"
	SourceStatic     = "static"
	SourceImage      = "image"
	SourceCompose    = "compose"
)

// DefaultGitOpsPath is the file Tinyforge reads when a workload's gitops_path
// is empty.
const DefaultGitOpsPath = ".tinyforge.yml"

// GitOps statuses reported by GET /api/workloads/{id}/gitops.
const (
	StatusOK          = "ok"
	StatusNoFile      = "no_file"
	StatusFetchFailed = "fetch_failed"
	StatusInvalid     = "invalid"
	StatusDisabled    = "disabled"
)

// ID is an opaque Tinyforge identifier. It decodes from a JSON string or a
// JSON number and always encodes as a JSON string.
type ID string

// String returns the id as text.
func (id ID) String() string { return string(id) }

// MarshalJSON encodes the id as a JSON string.
func (id ID) MarshalJSON() ([]byte, error) { return json.Marshal(string(id)) }

// UnmarshalJSON accepts a JSON string, a JSON number (kept verbatim, e.g.
// 7 -> "7") or null (the empty id). Anything else is an error.
func (id *ID) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return fmt.Errorf("tinyforge: empty id")
	}
	switch c := data[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("tinyforge: id: %w", err)
		}
		*id = ID(s)
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		var n json.Number
		if err := json.Unmarshal(data, &n); err != nil {
			return fmt.Errorf("tinyforge: id: %w", err)
		}
		*id = ID(n.String())
		return nil
	case string(data) == "null":
		*id = ""
		return nil
	}
	return fmt.Errorf("tinyforge: id must be a string or a number")
}

// Workload is a Tinyforge workload as GET /api/workloads/{id} returns it.
type Workload struct {
	ID                ID             `json:"id"`
	Name              string         `json:"name"`
	Source            string         `json:"source"`
	SourceConfig      map[string]any `json:"source_config"`
	GitOpsEnabled     bool           `json:"gitops_enabled"`
	GitOpsPath        string         `json:"gitops_path"`
	GitOpsLastSyncAt  *time.Time     `json:"gitops_last_sync_at,omitempty"`
	GitOpsLastSyncSHA string         `json:"gitops_last_sync_sha,omitempty"`
}

// RepoURL returns source_config.repo_url ("" when absent or not a string).
func (w Workload) RepoURL() string { return configString(w.SourceConfig, "repo_url") }

// Branch returns source_config.branch, the tracked branch ("" when absent or
// not a string; Tinyforge then uses the repository's default branch).
func (w Workload) Branch() string { return configString(w.SourceConfig, "branch") }

// GitOpsFile returns gitops_path, or DefaultGitOpsPath when it is empty.
func (w Workload) GitOpsFile() string {
	if strings.TrimSpace(w.GitOpsPath) == "" {
		return DefaultGitOpsPath
	}
	return w.GitOpsPath
}

// Eligible reports whether the workload's source may use GitOps
// (dockerfile and static only).
func (w Workload) Eligible() bool {
	return w.Source == SourceDockerfile || w.Source == SourceStatic
}

// Clone returns a deep copy (source_config included).
func (w Workload) Clone() Workload {
	c := w
	c.SourceConfig = cloneMap(w.SourceConfig)
	if w.GitOpsLastSyncAt != nil {
		t := *w.GitOpsLastSyncAt
		c.GitOpsLastSyncAt = &t
	}
	return c
}

func configString(m map[string]any, key string) string {
	if s, ok := m[key].(string); ok {
		return s
	}
	return ""
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return cloneMap(t)
	case []any:
		s := make([]any, len(t))
		for i := range t {
			s[i] = cloneValue(t[i])
		}
		return s
	default:
		return v
	}
}

// DriftEntry is one declared field whose repo value differs from the live one.
type DriftEntry struct {
	Field string `json:"field"`
	Repo  any    `json:"repo"`
	Live  any    `json:"live"`
}

// GitOpsStatus is the answer of GET/PUT /api/workloads/{id}/gitops.
type GitOpsStatus struct {
	Status        string       `json:"status"` // StatusOK, StatusNoFile, ...
	Message       string       `json:"message"`
	Raw           string       `json:"raw"`
	SHA           string       `json:"sha"`
	Drift         []DriftEntry `json:"drift"`
	ManagedFields []string     `json:"managed_fields"`
	Enabled       bool         `json:"enabled"`
	Path          string       `json:"path"`
	LastSyncAt    *time.Time   `json:"last_sync_at,omitempty"`
	LastSyncSHA   string       `json:"last_sync_sha,omitempty"`
}

// FieldChange is one field a sync changed.
type FieldChange struct {
	Field string `json:"field"`
	From  any    `json:"from"`
	To    any    `json:"to"`
}

// SyncResult is the answer of POST /api/workloads/{id}/gitops/sync.
type SyncResult struct {
	Workload Workload      `json:"workload"`
	Applied  []FieldChange `json:"applied"`
	EventID  ID            `json:"event_id"`
	SHA      string        `json:"sha"`
}

// ErrorBody is Tinyforge's JSON error envelope.
type ErrorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// Error codes used by Tinyforge (and the fake) in ErrorBody.Code.
const (
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeNotFound     = "not_found"
	CodeBadRequest   = "bad_request"
	CodeConflict     = "conflict"
	CodeInvalid      = "invalid"
	CodeNotEligible  = "not_eligible"
	CodeNotEnabled   = "not_enabled"
	CodeFetchFailed  = "fetch_failed"
	CodeNoFile       = "no_file"
	CodeTooLarge     = "too_large"
	CodeInternal     = "internal"
)
