package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tinyforge/tinyforge-bot/gitops"
)

// Exit codes of `plan`, like `terraform plan -detailed-exitcode`.
const (
	exitInSync = 0
	exitError  = 1
	exitDrift  = 2
)

// maxLiveFile bounds the live workload JSON read by `plan`.
const maxLiveFile = 4 << 20

// liveWorkload is the part of a Tinyforge Workload (GET /api/workloads/{id})
// that `plan` needs.
type liveWorkload struct {
	ID           json.RawMessage `json:"id"`
	Name         string          `json:"name"`
	Source       string          `json:"source"`
	SourceConfig map[string]any  `json:"source_config"`
	GitOpsPath   string          `json:"gitops_path"`
}

// cmdPlan implements `tinyforge-bot plan --live WORKLOAD.json [--format text|markdown|json] FILE`.
// Exit 0 in sync, 2 drift, 1 invalid or error.
func cmdPlan(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	livePath := fs.String("live", "", "the live workload as JSON, as GET /api/workloads/{id} returns it (required)")
	format := fs.String("format", "text", "output format: text, markdown or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tinyforge-bot plan --live WORKLOAD.json [--format text|markdown|json] FILE")
		fs.PrintDefaults()
	}
	file, ok := parseWithFile(fs, args, stderr)
	if !ok {
		return exitError
	}
	if *livePath == "" {
		fmt.Fprintln(stderr, "tinyforge-bot plan: --live WORKLOAD.json is required")
		fs.Usage()
		return exitError
	}
	switch *format {
	case "text", "markdown", "json":
	default:
		fmt.Fprintf(stderr, "tinyforge-bot plan: --format must be text, markdown or json, got %q\n", *format)
		return exitError
	}
	w, err := readLiveWorkload(*livePath)
	if err != nil {
		fmt.Fprintf(stderr, "tinyforge-bot plan: %v\n", err)
		return exitError
	}
	data, tooBig, err := readSpecFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "tinyforge-bot plan: %v\n", err)
		return exitError
	}
	var p *gitops.Plan
	if tooBig != nil {
		p = invalidPlan(*tooBig)
	} else {
		p = gitops.BuildPlan(data, w.Source, w.SourceConfig)
	}
	name := w.Name
	if name == "" {
		name = string(bytes.Trim(w.ID, `"`))
	}
	switch *format {
	case "json":
		if !writeJSON(p, stdout, stderr, "plan") {
			return exitError
		}
	case "markdown":
		io.WriteString(stdout, gitops.RenderMarkdown(p, gitops.RenderOptions{Workload: name, Path: file}))
	default:
		io.WriteString(stdout, gitops.RenderText(p, file))
		switch p.Status {
		case gitops.StatusInSync:
			fmt.Fprintf(stdout, "%s: in sync with workload %q (%s)\n", file, oneLine(name), countFields(len(p.ManagedFields)))
		case gitops.StatusDrift:
			fmt.Fprintf(stdout, "%s: an admin can apply this with `/tinyforge sync` (workload %q)\n", file, oneLine(name))
		default:
			fmt.Fprintf(stdout, "%s: invalid; nothing can be applied to workload %q\n", file, oneLine(name))
		}
	}
	switch p.Status {
	case gitops.StatusInSync:
		return exitInSync
	case gitops.StatusDrift:
		return exitDrift
	}
	return exitError
}

func readLiveWorkload(path string) (*liveWorkload, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("live workload: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxLiveFile+1))
	if err != nil {
		return nil, fmt.Errorf("live workload: read %s: %w", path, err)
	}
	if len(raw) > maxLiveFile {
		return nil, fmt.Errorf("live workload %s: larger than %d bytes", path, maxLiveFile)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var top any
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("live workload %s: not valid JSON: %v", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("live workload %s: unexpected data after the JSON object", path)
	}
	obj, ok := top.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("live workload %s: must be a JSON object (a Tinyforge Workload)", path)
	}
	w := &liveWorkload{}
	if v, ok := obj["source"]; !ok {
		return nil, fmt.Errorf("live workload %s: missing \"source\"", path)
	} else if w.Source, ok = v.(string); !ok {
		return nil, fmt.Errorf("live workload %s: \"source\" must be a string", path)
	}
	switch sc := obj["source_config"].(type) {
	case nil:
		w.SourceConfig = map[string]any{}
	case map[string]any:
		w.SourceConfig = sc
	default:
		return nil, fmt.Errorf("live workload %s: \"source_config\" must be an object", path)
	}
	switch id := obj["id"].(type) {
	case nil:
	case string, json.Number:
		w.ID, _ = json.Marshal(id)
	default:
		return nil, fmt.Errorf("live workload %s: \"id\" must be a string or a number", path)
	}
	if n, ok := obj["name"].(string); ok {
		w.Name = n
	}
	if g, ok := obj["gitops_path"].(string); ok {
		w.GitOpsPath = g
	}
	return w, nil
}
