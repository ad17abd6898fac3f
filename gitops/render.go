package gitops

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RenderOptions tunes RenderMarkdown.
type RenderOptions struct {
	Workload string // workload name shown in the heading; may be empty
	Path     string // file path shown in the text, e.g. ".tinyforge.yml"
}

// RenderMarkdown renders a plan as GitHub-flavoured markdown: a heading with the
// status, a drift table, then warnings and errors. Every user-controlled value
// is escaped so it cannot break the table, inject HTML, mention a user or link
// an issue: values go into code spans (quoted with strconv.Quote, so control
// and invisible characters are visible escapes, pipes escaped, the fence longer
// than any backtick run); free text (messages, workload name, path) escapes
// markdown punctuation and HTML, and breaks @mentions, #refs and autolinks with
// a zero-width space.
func RenderMarkdown(p *Plan, o RenderOptions) string {
	path := o.Path
	if path == "" {
		path = ".tinyforge.yml"
	}
	var b strings.Builder
	name := o.Workload
	if name == "" {
		name = path
	}
	switch p.Status {
	case StatusInSync:
		fmt.Fprintf(&b, "### ✅ %s: in sync\n\n", mdText(name))
		fmt.Fprintf(&b, "%s matches the live config (%s).\n", codeSpan(path), plural(len(p.ManagedFields), "managed field"))
	case StatusDrift:
		fmt.Fprintf(&b, "### ⚠️ %s: drift\n\n", mdText(name))
		fmt.Fprintf(&b, "%s of %s %s from the live config. An admin can apply %s with `/tinyforge sync`.\n",
			plural(len(p.Drift), "field"), codeSpan(path), pick(len(p.Drift) == 1, "differs", "differ"), pick(len(p.Drift) == 1, "it", "them"))
	default:
		fmt.Fprintf(&b, "### ❌ %s: invalid\n\n", mdText(name))
		fmt.Fprintf(&b, "%s cannot be applied: %s. Nothing is synced until %s fixed.\n",
			codeSpan(path), plural(len(p.Errors), "error"), pick(len(p.Errors) == 1, "it is", "they are"))
	}
	if len(p.Drift) > 0 {
		b.WriteString("\n| Field | In `.tinyforge.yml` | Live |\n|---|---|---|\n")
		for _, d := range p.Drift {
			live := "*unset*"
			if d.Live != nil {
				live = codeCell(valueText(d.Live))
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", codeCell(d.Field), codeCell(valueText(d.Repo)), live)
		}
	}
	writeList := func(title string, ps []Problem) {
		if len(ps) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n**%s**\n\n", title)
		for _, pr := range ps {
			loc := path
			if pr.Line > 0 {
				loc = fmt.Sprintf("%s:%d:%d", path, pr.Line, pr.Column)
			}
			fmt.Fprintf(&b, "- %s %s\n", codeSpan(loc), mdText(pr.Message))
		}
	}
	writeList("Warnings", p.Warnings)
	writeList("Errors", p.Errors)
	return b.String()
}

// RenderText renders a plan for a terminal: "FILE:LINE:COL: message" per error,
// then warnings ("FILE:LINE:COL: warning: message"), then a drift summary.
// Problems without a position print as "FILE: message". Control characters in
// values are escaped.
func RenderText(p *Plan, path string) string {
	var b strings.Builder
	line := func(pr Problem, prefix string) {
		if pr.Line > 0 {
			fmt.Fprintf(&b, "%s:%d:%d: %s%s\n", path, pr.Line, pr.Column, prefix, textSafe(pr.Message))
		} else {
			fmt.Fprintf(&b, "%s: %s%s\n", path, prefix, textSafe(pr.Message))
		}
	}
	for _, pr := range p.Errors {
		line(pr, "")
	}
	for _, pr := range p.Warnings {
		line(pr, "warning: ")
	}
	if len(p.Drift) > 0 {
		fmt.Fprintf(&b, "%s: drift: %s %s from the live config\n", path, plural(len(p.Drift), "field"), pick(len(p.Drift) == 1, "differs", "differ"))
		for _, d := range p.Drift {
			live := "(unset)"
			if d.Live != nil {
				live = valueText(d.Live)
			}
			fmt.Fprintf(&b, "  %s: %s (repo) != %s (live)\n", d.Field, valueText(d.Repo), live)
		}
	}
	return b.String()
}

// valueText renders a JSON-like value on one line: strings quoted with
// strconv.Quote (control, format and non-printable characters escaped), other
// values as JSON.
func valueText(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case nil:
		return "null"
	}
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	bs, err := json.Marshal(v)
	if err != nil {
		return strconv.Quote(fmt.Sprint(v))
	}
	return textSafe(string(bs))
}

// textSafe replaces control and invisible format characters with visible
// escapes so a message cannot rewrite a terminal line or hide text.
func textSafe(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			switch r {
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				fmt.Fprintf(&b, `\u%04x`, r)
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) ||
		r == '\u2028' || r == '\u2029'
}

// codeCell wraps s in an inline code span that survives a GFM table cell: the
// fence is longer than any backtick run in s, pipes are escaped (GFM unescapes
// \| inside cells, also in code spans), newlines shown as ↵.
func codeCell(s string) string {
	return codeSpan(strings.ReplaceAll(s, "|", `\|`))
}

// codeSpan wraps s in an inline code span whose fence is longer than any
// backtick run in s; newlines are shown as ↵ and control characters escaped.
func codeSpan(s string) string {
	s = textSafe(strings.NewReplacer("\r\n", "↵", "\n", "↵", "\r", "↵").Replace(s))
	if s == "" {
		return "*(empty)*"
	}
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			if run > longest {
				longest = run
			}
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || (strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ")) {
		s = " " + s + " "
	}
	return fence + s + fence
}

const zwsp = "\u200b"

// mdText escapes free text for GFM inline content: markdown punctuation is
// backslash-escaped, <, > and & become entities, and @mentions, #refs and
// autolinks (://, www.) are broken with a zero-width space.
func mdText(s string) string {
	s = textSafe(s)
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '`', '*', '_', '[', ']', '|', '~':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '@', '#':
			b.WriteByte(c)
			b.WriteString(zwsp)
		case ':':
			b.WriteByte(c)
			if strings.HasPrefix(s[i+1:], "//") {
				b.WriteString(zwsp)
			}
		case '.':
			if i >= 3 && strings.EqualFold(s[i-3:i], "www") {
				b.WriteString(zwsp)
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}
