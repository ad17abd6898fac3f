package gitops

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Status is the verdict of a plan.
type Status string

// Plan statuses.
const (
	StatusInSync  Status = "in_sync"
	StatusDrift   Status = "drift"
	StatusInvalid Status = "invalid"
)

// DriftEntry is one declared, applicable field whose repo value differs from
// the live value. Live is nil when the live config does not set the field.
type DriftEntry struct {
	Field string `json:"field"`
	Repo  any    `json:"repo"`
	Live  any    `json:"live"`
}

// Plan is the outcome of checking a .tinyforge.yml against a workload.
type Plan struct {
	Status        Status         `json:"status"`
	Errors        []Problem      `json:"errors"`         // never null in JSON
	Warnings      []Problem      `json:"warnings"`       // never null in JSON
	ManagedFields []string       `json:"managed_fields"` // declared & applicable; never null
	Drift         []DriftEntry   `json:"drift"`          // never null
	Merged        map[string]any `json:"merged"`         // null when invalid
}

// Sources eligible for .tinyforge.yml.
const (
	SourceDockerfile = "dockerfile"
	SourceStatic     = "static"
)

// Eligible reports whether a workload source may read a .tinyforge.yml.
func Eligible(source string) bool {
	return source == SourceDockerfile || source == SourceStatic
}

// Applicable reports whether a declared field is applied to a source's
// source_config in v1.
func Applicable(source, field string) bool {
	switch source {
	case SourceDockerfile:
		return field == FieldPort || field == FieldHealthcheck || field == FieldDeployStrategy
	case SourceStatic:
		return field == FieldDeployStrategy
	}
	return false
}

// appliedInV1 reports whether any source applies the field in v1.
func appliedInV1(field string) bool {
	return field == FieldPort || field == FieldHealthcheck || field == FieldDeployStrategy
}

// LiveKey returns the source_config key a field is stored under ("deploy.port"
// -> "port"), or "" for fields that are never applied.
func LiveKey(field string) string {
	switch field {
	case FieldPort:
		return "port"
	case FieldHealthcheck:
		return "healthcheck"
	case FieldDeployStrategy:
		return "deploy_strategy"
	}
	return ""
}

// BuildPlan parses data strictly, applies the source-aware plan, merges onto a
// fresh deep copy of live (the workload's source_config; never mutated),
// validates the merged result and computes drift. source is the workload's
// source: "dockerfile" and "static" are eligible; anything else is an error.
func BuildPlan(data []byte, source string, live map[string]any) *Plan {
	return build(data, source, live, true)
}

// Validate checks a file without a live config (the `validate` command). With
// source "" no source-aware checks run: every field applied in v1 counts as
// managed and no applicability warnings are given. The merged-config rules are
// checked on the declared values alone; the one rule that needs the live
// config — a dockerfile blue-green strategy with the healthcheck omitted — is
// not decided: it yields a warning that `plan` will check it. A declared empty
// healthcheck with blue-green on a dockerfile source is an error. Status is
// in_sync or invalid; Merged is nil and Drift empty.
func Validate(data []byte, source string) *Plan {
	return build(data, source, nil, false)
}

func newPlan() *Plan {
	return &Plan{Errors: []Problem{}, Warnings: []Problem{}, ManagedFields: []string{}, Drift: []DriftEntry{}}
}

func (p *Plan) errorf(spec *Spec, field string, format string, args ...any) {
	line, col := spec.Pos(field)
	p.Errors = append(p.Errors, Problem{Field: field, Line: line, Column: col, Message: prefixed(field, format, args...)})
}

func (p *Plan) warnf(spec *Spec, field string, format string, args ...any) {
	line, col := spec.Pos(field)
	p.Warnings = append(p.Warnings, Problem{Field: field, Line: line, Column: col, Message: prefixed(field, format, args...)})
}

func prefixed(field, format string, args ...any) string {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	return msg
}

func build(data []byte, source string, live map[string]any, haveLive bool) *Plan {
	p := newPlan()
	spec, probs := ParseSpec(data)
	p.Errors = append(p.Errors, probs...)

	checkSource := haveLive || source != ""
	if checkSource && !Eligible(source) {
		src := source
		if src == "" {
			src = "(none)"
		}
		p.Errors = append(p.Errors, Problem{Message: fmt.Sprintf(
			"workload source %s is not eligible for .tinyforge.yml; only dockerfile and static workloads can be managed", quoteTrunc(src))})
	}

	if spec != nil {
		if spec.Deploy.Resources != nil && spec.Deploy.Resources.CPULimit == nil && spec.Deploy.Resources.MemoryLimit == nil {
			p.warnf(spec, "deploy.resources", "is empty and not applied in v1; remove it")
		}
		for _, f := range spec.Declared() {
			switch {
			case !appliedInV1(f):
				p.warnf(spec, f, "is valid but not applied in v1: no workload source uses it yet, so it is ignored")
			case checkSource && Eligible(source) && !Applicable(source, f):
				p.warnf(spec, f, "does not apply to %s workloads; it is ignored", source)
			case checkSource && !Eligible(source):
			default:
				p.ManagedFields = append(p.ManagedFields, f)
			}
		}
		sort.Strings(p.ManagedFields)
	}
	if len(p.Errors) > 0 {
		return p.invalid()
	}

	merged := deepCopyMap(live)
	for _, f := range p.ManagedFields {
		v, _ := spec.Value(f)
		merged[LiveKey(f)] = v
	}
	validateMerged(p, spec, source, merged, haveLive)
	if len(p.Errors) > 0 {
		return p.invalid()
	}
	if !haveLive {
		p.Status = StatusInSync
		return p
	}

	for _, f := range p.ManagedFields { // already sorted by field name
		repo, _ := spec.Value(f)
		lv, ok := live[LiveKey(f)]
		if !ok || lv == nil {
			p.Drift = append(p.Drift, DriftEntry{Field: f, Repo: repo, Live: nil})
			continue
		}
		if !sameValue(f, repo, lv) {
			p.Drift = append(p.Drift, DriftEntry{Field: f, Repo: repo, Live: deepCopy(lv)})
		}
	}
	p.Merged = merged
	p.Status = StatusInSync
	if len(p.Drift) > 0 {
		p.Status = StatusDrift
	}
	return p
}

func (p *Plan) invalid() *Plan {
	sortProblems(p.Errors)
	sortProblems(p.Warnings)
	p.Status = StatusInvalid
	p.Merged = nil
	p.Drift = []DriftEntry{}
	return p
}

// validateMerged checks the merged source_config keys that the source uses.
// Declared values were range-checked by ParseSpec already; here the live values
// they did not override are checked, and the cross-field rule.
func validateMerged(p *Plan, spec *Spec, source string, merged map[string]any, haveLive bool) {
	fields := []string{FieldPort, FieldHealthcheck, FieldDeployStrategy}
	if source == SourceStatic {
		fields = []string{FieldDeployStrategy}
	}
	declared := func(f string) bool { _, ok := spec.Value(f); return ok }
	for _, f := range fields {
		v, ok := merged[LiveKey(f)]
		if !ok || v == nil || declared(f) {
			continue
		}
		var msg string
		switch f {
		case FieldPort:
			if i, ok := asInt(v); !ok || i < 1 || i > 65535 {
				msg = "must be an integer between 1 and 65535, got " + describeLive(v)
			}
		case FieldHealthcheck:
			if s, ok := v.(string); !ok {
				msg = "must be a string, got " + describeLive(v)
			} else {
				msg = CheckHealthcheck(s)
			}
		case FieldDeployStrategy:
			if s, ok := v.(string); !ok {
				msg = "must be a string, got " + describeLive(v)
			} else {
				msg = CheckDeployStrategy(s)
			}
		}
		if msg != "" {
			p.Errors = append(p.Errors, Problem{Field: f, Message: f + ": the live value is invalid and .tinyforge.yml does not override it: " + msg})
		}
	}
	if len(p.Errors) > 0 || (source != SourceDockerfile && haveLive) {
		return
	}
	if source != SourceDockerfile && source != "" {
		return
	}
	strategy, _ := merged["deploy_strategy"].(string)
	if strategy != "blue-green" {
		return
	}
	hc, hcSet := merged["healthcheck"].(string)
	switch {
	case !haveLive && source == "":
		// static needs no healthcheck; without a source nothing to decide.
	case !haveLive && !declared(FieldHealthcheck):
		p.warnf(spec, FieldDeployStrategy, "blue-green needs a non-empty healthcheck on a dockerfile workload; it is not declared here, so the live config must provide one (`plan` checks this)")
	case hc != "":
	case declared(FieldDeployStrategy):
		why := "deploy.healthcheck is empty"
		if !declared(FieldHealthcheck) {
			if hcSet {
				why = "the live healthcheck is empty and .tinyforge.yml does not set deploy.healthcheck"
			} else {
				why = "the live config has no healthcheck and .tinyforge.yml does not set deploy.healthcheck"
			}
		}
		p.errorf(spec, FieldDeployStrategy, "blue-green needs a non-empty healthcheck so the new container can prove healthy before traffic moves, but %s", why)
	case declared(FieldHealthcheck):
		p.errorf(spec, FieldHealthcheck, "must not be empty: the live deploy_strategy is blue-green (not declared in .tinyforge.yml), which needs a healthcheck")
	default:
		p.Errors = append(p.Errors, Problem{Field: FieldDeployStrategy, Message: FieldDeployStrategy +
			": the live config uses blue-green without a healthcheck, which is invalid; declare deploy.healthcheck or deploy.deploy_strategy in .tinyforge.yml"})
	}
}

// sameValue compares a declared value with a live one after normalisation.
func sameValue(field string, repo, live any) bool {
	switch field {
	case FieldPort:
		r, _ := repo.(int)
		l, ok := asInt(live)
		return ok && l == int64(r)
	case FieldDeployStrategy:
		r, _ := repo.(string)
		l, ok := live.(string)
		return ok && NormalizeStrategy(r) == NormalizeStrategy(l)
	default:
		l, ok := live.(string)
		return ok && l == repo
	}
}

// NormalizeStrategy maps "" to "recreate", the default strategy.
func NormalizeStrategy(s string) string {
	if s == "" {
		return "recreate"
	}
	return s
}

// asInt accepts the ways a JSON integer reaches Go: float64 with no fraction,
// json.Number, or a Go integer type.
func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case uint:
		if uint64(n) > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case float64:
		if n != math.Trunc(n) || math.IsInf(n, 0) || n < -1e18 || n > 1e18 {
			return 0, false
		}
		return int64(n), true
	case float32:
		return asInt(float64(n))
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		if f, err := n.Float64(); err == nil {
			return asInt(f)
		}
	}
	return 0, false
}

func describeLive(v any) string {
	switch x := v.(type) {
	case string:
		return quoteTrunc(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%T", v)
	}
	return truncate(string(b))
}

func deepCopyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+3)
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return deepCopyMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// JSON renders the plan exactly as DESIGN.md's plan JSON:
// {"status","errors","warnings","managed_fields","drift","merged"}.
func (p *Plan) JSON() ([]byte, error) {
	q := *p
	if q.Errors == nil {
		q.Errors = []Problem{}
	}
	if q.Warnings == nil {
		q.Warnings = []Problem{}
	}
	if q.ManagedFields == nil {
		q.ManagedFields = []string{}
	}
	if q.Drift == nil {
		q.Drift = []DriftEntry{}
	}
	return json.Marshal(&q)
}
