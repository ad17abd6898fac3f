package handlers

import (
	"regexp"
	"strings"
)

// CommandKind is what a comment asks the bot to do.
type CommandKind int

const (
	// CommandIgnore: the comment is not addressed to the bot.
	CommandIgnore CommandKind = iota
	CommandHelp
	CommandPlan
	CommandSync
)

// Command is a parsed comment: what to do, for which workloads, and for
// help, why it is shown.
type Command struct {
	Kind      CommandKind
	Workloads []string
	// Problem explains a help reply caused by a bad command ("" for plain help).
	Problem string
}

const commandPrefix = "/tinyforge"

var workloadName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// ParseComment reads a command from a comment body. The rules, chosen so that
// a command is never run by accident:
//   - only the first non-blank line counts; the rest is free text;
//   - a line that is quoted (">"), indented as code (tab or 4+ spaces) or opens
//     a fenced code block is not a command;
//   - "/tinyforge" and the sub-command are case-insensitive; words are split
//     on any white space; workload names are kept as written;
//   - "/tinyforge" alone or with "help" → help; an unknown sub-command or bad
//     arguments → help with the problem named.
func ParseComment(body string) Command {
	line := firstLine(body)
	if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "    ") {
		return Command{}
	}
	fields := strings.Fields(line)
	if len(fields) == 0 || !strings.EqualFold(fields[0], commandPrefix) {
		return Command{}
	}
	if len(fields) == 1 {
		return Command{Kind: CommandHelp}
	}
	sub, args := strings.ToLower(fields[1]), fields[2:]
	switch sub {
	case "help":
		return Command{Kind: CommandHelp}
	case "plan":
		if len(args) > 0 {
			return Command{Kind: CommandHelp, Problem: "`plan` takes no arguments"}
		}
		return Command{Kind: CommandPlan}
	case "sync":
		seen := map[string]bool{}
		var names []string
		for _, a := range args {
			if !workloadName.MatchString(a) {
				return Command{Kind: CommandHelp, Problem: "`" + sanitizeWord(a) + "` is not a workload name"}
			}
			if !seen[a] {
				seen[a] = true
				names = append(names, a)
			}
		}
		return Command{Kind: CommandSync, Workloads: names}
	}
	return Command{Kind: CommandHelp, Problem: "unknown command `" + sanitizeWord(fields[1]) + "`"}
}

// firstLine returns the first non-blank line, untrimmed on the left so that
// code indentation is still visible.
func firstLine(body string) string {
	for _, l := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		trimmed := strings.TrimLeft(l, " ")
		if strings.HasPrefix(trimmed, ">") || strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			return ""
		}
		return strings.TrimRight(l, " \t")
	}
	return ""
}

// sanitizeWord keeps an echoed word from breaking out of a code span or
// pinging anyone.
func sanitizeWord(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return escapeInline(s)
}

// helpText is the reply to /tinyforge help.
const helpText = "**tinyforge-bot commands** (first line of a comment):\n\n" +
	"| Command | What it does |\n|---|---|\n" +
	"| `/tinyforge plan` | Show the drift between each workload's `.tinyforge.yml` on its tracked branch and its live config. |\n" +
	"| `/tinyforge sync` | Apply the tracked branch's `.tinyforge.yml` to every workload of this repository (admins). |\n" +
	"| `/tinyforge sync NAME ...` | Apply it to the named workloads only. |\n" +
	"| `/tinyforge help` | This message. |\n\n" +
	"A sync applies what is merged on the workload's tracked branch, never an open pull request's version.\n"
