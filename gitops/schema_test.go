package gitops

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// TestSchemaAgreesWithParser keeps docs/tinyforge.schema.json and ParseSpec in
// agreement: for each file, the schema accepts it exactly when the parser does.
// Rules the schema cannot express in the same way are left out of the table:
// merge-dependent rules, YAML-only rules (duplicate keys, several documents,
// aliases, tags, integer spelling) and integral floats (8080.0 is a JSON
// Schema integer but not a YAML one).
func TestSchemaAgreesWithParser(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "docs", "tinyforge.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("tinyforge.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("tinyforge.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	d := func(body string) string { return "version: 1\ndeploy:\n  " + body + "\n" }
	cases := []struct {
		name  string
		in    string
		valid bool
	}{
		{"minimal", "version: 1\n", true},
		{"full", fullFile, true},
		{"empty deploy", "version: 1\ndeploy: {}\n", true},
		{"empty resources", d("resources: {}"), true},
		{"missing version", "deploy: {port: 80}\n", false},
		{"version 2", "version: 2\n", false},
		{"version string", "version: \"1\"\n", false},
		{"unknown top", "version: 1\nenv: {A: b}\n", false},
		{"unknown deploy", d("faces: []"), false},
		{"unknown resources", d("resources: {cpu: 1}"), false},
		{"token", "version: 1\ntoken: x\n", false},
		{"root list", "- 1\n", false},
		{"null deploy", "version: 1\ndeploy: ~\n", false},
		{"null port", d("port: ~"), false},
		{"deploy list", "version: 1\ndeploy: []\n", false},
		{"port string", d(`port: "8080"`), false},
		{"port float", d("port: 80.5"), false},
		{"port bool", d("port: true"), false},
		{"port 0", d("port: 0"), false},
		{"port 1", d("port: 1"), true},
		{"port 65535", d("port: 65535"), true},
		{"port 65536", d("port: 65536"), false},
		{"healthcheck int", d("healthcheck: 5"), false},
		{"healthcheck empty", d(`healthcheck: ""`), true},
		{"healthcheck root", d("healthcheck: /"), true},
		{"healthcheck query", d("healthcheck: /h?x=1&y=%20"), true},
		{"healthcheck relative", d("healthcheck: healthz"), false},
		{"healthcheck scheme", d("healthcheck: http://x/"), false},
		{"healthcheck host", d("healthcheck: //x/"), false},
		{"healthcheck space", d(`healthcheck: "/a b"`), false},
		{"healthcheck tab", d(`healthcheck: "/a\tb"`), false},
		{"healthcheck backslash", d(`healthcheck: "/\\x"`), false},
		{"healthcheck unicode", d("healthcheck: /é"), false},
		{"healthcheck 512", d("healthcheck: /" + strings.Repeat("a", 511)), true},
		{"healthcheck 513", d("healthcheck: /" + strings.Repeat("a", 512)), false},
		{"strategy empty", d(`deploy_strategy: ""`), true},
		{"strategy recreate", d("deploy_strategy: recreate"), true},
		{"strategy canary", d("deploy_strategy: canary"), false},
		{"cpu 0", d("resources: {cpu_limit: 0}"), false},
		{"cpu 0.25", d("resources: {cpu_limit: 0.25}"), true},
		{"cpu int", d("resources: {cpu_limit: 2}"), true},
		{"cpu string", d("resources: {cpu_limit: \"1\"}"), false},
		{"memory 0", d("resources: {memory_limit: 0}"), false},
		{"memory float", d("resources: {memory_limit: 1.5}"), false},
		{"memory 256", d("resources: {memory_limit: 256}"), true},
		{"max_instances 0", d("max_instances: 0"), false},
		{"max_instances 3", d("max_instances: 3"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := ParseSpec([]byte(tc.in))
			parserOK := len(probs) == 0
			var v any
			if err := yaml.Unmarshal([]byte(tc.in), &v); err != nil {
				t.Fatal(err)
			}
			// Round-trip through JSON so the schema sees what an editor would.
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			schemaErr := sch.Validate(inst)
			if parserOK != (schemaErr == nil) || parserOK != tc.valid {
				t.Errorf("want valid=%v; parser=%v (%v); schema=%v (%v)", tc.valid, parserOK, probs, schemaErr == nil, schemaErr)
			}
		})
	}
}
