// Package app wires the bot together and holds the CLI sub-commands.
package app

import (
	"fmt"
	"io"
	"os"
)

// Main runs the CLI and returns the process exit code.
func Main(args []string) int {
	return run(args[1:], os.Stdout, os.Stderr)
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 1
	}
	switch args[0] {
	case "validate":
		return cmdValidate(args[1:], stdout, stderr)
	case "plan":
		return cmdPlan(args[1:], stdout, stderr)
	case "serve":
		return cmdServe(args[1:], stdout, stderr)
	case "demo":
		return cmdDemo(args[1:], stdout, stderr)
	case "audit":
		return cmdAudit(args[1:], stdout, stderr)
	case "deliveries":
		return cmdDeliveries(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "tinyforge-bot: unknown command %q\n%s\n", args[0], usage)
	return 1
}

const usage = `usage: tinyforge-bot <command> [flags]

commands:
  serve --config FILE      the GitHub App
  demo                     the whole flow on this machine, against the fakes
  validate FILE            check a .tinyforge.yml
  plan --live W.json FILE  drift of a .tinyforge.yml against a live workload
  audit [--repo R] [--since T] [--format text|json]
                           read the audit log of syncs
  deliveries [--state dead] list webhook deliveries in the inbox`
