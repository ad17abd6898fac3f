package app

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tinyforge/tinyforge-bot/gitops"
)

// cmdValidate implements `tinyforge-bot validate [--source S] [--format text|json] FILE`.
// Exit 0 when valid (warnings allowed), 1 otherwise.
func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	source := fs.String("source", "", "workload source: dockerfile or static (default: no source-aware checks)")
	format := fs.String("format", "text", "output format: text or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tinyforge-bot validate [--source dockerfile|static] [--format text|json] FILE")
		fs.PrintDefaults()
	}
	file, ok := parseWithFile(fs, args, stderr)
	if !ok {
		return 1
	}
	switch *source {
	case "", gitops.SourceDockerfile, gitops.SourceStatic:
	default:
		fmt.Fprintf(stderr, "tinyforge-bot validate: --source must be dockerfile or static, got %q\n", *source)
		return 1
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "tinyforge-bot validate: --format must be text or json, got %q\n", *format)
		return 1
	}
	data, tooBig, err := readSpecFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "tinyforge-bot validate: %v\n", err)
		return 1
	}
	var p *gitops.Plan
	if tooBig != nil {
		p = invalidPlan(*tooBig)
	} else {
		p = gitops.Validate(data, *source)
	}
	if *format == "json" {
		if !writeJSON(p, stdout, stderr, "validate") {
			return 1
		}
	} else {
		io.WriteString(stdout, gitops.RenderText(p, file))
		if p.Status != gitops.StatusInvalid {
			fmt.Fprintf(stdout, "%s: valid (%s)\n", file, countFields(len(p.ManagedFields)))
		}
	}
	if p.Status == gitops.StatusInvalid {
		return 1
	}
	return 0
}

// parseWithFile parses flags that may appear before or after the single FILE
// argument.
func parseWithFile(fs *flag.FlagSet, args []string, stderr io.Writer) (string, bool) {
	if err := fs.Parse(args); err != nil { // flag has printed the error and usage
		return "", false
	}
	rest := fs.Args()
	var files []string
	for len(rest) > 0 {
		files = append(files, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			return "", false
		}
		rest = fs.Args()
	}
	if len(files) != 1 {
		fmt.Fprintf(stderr, "tinyforge-bot %s: expected exactly one FILE, got %d\n", fs.Name(), len(files))
		fs.Usage()
		return "", false
	}
	return files[0], true
}

// readSpecFile reads at most gitops.MaxFileSize+1 bytes; a larger file yields
// the size problem instead of its contents.
func readSpecFile(name string) ([]byte, *gitops.Problem, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.IsDir() {
		return nil, nil, fmt.Errorf("%s is a directory", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, gitops.MaxFileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > gitops.MaxFileSize {
		size := st.Size()
		if size < int64(len(data)) {
			size = int64(len(data))
		}
		p := gitops.SizeProblem(size)
		return nil, &p, nil
	}
	return data, nil, nil
}

func invalidPlan(pr gitops.Problem) *gitops.Plan {
	return &gitops.Plan{Status: gitops.StatusInvalid, Errors: []gitops.Problem{pr},
		Warnings: []gitops.Problem{}, ManagedFields: []string{}, Drift: []gitops.DriftEntry{}}
}

func writeJSON(p *gitops.Plan, stdout, stderr io.Writer, cmd string) bool {
	b, err := p.JSON()
	if err != nil {
		fmt.Fprintf(stderr, "tinyforge-bot %s: encode JSON: %v\n", cmd, err)
		return false
	}
	stdout.Write(append(b, '\n'))
	return true
}

func countFields(n int) string {
	if n == 1 {
		return "1 managed field"
	}
	return fmt.Sprintf("%d managed fields", n)
}

// oneLine keeps a user-supplied string on one terminal line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
