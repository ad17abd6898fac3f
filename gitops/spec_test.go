package gitops

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// want is one expected problem: field, position and a message fragment.
type want struct {
	field     string
	line, col int
	msg       string
}

func (w want) String() string { return fmt.Sprintf("%s@%d:%d %q", w.field, w.line, w.col, w.msg) }

// checkProblems asserts that every wanted problem is present (in any order)
// and that there are no others.
func checkProblems(t *testing.T, got []Problem, wants []want) {
	t.Helper()
	used := make([]bool, len(got))
	for _, w := range wants {
		found := false
		for i, g := range got {
			if used[i] || g.Field != w.field || g.Line != w.line || g.Column != w.col || !strings.Contains(g.Message, w.msg) {
				continue
			}
			used[i], found = true, true
			break
		}
		if !found {
			t.Errorf("missing problem %v; got %+v", w, got)
		}
	}
	for i, g := range got {
		if !used[i] {
			t.Errorf("unexpected problem %+v", g)
		}
	}
}

type parseCase struct {
	name string
	in   string
	want []want
}

func runParseCases(t *testing.T, cases []parseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec, probs := ParseSpec([]byte(tc.in))
			checkProblems(t, probs, tc.want)
			if (spec == nil) != (len(tc.want) > 0) {
				t.Errorf("spec nil = %v with %d problems", spec == nil, len(probs))
			}
			for _, p := range probs {
				if p.Field != "" && !strings.HasPrefix(p.Message, p.Field+": ") {
					t.Errorf("message %q does not start with its field %q", p.Message, p.Field)
				}
			}
		})
	}
}

func TestRuleVersion(t *testing.T) {
	runParseCases(t, []parseCase{
		{"ok", "version: 1\n", nil},
		{"missing", "deploy:\n  port: 8080\n", []want{{"version", 1, 1, "version: is required"}}},
		{"two", "version: 2\n", []want{{"version", 1, 10, "unsupported version 2"}}},
		{"zero", "version: 0\n", []want{{"version", 1, 10, "unsupported version 0"}}},
		{"string", "version: \"1\"\n", []want{{"version", 1, 10, `must be the integer 1, got string "1"`}}},
		{"float", "version: 1.0\n", []want{{"version", 1, 10, "must be the integer 1, got float 1.0"}}},
		{"bool", "version: true\n", []want{{"version", 1, 10, "must be the integer 1, got boolean true"}}},
		{"mapping", "version: {a: 1}\n", []want{{"version", 1, 10, "got a mapping"}}},
	})
}

func TestRuleUnknownKeys(t *testing.T) {
	runParseCases(t, []parseCase{
		{"top env", "version: 1\nenv:\n  A: b\n", []want{{"env", 2, 1, "env: unknown key; environment variables"}}},
		{"deploy faces", "version: 1\ndeploy:\n  faces: []\n", []want{{"deploy.faces", 3, 3, "unknown key; public faces"}}},
		{"repo_url and token", "version: 1\nrepo_url: https://x\ntoken: abc\n", []want{
			{"repo_url", 2, 1, "repository coordinates"}, {"token", 3, 1, "credentials never belong"}}},
		{"resources typo", "version: 1\ndeploy:\n  resources:\n    cpu: 1\n", []want{
			{"deploy.resources.cpu", 4, 5, "allowed under deploy.resources: cpu_limit, memory_limit"}}},
		{"typo lists allowed", "version: 1\ndeploy:\n  prot: 80\n", []want{
			{"deploy.prot", 3, 3, "allowed under deploy: port, healthcheck"}}},
		{"hostile key quoted", "version: 1\n\"<b>\\n\": 1\n", []want{{`"<b>\n"`, 2, 1, "unknown key"}}},
		{"non-string key", "version: 1\n1: x\n", []want{{"", 2, 1, "keys must be strings, got integer 1"}}},
		{"case matters", "Version: 1\n", []want{{"Version", 1, 1, "unknown key"}, {"version", 1, 1, "required"}}},
	})
}

func TestRuleDuplicateKeys(t *testing.T) {
	runParseCases(t, []parseCase{
		{"top", "version: 1\nversion: 1\n", []want{{"version", 2, 1, "duplicate key (first set at line 1)"}}},
		{"nested", "version: 1\ndeploy:\n  port: 80\n  port: 81\n", []want{{"deploy.port", 4, 3, "duplicate key (first set at line 3)"}}},
		{"flow", "version: 1\ndeploy: {port: 80, port: 81}\n", []want{{"deploy.port", 2, 20, "duplicate key"}}},
	})
}

func TestRuleSingleDocument(t *testing.T) {
	runParseCases(t, []parseCase{
		{"two docs", "version: 1\n---\nversion: 1\n", []want{{"", 2, 1, "several YAML documents"}}},
		{"trailing separator", "version: 1\n---\n", []want{{"", 2, 1, "several YAML documents"}}},
		{"leading separator ok", "---\nversion: 1\n", nil},
		{"document end marker ok", "version: 1\n...\n", nil},
	})
}

func TestRuleRootMapping(t *testing.T) {
	runParseCases(t, []parseCase{
		{"list", "- version: 1\n", []want{{"", 1, 1, "must be a mapping with `version: 1` at the top, got a list"}}},
		{"scalar", "hello\n", []want{{"", 1, 1, `got string "hello"`}}},
		{"number", "1\n", []want{{"", 1, 1, "got integer 1"}}},
		{"null", "~\n", []want{{"", 1, 1, "got null"}}},
	})
}

func TestRuleEmptyFile(t *testing.T) {
	var cases []parseCase
	for name, in := range map[string]string{"empty": "", "spaces": "  \n\t\n", "comment": "# just a comment\n# another\n", "separator": "---\n"} {
		cases = append(cases, parseCase{name, in, []want{{"", 0, 0, "file is empty"}}})
	}
	runParseCases(t, cases)
}

func TestRuleNull(t *testing.T) {
	runParseCases(t, []parseCase{
		{"empty value", "version: 1\ndeploy:\n", []want{{"deploy", 2, 8, "must not be null"}}},
		{"tilde", "version: 1\ndeploy:\n  port: ~\n", []want{{"deploy.port", 3, 9, "must not be null"}}},
		{"null word", "version: 1\ndeploy:\n  healthcheck: null\n", []want{{"deploy.healthcheck", 3, 16, "must not be null"}}},
		{"version null", "version:\n", []want{{"version", 1, 9, "must not be null"}}},
		{"nested", "version: 1\ndeploy:\n  resources:\n    cpu_limit: ~\n", []want{{"deploy.resources.cpu_limit", 4, 16, "must not be null"}}},
	})
}

func TestRuleTypes(t *testing.T) {
	d := func(body string) string { return "version: 1\ndeploy:\n  " + body + "\n" }
	runParseCases(t, []parseCase{
		{"port string", d(`port: "8080"`), []want{{"deploy.port", 3, 9, `deploy.port: must be an integer, got string "8080"`}}},
		{"port float", d("port: 80.5"), []want{{"deploy.port", 3, 9, "must be an integer, got float 80.5"}}},
		{"port integral float", d("port: 8080.0"), []want{{"deploy.port", 3, 9, "must be an integer, got float 8080.0"}}},
		{"port bool", d("port: true"), []want{{"deploy.port", 3, 9, "got boolean true"}}},
		{"port octal-looking", d("port: 010"), []want{{"deploy.port", 3, 9, "plain decimal"}}},
		{"port hex", d("port: 0x1F90"), []want{{"deploy.port", 3, 9, "plain decimal"}}},
		{"port huge", d("port: 99999999999999999999"), []want{{"deploy.port", 3, 9, "must be an integer"}}},
		{"port tagged str", d("port: !!str 8080"), []want{{"deploy.port", 3, 9, "got string"}}},
		{"port range", d("port: 70000"), []want{{"deploy.port", 3, 9, "deploy.port: must be an integer between 1 and 65535, got 70000"}}},
		{"port zero", d("port: 0"), []want{{"deploy.port", 3, 9, "between 1 and 65535, got 0"}}},
		{"healthcheck int", d("healthcheck: 5"), []want{{"deploy.healthcheck", 3, 16, "must be a string, got integer 5"}}},
		{"healthcheck list", d("healthcheck: [/a]"), []want{{"deploy.healthcheck", 3, 16, "got a list"}}},
		{"strategy bool", d("deploy_strategy: false"), []want{{"deploy.deploy_strategy", 3, 20, "must be a string"}}},
		{"strategy unknown", d("deploy_strategy: canary"), []want{{"deploy.deploy_strategy", 3, 20, `got "canary"`}}},
		{"deploy list", "version: 1\ndeploy: []\n", []want{{"deploy", 2, 9, "must be a mapping, got a list"}}},
		{"deploy scalar", "version: 1\ndeploy: yes\n", []want{{"deploy", 2, 9, "must be a mapping"}}},
		{"resources list", d("resources: [1]"), []want{{"deploy.resources", 3, 14, "must be a mapping"}}},
		{"cpu string", d("resources: {cpu_limit: \"1\"}"), []want{{"deploy.resources.cpu_limit", 3, 26, "must be a number"}}},
		{"cpu zero", d("resources: {cpu_limit: 0}"), []want{{"deploy.resources.cpu_limit", 3, 26, "greater than 0"}}},
		{"cpu inf", d("resources: {cpu_limit: .inf}"), []want{{"deploy.resources.cpu_limit", 3, 26, "greater than 0"}}},
		{"cpu nan", d("resources: {cpu_limit: .nan}"), []want{{"deploy.resources.cpu_limit", 3, 26, "greater than 0"}}},
		{"memory float", d("resources: {memory_limit: 0.5}"), []want{{"deploy.resources.memory_limit", 3, 29, "must be an integer"}}},
		{"memory negative", d("resources: {memory_limit: -1}"), []want{{"deploy.resources.memory_limit", 3, 29, "greater than 0"}}},
		{"max_instances zero", d("max_instances: 0"), []want{{"deploy.max_instances", 3, 18, "at least 1"}}},
		{"unknown tag", "version: !custom 1\n", []want{{"version", 1, 10, "unsupported YAML tag"}}},
		{"all valid", d("port: 8080\n  healthcheck: /healthz\n  deploy_strategy: \"\"\n  resources: {cpu_limit: 0.5, memory_limit: 256}\n  max_instances: 1"), nil},
	})
}

func TestRuleHealthcheckShape(t *testing.T) {
	d := func(v string) string { return "version: 1\ndeploy:\n  healthcheck: " + v + "\n" }
	runParseCases(t, []parseCase{
		{"empty ok", d(`""`), nil},
		{"root ok", d("/"), nil},
		{"query ok", d("/health?full=1"), nil},
		{"relative", d("healthz"), []want{{"deploy.healthcheck", 3, 16, "absolute path"}}},
		{"scheme", d("http://evil/x"), []want{{"deploy.healthcheck", 3, 16, "no scheme or host"}}},
		{"host", d("//evil/x"), []want{{"deploy.healthcheck", 3, 16, "not a host"}}},
		{"space", d(`"/a b"`), []want{{"deploy.healthcheck", 3, 16, "whitespace or control"}}},
		{"newline", d(`"/a\nb"`), []want{{"deploy.healthcheck", 3, 16, "whitespace or control"}}},
		{"nul", d(`"/a\0"`), []want{{"deploy.healthcheck", 3, 16, "whitespace or control"}}},
		{"backslash", d(`"/\\evil"`), []want{{"deploy.healthcheck", 3, 16, "backslash"}}},
		{"unicode", d("/héalth"), []want{{"deploy.healthcheck", 3, 16, "printable ASCII"}}},
		{"nbsp", d("\"/a\u00a0b\""), []want{{"deploy.healthcheck", 3, 16, "printable ASCII"}}},
		{"512 ok", d("/" + strings.Repeat("a", 511)), nil},
		{"513", d("/" + strings.Repeat("a", 512)), []want{{"deploy.healthcheck", 3, 16, "at most 512 bytes, got 513"}}},
	})
}

func TestRuleSizeLimit(t *testing.T) {
	ok := "version: 1\n" + strings.Repeat("#", MaxFileSize-len("version: 1\n"))
	if _, probs := ParseSpec([]byte(ok)); len(probs) != 0 {
		t.Fatalf("file of exactly MaxFileSize refused: %v", probs)
	}
	big := ok + "#"
	_, probs := ParseSpec([]byte(big))
	checkProblems(t, probs, []want{{"", 0, 0, "65537 bytes; files over 65536 bytes (64 KiB) are refused before parsing"}})
	// Refused before parsing: even garbage YAML gets only the size problem.
	_, probs = ParseSpec([]byte(strings.Repeat("[", MaxFileSize+1)))
	checkProblems(t, probs, []want{{"", 0, 0, "refused before parsing"}})
}

func TestRuleAliasesAndAnchors(t *testing.T) {
	runParseCases(t, []parseCase{
		{"alias value", "version: 1\ndeploy:\n  port: &p 8080\n  resources:\n    memory_limit: *p\n", []want{
			{"deploy.port", 3, 9, "anchors (&p) are not supported"},
			{"deploy.resources.memory_limit", 5, 19, "aliases (*p) are not supported"}}},
		{"anchored mapping", "version: 1\ndeploy: &d {port: 80}\n", []want{{"deploy", 2, 9, "anchors (&d)"}}},
		{"merge key", "version: 1\ndeploy:\n  <<: {port: 80}\n", []want{{"deploy", 3, 3, "merge keys (<<) are not supported"}}},
		{"alias root", "&a {version: 1}\n", []want{{"", 1, 1, "anchors (&a)"}}},
		{"alias key", "version: 1\ndeploy:\n  &k port: 80\n", []want{{"deploy", 3, 3, "anchors (&k)"}}},
	})
}

// billionLaughs builds the classic exponential-alias bomb.
func billionLaughs(levels int) string {
	var b strings.Builder
	b.WriteString("version: 1\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < levels; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestRuleBillionLaughsIsCheap(t *testing.T) {
	in := []byte(billionLaughs(9))
	start := time.Now()
	p := BuildPlan(in, "dockerfile", nil)
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("billion laughs took %v", d)
	}
	if p.Status != StatusInvalid || len(p.Errors) == 0 {
		t.Fatalf("billion laughs accepted: %+v", p)
	}
	allocs := testing.AllocsPerRun(5, func() { ParseSpec(in) })
	if allocs > 20000 {
		t.Fatalf("billion laughs: %v allocs per parse", allocs)
	}
}

func TestRuleProblemCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\n")
	for i := 0; i < 1500; i++ {
		fmt.Fprintf(&b, "k%d: 1\n", i)
	}
	_, probs := ParseSpec([]byte(b.String()))
	if len(probs) != maxProblems+1 || !strings.Contains(probs[len(probs)-1].Message, "500 more problems not shown") {
		t.Fatalf("got %d problems, last %+v", len(probs), probs[len(probs)-1])
	}
}

func TestRuleAllProblemsInOnePass(t *testing.T) {
	in := "version: 2\nenv: {A: b}\ndeploy:\n  port: \"80\"\n  healthcheck: 5\n  deploy_strategy: ~\n  faces: []\n  resources:\n    cpu_limit: -1\ntoken: x\n"
	_, probs := ParseSpec([]byte(in))
	checkProblems(t, probs, []want{
		{"version", 1, 10, "unsupported version 2"},
		{"env", 2, 1, "unknown key"},
		{"deploy.port", 4, 9, "must be an integer"},
		{"deploy.healthcheck", 5, 16, "must be a string"},
		{"deploy.deploy_strategy", 6, 20, "must not be null"},
		{"deploy.faces", 7, 3, "unknown key"},
		{"deploy.resources.cpu_limit", 9, 16, "greater than 0"},
		{"token", 10, 1, "unknown key"},
	})
	for i := 1; i < len(probs); i++ {
		if probs[i].Line < probs[i-1].Line {
			t.Errorf("problems not ordered by line: %+v", probs)
		}
	}
}

func TestRuleSyntaxErrorsAndEncoding(t *testing.T) {
	runParseCases(t, []parseCase{
		{"unclosed flow", "version: 1\ndeploy:\n  port: [\n", []want{{"", 3, 0, "invalid YAML"}}},
		{"tab indent", "version: 1\ndeploy:\n\tport: 1\n", []want{{"", 3, 0, "invalid YAML"}}},
		{"bad utf8", "version: 1\ndeploy:\n  healthcheck: /\xff\n", []want{{"", 3, 17, "not valid UTF-8"}}},
	})
}

func TestSpecAccessors(t *testing.T) {
	spec, probs := ParseSpec([]byte("version: 1\ndeploy:\n  max_instances: 2\n  port: 8080\n  resources: {memory_limit: 64}\n"))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	got := strings.Join(spec.Declared(), ",")
	if got != "deploy.port,deploy.resources.memory_limit,deploy.max_instances" {
		t.Fatalf("Declared = %s", got)
	}
	if l, c := spec.Pos(FieldPort); l != 4 || c != 9 {
		t.Fatalf("Pos(port) = %d:%d", l, c)
	}
	if v, ok := spec.Value(FieldPort); !ok || v != 8080 {
		t.Fatalf("Value(port) = %v %v", v, ok)
	}
	if _, ok := spec.Value(FieldHealthcheck); ok {
		t.Fatal("healthcheck should be undeclared")
	}
}
