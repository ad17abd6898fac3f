package config

import (
	"fmt"
	"regexp"
	"strings"
)

// Problem is one configuration mistake. Messages never contain secret values.
type Problem struct {
	Key     string // dotted YAML key, e.g. "github.app.webhook_secret"; "" for the document
	Message string
}

func (p Problem) String() string {
	if p.Key == "" {
		return p.Message
	}
	return p.Key + ": " + p.Message
}

// ValidationError lists every problem found in a configuration; its message
// has one line per problem.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("invalid configuration (1 problem):")
	} else {
		fmt.Fprintf(&b, "invalid configuration (%d problems):", len(e.Problems))
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

type problems []Problem

func (ps *problems) add(key, format string, args ...any) {
	*ps = append(*ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

var backquoted = regexp.MustCompile("`[^`]*`")

// redactYAMLValue drops the value yaml.v3 quotes in its type errors.
func redactYAMLValue(s string) string { return backquoted.ReplaceAllString(s, "value") }
