package handlers

import (
	"reflect"
	"testing"
)

func TestParseComment(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Command
	}{
		{"sync all", "/tinyforge sync", Command{Kind: CommandSync}},
		{"sync named", "/tinyforge sync web api", Command{Kind: CommandSync, Workloads: []string{"web", "api"}}},
		{"sync duplicates once", "/tinyforge sync web web", Command{Kind: CommandSync, Workloads: []string{"web"}}},
		{"case-insensitive command", "/TinyForge SYNC Web", Command{Kind: CommandSync, Workloads: []string{"Web"}}},
		{"extra white space", "  /tinyforge \t sync   web  ", Command{Kind: CommandSync, Workloads: []string{"web"}}},
		{"leading blank lines", "\n\n/tinyforge plan\n", Command{Kind: CommandPlan}},
		{"CRLF", "/tinyforge sync\r\nthanks!", Command{Kind: CommandSync}},
		{"rest of comment is free text", "/tinyforge plan\n/tinyforge sync", Command{Kind: CommandPlan}},
		{"plan", "/tinyforge plan", Command{Kind: CommandPlan}},
		{"help", "/tinyforge help", Command{Kind: CommandHelp}},
		{"bare prefix is help", "/tinyforge", Command{Kind: CommandHelp}},
		{"unknown sub-command", "/tinyforge deploy", Command{Kind: CommandHelp, Problem: "unknown command `deploy`"}},
		{"plan with args", "/tinyforge plan web", Command{Kind: CommandHelp, Problem: "`plan` takes no arguments"}},
		{"bad workload name", "/tinyforge sync ../etc", Command{Kind: CommandHelp, Problem: "`../etc` is not a workload name"}},
		{"mention in bad name is defused", "/tinyforge sync @admins", Command{Kind: CommandHelp, Problem: "`@\u200badmins` is not a workload name"}},
		{"not first line", "LGTM\n/tinyforge sync", Command{}},
		{"quoted", "> /tinyforge sync\n\nwhy did this not run?", Command{}},
		{"quoted with indent", "  > /tinyforge sync", Command{}},
		{"fenced code", "```\n/tinyforge sync\n```", Command{}},
		{"tilde fence", "~~~\n/tinyforge sync\n~~~", Command{}},
		{"indented code", "    /tinyforge sync", Command{}},
		{"tab code", "\t/tinyforge sync", Command{}},
		{"inline code", "`/tinyforge sync`", Command{}},
		{"prefix of another word", "/tinyforgery sync", Command{}},
		{"other bot", "/atlantis apply", Command{}},
		{"empty", "", Command{}},
		{"mid-sentence", "please /tinyforge sync", Command{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseComment(tt.body)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseComment(%q) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

func TestCommentRuns(t *testing.T) {
	tests := []struct {
		action, sender string
		want           bool
	}{
		{"created", "User", true},
		{"created", "Organization", true},
		{"created", "Bot", false},
		{"edited", "User", false},
		{"deleted", "User", false},
	}
	for _, tt := range tests {
		if got := commentRuns(tt.action, tt.sender); got != tt.want {
			t.Errorf("commentRuns(%q, %q) = %v, want %v", tt.action, tt.sender, got, tt.want)
		}
	}
}
