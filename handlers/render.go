package handlers

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/go-github/v62/github"

	"github.com/tinyforge/tinyforge-bot/gitops"
)

// maxOutputBytes is GitHub's limit on a check run's summary and text. GitHub
// counts characters; counting bytes is stricter and so always safe.
const maxOutputBytes = 65535

// maxTitleBytes keeps titles short enough for GitHub's checks list.
const maxTitleBytes = 255

// checkResult is everything known about one workload's file at one commit.
type checkResult struct {
	Workload string
	Path     string
	SHA      string
	Branch   string
	Plan     *gitops.Plan
	// Missing: the commit has no file at Path.
	Missing bool
	// Unreachable names the service that failed ("GitHub", "Tinyforge"), with Reason.
	Unreachable string
	Reason      string
}

// checkOutput is what a completed check run shows.
type checkOutput struct {
	Conclusion  string
	Title       string
	Summary     string
	Text        string
	Annotations []*github.CheckRunAnnotation
}

// renderCheck decides the conclusion and content of a check run. It is pure.
func renderCheck(r checkResult) checkOutput {
	var o checkOutput
	switch {
	case r.Unreachable != "":
		o.Conclusion = "failure"
		o.Title = fmt.Sprintf("Could not validate: %s unreachable", r.Unreachable)
		o.Summary = fmt.Sprintf("The drift check for workload **%s** at `%s` could not run because %s could not be reached.\n\n"+
			"Nothing about `%s` was decided. Re-run this check once %s is back.\n\n```\n%s\n```\n",
			escapeInline(r.Workload), shortSHA(r.SHA), r.Unreachable, escapeInline(r.Path), r.Unreachable, fence(r.Reason))
	case r.Missing:
		o.Conclusion = "failure"
		o.Title = fmt.Sprintf("%s not found at %s", r.Path, shortSHA(r.SHA))
		o.Summary = fmt.Sprintf("Workload **%s** reads its deploy config from `%s` on branch `%s`, but this commit has no such file.\n\n"+
			"Tinyforge will report `no_file` for it and a `/tinyforge sync` would fail. Restore the file, "+
			"or disable GitOps for the workload in Tinyforge before merging.\n",
			escapeInline(r.Workload), escapeInline(r.Path), escapeInline(r.Branch))
	default:
		p := r.Plan
		switch p.Status {
		case gitops.StatusInvalid:
			o.Conclusion = "failure"
			o.Title = fmt.Sprintf("Invalid: %s", plural(len(p.Errors), "error"))
		case gitops.StatusDrift:
			o.Conclusion = "neutral"
			verb := "differ"
			if len(p.Drift) == 1 {
				verb = "differs"
			}
			o.Title = fmt.Sprintf("Drift: %s %s from live (sync pending)", plural(len(p.Drift), "field"), verb)
		default:
			o.Conclusion = "success"
			o.Title = "In sync with the live config"
		}
		if n := len(p.Warnings); n > 0 {
			o.Title += ", " + plural(n, "warning")
		}
		o.Summary = gitops.RenderMarkdown(p, gitops.RenderOptions{Workload: r.Workload, Path: r.Path})
		if p.Status == gitops.StatusDrift {
			o.Summary += "\nThe live config changes only when an admin comments `/tinyforge sync` after this is merged into `" + escapeInline(r.Branch) + "`.\n"
		}
		o.Annotations = annotations(r.Path, p)
	}
	o.Title = truncateBytes(o.Title, maxTitleBytes, "…")
	o.Summary = truncateBytes(o.Summary, maxOutputBytes, truncatedMarker)
	o.Text = truncateBytes(o.Text, maxOutputBytes, truncatedMarker)
	return o
}

const truncatedMarker = "\n\n… (truncated: GitHub shows at most 65,535 bytes here)\n"

// annotations puts errors and warnings on the file's lines.
func annotations(path string, p *gitops.Plan) []*github.CheckRunAnnotation {
	var out []*github.CheckRunAnnotation
	add := func(level string, probs []gitops.Problem) {
		for _, pr := range probs {
			line := max(pr.Line, 1)
			a := &github.CheckRunAnnotation{
				Path:            github.String(path),
				StartLine:       github.Int(line),
				EndLine:         github.Int(line),
				AnnotationLevel: github.String(level),
				Message:         github.String(truncateBytes(pr.Message, 64<<10-1, "…")),
			}
			if pr.Field != "" {
				a.Title = github.String(pr.Field)
			}
			// GitHub accepts columns only on single-line annotations.
			if pr.Line > 0 && pr.Column > 0 {
				a.StartColumn = github.Int(pr.Column)
				a.EndColumn = github.Int(pr.Column)
			}
			out = append(out, a)
		}
	}
	add("failure", p.Errors)
	add("warning", p.Warnings)
	return out
}

// truncateBytes cuts s to at most limit bytes, on a rune boundary, ending
// with marker so a reader sees that something is missing.
func truncateBytes(s string, limit int, marker string) string {
	if len(s) <= limit {
		return s
	}
	cut := limit - len(marker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + marker
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// escapeInline makes a user-controlled value safe inside a code span or bold
// text: no backticks to break out, no newlines, no mentions.
func escapeInline(s string) string {
	r := strings.NewReplacer("`", "'", "\n", " ", "\r", " ", "@", "@\u200b", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

// fence keeps a value from closing the code block it sits in.
func fence(s string) string {
	return strings.ReplaceAll(s, "```", "'''")
}
