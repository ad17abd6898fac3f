package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge-bot/internal/githubtest"
	"github.com/tinyforge/tinyforge-bot/store"
)

// demoWait bounds each step; the steps take milliseconds, this only turns a
// hang into a clear failure.
const demoWait = 30 * time.Second

func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("verbose", false, "also print the bot's own log lines (JSON) to stderr")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	var logs io.Writer
	if *verbose {
		logs = stderr
	}
	d := &demo{out: stdout}
	if err := d.run(logs); err != nil {
		fmt.Fprintf(stdout, "\n✗ demo failed: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "\n✓ every step turned out as narrated")
	return 0
}

type demo struct {
	out  io.Writer
	env  *FakeEnv
	step int
}

const (
	demoRepo     = "acme/web"
	demoWorkload = "web"
	demoFile     = "# Deploy config of acme/web, applied by Tinyforge on /tinyforge sync.\nversion: 1\ndeploy:\n  port: 8080\n  healthcheck: /healthz\n  deploy_strategy: blue-green\n"
)

func (d *demo) say(format string, a ...any) { fmt.Fprintf(d.out, format+"\n", a...) }

func (d *demo) heading(title string) {
	d.step++
	d.say("\n── Step %d: %s", d.step, title)
}

// show prints what a user sees on GitHub, framed.
func (d *demo) show(label, body string) {
	d.say("   ┌─ %s", label)
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		d.say("   │ %s", line)
	}
	d.say("   └─")
}

func (d *demo) run(logs io.Writer) error {
	dir, err := os.MkdirTemp("", "tinyforge-bot-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env, err := NewFakeEnv(FakeEnvOptions{Dir: dir, LogOutput: logs})
	if err != nil {
		return err
	}
	defer env.Close()
	d.env = env
	gh := env.GitHub

	d.say("tinyforge-bot demo: a fake GitHub (%s) and a fake Tinyforge (%s) on loopback,", gh.BaseURL(), env.Tinyforge.URL())
	d.say("and the real bot (%s) with its SQLite store in %s.", env.URL, dir)

	d.heading("a repository whose .tinyforge.yml matches the live workload")
	id := env.AddRepo(demoRepo, demoWorkload, demoFile, map[string]any{"port": 8080, "healthcheck": "/healthz", "deploy_strategy": "blue-green", "dockerfile_path": "Dockerfile"})
	gh.SetPermission(demoRepo, "alice", "admin")
	gh.SetPermission(demoRepo, "bob", "write")
	d.say("   %s has .tinyforge.yml on main; Tinyforge workload %q (id %s) tracks main with port 8080.", demoRepo, demoWorkload, id)
	d.say("   alice is a repository admin; bob can write.")

	d.heading("bob opens a pull request that changes the port to 9090")
	gh.CreateBranch(demoRepo, "port-9090", "main")
	changed := strings.Replace(demoFile, "port: 8080", "port: 9090", 1)
	head := gh.CommitAs(demoRepo, "port-9090", "bob", map[string]*string{".tinyforge.yml": &changed}, "Serve on 9090")
	pr := gh.OpenPR(demoRepo, "port-9090", "main")
	if err := d.deliver("pull_request", gh.PullRequestPayload("opened", demoRepo, pr)); err != nil {
		return err
	}
	cr, err := d.check(head)
	if err != nil {
		return err
	}
	if cr.Conclusion != "neutral" || !strings.Contains(cr.Output.Summary, "`deploy.port` | `9090` | `8080`") {
		return fmt.Errorf("PR check is %s, want neutral with a deploy.port 9090 → 8080 row:\n%s", cr.Conclusion, cr.Output.Summary)
	}
	d.say("   The PR's checks show tinyforge/%s: %s — %s", demoWorkload, cr.Conclusion, cr.Output.Title)
	d.show("check run summary (markdown)", cr.Output.Summary)

	d.heading("bob comments /tinyforge sync on the PR: he is not an admin")
	reply, reactions, err := d.command(pr, "bob", "/tinyforge sync")
	if err != nil {
		return err
	}
	if !strings.Contains(reply, "needs the **admin** role") || !slices.Contains(reactions, "confused") {
		return fmt.Errorf("bob's sync was not denied: reactions %v, reply %q", reactions, reply)
	}
	if n := len(env.Tinyforge.Events()); n != 0 {
		return fmt.Errorf("Tinyforge recorded %d syncs after a denied command", n)
	}
	d.say("   Reactions on bob's comment: %s", emoji(reactions))
	d.show("the bot's reply", reply)

	d.heading("the PR is merged into main; the push is checked")
	before := gh.Head(demoRepo, "main")
	merged := gh.MergePR(demoRepo, pr)
	if err := d.deliver("push", gh.PushPayload(demoRepo, "main", before, merged, githubtest.PushOptions{Sender: "bob"})); err != nil {
		return err
	}
	if cr, err = d.check(merged); err != nil {
		return err
	}
	if cr.Conclusion != "neutral" {
		return fmt.Errorf("merge commit check is %s, want neutral (drift, sync pending)", cr.Conclusion)
	}
	d.say("   main at %s: tinyforge/%s %s — %s", shortSHA(merged), demoWorkload, cr.Conclusion, cr.Output.Title)

	d.heading("alice, an admin, comments /tinyforge sync")
	reply, reactions, err = d.command(pr, "alice", "/tinyforge sync")
	if err != nil {
		return err
	}
	live, _ := env.Tinyforge.Workload(id)
	events := env.Tinyforge.Events()
	if fmt.Sprint(live.SourceConfig["port"]) != "9090" || len(events) != 1 || events[0].SHA != merged {
		return fmt.Errorf("Tinyforge was not synced to %s: live port %v, events %+v", shortSHA(merged), live.SourceConfig["port"], events)
	}
	if !slices.Equal(reactions, []string{"eyes", "rocket"}) {
		return fmt.Errorf("reactions on alice's comment = %v, want 👀 🚀", reactions)
	}
	d.say("   Reactions on alice's comment: %s", emoji(reactions))
	d.show("the bot's reply", reply)
	d.say("   Tinyforge: workload %q now has port %v (event %s, commit %s).", demoWorkload, live.SourceConfig["port"], events[0].ID, shortSHA(events[0].SHA))
	if err := WaitFor(demoWait, "the merge commit's check to turn green", func() bool {
		c, ok := env.CompletedCheck(demoRepo, "tinyforge/"+demoWorkload, merged)
		cr = c
		return ok && c.Conclusion == "success"
	}); err != nil {
		return err
	}
	d.say("   main at %s: tinyforge/%s %s — %s", shortSHA(merged), demoWorkload, cr.Conclusion, cr.Output.Title)

	d.heading("the audit log (tinyforge-bot audit)")
	recs, err := env.Server.Store().ListAudit(context.Background(), store.AuditFilter{})
	if err != nil {
		return err
	}
	var outcomes []string
	for _, r := range recs {
		outcomes = append(outcomes, r.Outcome)
	}
	if !slices.Equal(outcomes, []string{"denied", "applied"}) {
		return fmt.Errorf("audit outcomes = %v, want [denied applied]", outcomes)
	}
	var table strings.Builder
	writeAuditTable(&table, recs)
	d.show("audit", table.String())

	d.heading("what /metrics shows an operator")
	metrics, err := env.Scrape()
	if err != nil {
		return err
	}
	for _, family := range []string{"tinyforge_bot_webhooks_total", "tinyforge_bot_deliveries_processed_total", "tinyforge_bot_github_requests_total",
		"tinyforge_bot_tinyforge_requests_total", "tinyforge_bot_syncs_total", "tinyforge_bot_check_runs_total"} {
		total, lines := sumFamily(metrics, family)
		if total == 0 {
			return fmt.Errorf("metric family %s is zero after the demo", family)
		}
		d.say("   %-45s %4.0f  (%d series)", family, total, lines)
	}
	return nil
}

// deliver signs and posts a webhook like GitHub does and waits until the bot
// has processed it.
func (d *demo) deliver(event string, payload map[string]any) error {
	status, id, err := d.env.Send(event, payload)
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return fmt.Errorf("%s webhook %s answered %d", event, id, status)
	}
	d.say("   → GitHub delivers %s (%s): the bot answers %d and queues it durably", event, id, status)
	return WaitFor(demoWait, event+" to be processed", d.env.Idle)
}

func (d *demo) check(sha string) (githubtest.CheckRun, error) {
	var cr githubtest.CheckRun
	err := WaitFor(demoWait, "the check run on "+shortSHA(sha), func() bool {
		var ok bool
		cr, ok = d.env.CompletedCheck(demoRepo, "tinyforge/"+demoWorkload, sha)
		return ok
	})
	return cr, err
}

// command posts a comment as login, delivers it and returns the bot's reply
// and the reactions on the comment.
func (d *demo) command(issue int, login, body string) (string, []string, error) {
	gh := d.env.GitHub
	c := gh.AddComment(demoRepo, issue, login, body)
	if err := d.deliver("issue_comment", gh.IssueCommentPayload("created", demoRepo, issue, c, "")); err != nil {
		return "", nil, err
	}
	var reply string
	for _, cm := range gh.Comments(demoRepo, issue) {
		if cm.ID > c.ID && cm.User.Type == "Bot" {
			reply = cm.Body
		}
	}
	if reply == "" {
		return "", nil, fmt.Errorf("no reply to %s's %q", login, body)
	}
	return reply, gh.Reactions(demoRepo, c.ID), nil
}

func emoji(reactions []string) string {
	names := map[string]string{"eyes": "👀", "rocket": "🚀", "confused": "😕"}
	var out []string
	for _, r := range reactions {
		out = append(out, names[r])
	}
	return strings.Join(out, " ")
}

// sumFamily adds up the samples of a metric family in Prometheus text format.
func sumFamily(text, family string) (float64, int) {
	total, n := 0.0, 0
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, family+"{") && !strings.HasPrefix(line, family+" ") {
			continue
		}
		var v float64
		if _, err := fmt.Sscanf(line[strings.LastIndex(line, " ")+1:], "%g", &v); err == nil {
			total += v
			n++
		}
	}
	return total, n
}
