// Package gitops is the pure core of tinyforge-bot: it parses a .tinyforge.yml
// strictly, builds the source-aware plan, merges it onto a workload's live
// source_config, validates the merged result, computes drift and renders a plan
// as text, GitHub-flavoured markdown or JSON.
//
// It does no I/O and knows nothing about GitHub or the Tinyforge API client.
//
// Decisions worth knowing:
//
//   - YAML anchors, aliases and merge keys (<<) are rejected with an error at
//     their position. The file is parsed into a yaml.Node tree (which never
//     expands aliases) and walked once, so a "billion laughs" file costs time
//     and memory linear in its size, which is capped at MaxFileSize.
//   - Scalars must carry their own YAML type: port: "8080", port: 8080.0 and
//     port: true are all errors (a float is never an integer in the file; only
//     JSON numbers in the live config may be integral floats).
//   - resources.cpu_limit is a number > 0, resources.memory_limit an integer > 0
//     (MiB), max_instances an integer >= 1. They are checked, then warned about
//     and ignored: they apply to no source in v1.
//   - healthcheck is "" or an absolute path of printable ASCII (0x21-0x7E) that
//     starts with "/" but not "//", holds no backslash and is at most 512 bytes.
//     Non-ASCII paths must be percent-encoded, which keeps bytes == characters
//     (and the JSON Schema's maxLength exact).
package gitops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest .tinyforge.yml accepted; larger files are refused
// before parsing.
const MaxFileSize = 64 << 10

// Field paths of every leaf a .tinyforge.yml v1 may declare.
const (
	FieldPort           = "deploy.port"
	FieldHealthcheck    = "deploy.healthcheck"
	FieldDeployStrategy = "deploy.deploy_strategy"
	FieldCPULimit       = "deploy.resources.cpu_limit"
	FieldMemoryLimit    = "deploy.resources.memory_limit"
	FieldMaxInstances   = "deploy.max_instances"
)

// MaxHealthcheckLen is the longest healthcheck path, in bytes.
const MaxHealthcheckLen = 512

// maxProblems bounds the problems reported for one file, so a hostile file
// cannot produce an unbounded report.
const maxProblems = 1000

// Problem is one error or warning about a .tinyforge.yml, anchored to a field
// and a position when those are known.
type Problem struct {
	Field   string `json:"field"`  // YAML path like "deploy.port"; "" for whole-file problems
	Line    int    `json:"line"`   // 1-based; 0 if unknown
	Column  int    `json:"column"` // 1-based; 0 if unknown
	Message string `json:"message"`
}

// Spec is a parsed, type-checked .tinyforge.yml v1. A nil pointer field means
// the field was not declared (unmanaged).
type Spec struct {
	Version int
	Deploy  Deploy

	pos      map[string]position // field path -> position of its value
	declared []string            // declared leaves, canonical order
}

// Deploy is the deploy mapping of a .tinyforge.yml.
type Deploy struct {
	Port           *int
	Healthcheck    *string
	DeployStrategy *string
	Resources      *Resources // non-nil when the resources mapping is present
	MaxInstances   *int
}

// Resources is deploy.resources; valid schema, applied to no source in v1.
type Resources struct {
	CPULimit    *float64
	MemoryLimit *int
}

// SizeProblem is the problem reported for a file of size bytes that exceeds
// MaxFileSize; callers that stop reading early (the CLI) report it themselves.
func SizeProblem(size int64) Problem {
	return Problem{Message: fmt.Sprintf("file is %d bytes; files over %d bytes (64 KiB) are refused before parsing", size, MaxFileSize)}
}

type position struct{ line, col int }

// Pos returns the line and column of a declared field's value ("deploy.port"),
// of a mapping ("deploy", "deploy.resources") or of the root (""); 0, 0 when
// the field was not declared.
func (s *Spec) Pos(field string) (line, col int) {
	if s == nil {
		return 0, 0
	}
	p := s.pos[field]
	return p.line, p.col
}

// Declared returns the declared leaf fields in canonical order
// (port, healthcheck, deploy_strategy, resources.cpu_limit,
// resources.memory_limit, max_instances).
func (s *Spec) Declared() []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s.declared...)
}

// Value returns the declared value of a leaf field as a JSON-like Go value
// (int, float64 or string) and whether it was declared.
func (s *Spec) Value(field string) (any, bool) {
	if s == nil {
		return nil, false
	}
	d := s.Deploy
	switch field {
	case FieldPort:
		if d.Port != nil {
			return *d.Port, true
		}
	case FieldHealthcheck:
		if d.Healthcheck != nil {
			return *d.Healthcheck, true
		}
	case FieldDeployStrategy:
		if d.DeployStrategy != nil {
			return *d.DeployStrategy, true
		}
	case FieldCPULimit:
		if d.Resources != nil && d.Resources.CPULimit != nil {
			return *d.Resources.CPULimit, true
		}
	case FieldMemoryLimit:
		if d.Resources != nil && d.Resources.MemoryLimit != nil {
			return *d.Resources.MemoryLimit, true
		}
	case FieldMaxInstances:
		if d.MaxInstances != nil {
			return *d.MaxInstances, true
		}
	}
	return nil, false
}

type kind int

const (
	kindMap kind = iota
	kindVersion
	kindPort
	kindString
	kindStrategy
	kindHealthcheck
	kindPositiveNumber
	kindPositiveInt
)

// schema lists every key a .tinyforge.yml v1 may hold, by path.
var schema = map[string]kind{
	"version":           kindVersion,
	"deploy":            kindMap,
	FieldPort:           kindPort,
	FieldHealthcheck:    kindHealthcheck,
	FieldDeployStrategy: kindStrategy,
	"deploy.resources":  kindMap,
	FieldCPULimit:       kindPositiveNumber,
	FieldMemoryLimit:    kindPositiveInt,
	FieldMaxInstances:   kindPositiveInt,
}

// canonical is the order of leaves in Declared.
var canonical = []string{FieldPort, FieldHealthcheck, FieldDeployStrategy, FieldCPULimit, FieldMemoryLimit, FieldMaxInstances}

// knownKeys lists the keys allowed under each mapping, for error messages.
var knownKeys = map[string]string{
	"":                 "version, deploy",
	"deploy":           "port, healthcheck, deploy_strategy, resources, max_instances",
	"deploy.resources": "cpu_limit, memory_limit",
}

// hints explain why some popular keys are refused.
var hints = map[string]string{
	"env":         "environment variables are not declared in .tinyforge.yml v1; they stay in Tinyforge",
	"faces":       "public faces are not declared in .tinyforge.yml v1; they stay in Tinyforge",
	"repo_url":    "repository coordinates stay in Tinyforge, never in the file",
	"repo":        "repository coordinates stay in Tinyforge, never in the file",
	"branch":      "repository coordinates stay in Tinyforge, never in the file",
	"token":       "credentials never belong in .tinyforge.yml",
	"secret":      "credentials never belong in .tinyforge.yml",
	"secrets":     "credentials never belong in .tinyforge.yml",
	"password":    "credentials never belong in .tinyforge.yml",
	"api_key":     "credentials never belong in .tinyforge.yml",
	"source":      "the workload's source is set in Tinyforge, not in the file",
	"image":       "image and compose workloads are not managed by .tinyforge.yml",
	"compose":     "image and compose workloads are not managed by .tinyforge.yml",
	"environment": "environment variables are not declared in .tinyforge.yml v1; they stay in Tinyforge",
}

type parser struct {
	errs    []Problem
	dropped int
	spec    *Spec
}

func (p *parser) add(field string, line, col int, format string, args ...any) {
	if len(p.errs) >= maxProblems {
		p.dropped++
		return
	}
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	p.errs = append(p.errs, Problem{Field: field, Line: line, Column: col, Message: msg})
}

func (p *parser) at(field string, n *yaml.Node, format string, args ...any) {
	p.add(field, n.Line, n.Column, format, args...)
}

var yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxProblem turns a yaml.v3 parse error into a Problem.
func syntaxProblem(err error) Problem {
	msg := err.Error()
	if m := yamlLineErr.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{Line: line, Message: "invalid YAML: " + m[2]}
	}
	return Problem{Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// ParseSpec parses data strictly as a .tinyforge.yml v1. It reports every
// problem it finds in one pass, each with its field path, line and column. The
// Spec is nil when there is any problem.
func ParseSpec(data []byte) (*Spec, []Problem) {
	if len(data) > MaxFileSize {
		return nil, []Problem{SizeProblem(int64(len(data)))}
	}
	if !utf8.Valid(data) {
		i := 0
		for i < len(data) {
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		line := 1 + bytes.Count(data[:i], []byte("\n"))
		col := 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:i], '\n')+1:i])
		return nil, []Problem{{Line: line, Column: col, Message: "file is not valid UTF-8"}}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, []Problem{{Message: "file is empty; it needs at least `version: 1`"}}
	}
	doc, errs := decodeSingle(data)
	if len(errs) > 0 {
		return nil, errs
	}
	p := &parser{spec: &Spec{pos: map[string]position{}}}
	p.root(doc)
	if p.dropped > 0 {
		p.errs = append(p.errs, Problem{Message: fmt.Sprintf("%d more problems not shown", p.dropped)})
	}
	if len(p.errs) > 0 {
		sortProblems(p.errs)
		return nil, p.errs
	}
	for _, f := range canonical {
		if _, ok := p.spec.Value(f); ok {
			p.spec.declared = append(p.spec.declared, f)
		}
	}
	return p.spec, nil
}

// decodeSingle parses exactly one YAML document into a node tree. yaml.v3 never
// expands aliases when decoding into a yaml.Node.
func decodeSingle(data []byte) (doc *yaml.Node, errs []Problem) {
	defer func() {
		if r := recover(); r != nil { // yaml.v3 must not take the process down
			doc, errs = nil, []Problem{{Message: fmt.Sprintf("invalid YAML: %v", r)}}
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var first yaml.Node
	if err := dec.Decode(&first); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, []Problem{{Message: "file is empty; it needs at least `version: 1`"}}
		}
		return nil, []Problem{syntaxProblem(err)}
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, []Problem{syntaxProblem(err)}
	default:
		return nil, []Problem{{Line: second.Line, Column: second.Column,
			Message: "file holds several YAML documents; .tinyforge.yml must hold exactly one"}}
	}
	if first.Kind != yaml.DocumentNode || len(first.Content) != 1 {
		return nil, []Problem{{Message: "file is empty; it needs at least `version: 1`"}}
	}
	root := first.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" && root.Value == "" && root.Anchor == "" {
		return nil, []Problem{{Message: "file is empty; it needs at least `version: 1`"}}
	}
	return root, nil
}

func (p *parser) root(n *yaml.Node) {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		p.checkNode("", n)
		return
	}
	if n.Kind != yaml.MappingNode {
		p.at("", n, "the file must be a mapping with `version: 1` at the top, got %s", describe(n))
		return
	}
	p.spec.pos[""] = position{n.Line, n.Column}
	seen := p.mapping("", n)
	if _, ok := seen["version"]; !ok {
		p.at("version", n, "is required and must be 1")
	}
}

// checkNode reports aliases, anchors, unsupported tags and nulls; it returns
// false when the node must not be looked at further.
func (p *parser) checkNode(field string, n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		p.at(field, n, "YAML aliases (*%s) are not supported; write the value out", n.Value)
		return false
	}
	ok := true
	if n.Anchor != "" {
		p.at(field, n, "YAML anchors (&%s) are not supported; write the value out", n.Anchor)
		ok = false
	}
	switch t := n.ShortTag(); t {
	case "!!null":
		p.at(field, n, "must not be null; remove the key to leave the field unmanaged")
		return false
	case "!!str", "!!int", "!!float", "!!bool", "!!map", "!!seq", "!!timestamp", "!!binary":
	default:
		p.at(field, n, "unsupported YAML tag %s", quoteTrunc(t))
		return false
	}
	return ok
}

// mapping walks a mapping node whose path is prefix and returns the keys seen.
func (p *parser) mapping(prefix string, n *yaml.Node) map[string]int {
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode || k.Anchor != "" {
			p.checkNode(prefix, k)
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			if k.ShortTag() == "!!merge" {
				p.at(prefix, k, "YAML merge keys (<<) are not supported; write the keys out")
			} else {
				p.at(prefix, k, "keys must be strings, got %s", describe(k))
			}
			continue
		}
		path := k.Value
		if prefix != "" {
			path = prefix + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			p.at(path, k, "duplicate key (first set at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		kd, known := schema[path]
		if !known {
			msg := "unknown key"
			if h, ok := hints[strings.ToLower(k.Value)]; ok {
				msg += "; " + h
			} else if kk, ok := knownKeys[prefix]; ok {
				where := "at the top level"
				if prefix != "" {
					where = "under " + prefix
				}
				msg += fmt.Sprintf("; allowed %s: %s", where, kk)
			}
			p.at(quoteKeyPath(prefix, k.Value), k, "%s", msg)
			continue
		}
		p.value(path, kd, v)
	}
	return seen
}

// quoteKeyPath builds a display path for an unknown key, quoting keys that are
// not plain identifiers so hostile keys stay readable.
func quoteKeyPath(prefix, key string) string {
	disp := key
	if !plainKey.MatchString(key) {
		disp = quoteTrunc(key)
	}
	if prefix == "" {
		return disp
	}
	return prefix + "." + disp
}

var decimalInt = regexp.MustCompile(`^[-+]?(0|[1-9][0-9]*)$`)

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (p *parser) value(path string, kd kind, n *yaml.Node) {
	if !p.checkNode(path, n) {
		return
	}
	p.spec.pos[path] = position{n.Line, n.Column}
	d := &p.spec.Deploy
	switch kd {
	case kindMap:
		if n.Kind != yaml.MappingNode {
			p.at(path, n, "must be a mapping, got %s", describe(n))
			return
		}
		if path == "deploy.resources" {
			d.Resources = &Resources{}
		}
		p.mapping(path, n)
	case kindVersion:
		i, ok := p.integer(path, n)
		if !ok {
			return
		}
		if i != 1 {
			p.at(path, n, "unsupported version %d; only version 1 exists", i)
			return
		}
		p.spec.Version = 1
	case kindPort:
		i, ok := p.integer(path, n)
		if !ok {
			return
		}
		if i < 1 || i > 65535 {
			p.at(path, n, "must be an integer between 1 and 65535, got %d", i)
			return
		}
		v := int(i)
		d.Port = &v
	case kindHealthcheck:
		s, ok := p.str(path, n)
		if !ok {
			return
		}
		if msg := CheckHealthcheck(s); msg != "" {
			p.at(path, n, "%s", msg)
			return
		}
		d.Healthcheck = &s
	case kindStrategy:
		s, ok := p.str(path, n)
		if !ok {
			return
		}
		if msg := CheckDeployStrategy(s); msg != "" {
			p.at(path, n, "%s", msg)
			return
		}
		d.DeployStrategy = &s
	case kindPositiveNumber:
		f, ok := p.number(path, n)
		if !ok {
			return
		}
		if !(f > 0) || math.IsInf(f, 0) {
			p.at(path, n, "must be a number greater than 0, got %s", n.Value)
			return
		}
		d.Resources.CPULimit = &f
	case kindPositiveInt:
		i, ok := p.integer(path, n)
		if !ok {
			return
		}
		lo := int64(1)
		if i < lo || i > math.MaxInt32 {
			if path == FieldMemoryLimit {
				p.at(path, n, "must be an integer greater than 0 (MiB), got %d", i)
			} else {
				p.at(path, n, "must be an integer of at least 1, got %d", i)
			}
			return
		}
		v := int(i)
		if path == FieldMemoryLimit {
			d.Resources.MemoryLimit = &v
		} else {
			d.MaxInstances = &v
		}
	}
}

func (p *parser) integer(path string, n *yaml.Node) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		if path == "version" {
			p.at(path, n, "must be the integer 1, got %s", describe(n))
		} else {
			p.at(path, n, "must be an integer, got %s", describe(n))
		}
		return 0, false
	}
	if !decimalInt.MatchString(n.Value) {
		p.at(path, n, "write integers in plain decimal without leading zeros, underscores or a base prefix, got %s", quoteTrunc(n.Value))
		return 0, false
	}
	var i int64
	if err := n.Decode(&i); err != nil {
		p.at(path, n, "integer %s is out of range", quoteTrunc(n.Value))
		return 0, false
	}
	return i, true
}

func (p *parser) number(path string, n *yaml.Node) (float64, bool) {
	t := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (t != "!!int" && t != "!!float") {
		p.at(path, n, "must be a number, got %s", describe(n))
		return 0, false
	}
	var f float64
	if err := n.Decode(&f); err != nil {
		p.at(path, n, "number %s is out of range", quoteTrunc(n.Value))
		return 0, false
	}
	return f, true
}

func (p *parser) str(path string, n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		p.at(path, n, "must be a string, got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

// describe names a node's type (and short value) for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!str":
		return "string " + quoteTrunc(n.Value)
	case "!!int":
		return "integer " + truncate(n.Value)
	case "!!float":
		return "float " + truncate(n.Value)
	case "!!bool":
		return "boolean " + truncate(n.Value)
	case "!!null":
		return "null"
	case "!!timestamp":
		return "timestamp " + truncate(n.Value)
	case "!!binary":
		return "binary data"
	}
	return "a value tagged " + quoteTrunc(n.ShortTag())
}

// truncate shortens user values quoted in messages.
func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func quoteTrunc(s string) string { return strconv.Quote(truncate(s)) }

// CheckHealthcheck returns "" when s is a valid healthcheck, else why not.
func CheckHealthcheck(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > MaxHealthcheckLen {
		return fmt.Sprintf("must be at most %d bytes, got %d", MaxHealthcheckLen, len(s))
	}
	if !strings.HasPrefix(s, "/") {
		return fmt.Sprintf("must be empty or an absolute path starting with \"/\" (no scheme or host), got %s", quoteTrunc(s))
	}
	if strings.HasPrefix(s, "//") {
		return fmt.Sprintf("must be a path, not a host (starts with \"//\"), got %s", quoteTrunc(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			return fmt.Sprintf("must not contain a backslash, got %s", quoteTrunc(s))
		case c <= ' ' || c == 0x7f:
			return fmt.Sprintf("must not contain whitespace or control characters, got %s", quoteTrunc(s))
		case c >= 0x80:
			return fmt.Sprintf("must contain only printable ASCII (percent-encode other characters), got %s", quoteTrunc(s))
		}
	}
	return ""
}

// CheckDeployStrategy returns "" when s is a valid deploy_strategy, else why not.
func CheckDeployStrategy(s string) string {
	switch s {
	case "", "recreate", "blue-green":
		return ""
	}
	return fmt.Sprintf("must be \"\", \"recreate\" or \"blue-green\", got %s", quoteTrunc(s))
}

// sortProblems orders problems by position; whole-file problems (line 0) last.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if (a.Line == 0) != (b.Line == 0) {
			return b.Line == 0
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}
