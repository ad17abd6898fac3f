package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/tinyforge/tinyforge-bot/internal/githubtest"
	"github.com/tinyforge/tinyforge-bot/tinyforge"
)

// Event kinds of the mix. The comment share is split evenly between
// /tinyforge plan and /tinyforge help (neither changes Tinyforge state).
const (
	kindPush        = "push"
	kindPR          = "pr"
	kindCommentPlan = "comment_plan"
	kindCommentHelp = "comment_help"
)

var kinds = []string{kindPush, kindPR, kindCommentPlan, kindCommentHelp}

// Every kind has repositories of its own, so each GitHub and Tinyforge call
// can be attributed to the kind that caused it from its path alone.
const (
	reposPerKind = 8
	prsPerRepo   = 8
	commentsPer  = 5 // distinct comments per comment repository
)

const (
	inSyncFile = "version: 1\ndeploy:\n  port: 8080\n  healthcheck: /healthz\n"
	driftFile  = "version: 1\ndeploy:\n  port: 9090\n  healthcheck: /healthz\n"
)

var liveConfig = map[string]any{"port": 8080, "healthcheck": "/healthz", "deploy_strategy": "recreate", "dockerfile_path": "Dockerfile"}

func repoName(kind string, i int) string {
	return fmt.Sprintf("load/%s-%d", strings.ReplaceAll(kind, "_", "-"), i)
}

// body is a signed request body shared by deliveries. A body with a
// non-empty sub is a template: each delivery replaces sub with its own
// value (a PR head SHA) and is signed when it is sent.
type body struct {
	event string
	raw   []byte
	sig   string
	sub   string
}

// delivery is one webhook to send.
type delivery struct {
	id    string
	kind  string
	body  *body
	with  string // replaces body.sub ("" = send body as is)
	repo  string // fixture repo
	key   string // what its side effect is keyed on: head SHA (PR) or issue (comments)
	index int
}

// fixture is the fake world the deliveries are built for, with what each
// delivery is expected to leave behind.
type fixture struct {
	secret     string
	deliveries []delivery
	// expected side effects, to detect lost or duplicated processing
	checksPerSHA    map[string]int // repo@sha → check runs expected (one workload per repo)
	repliesPerIssue map[string]int // repo#issue → bot comments expected
	workloadKind    map[tinyforge.ID]string
	bodies          map[string][]*body // kind → distinct bodies (for the CPU floor)
}

func sign(secret string, b []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(b)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// parseMix reads "push=70,pr=20,comment=10".
func parseMix(s string) (map[string]float64, error) {
	w := map[string]float64{}
	total := 0.0
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		var f float64
		if _, err := fmt.Sscanf(v, "%g", &f); !ok || err != nil || f < 0 {
			return nil, fmt.Errorf("mix %q: want kind=weight,...", s)
		}
		switch k {
		case "push":
			w[kindPush] += f
		case "pr":
			w[kindPR] += f
		case "comment":
			w[kindCommentPlan] += f / 2
			w[kindCommentHelp] += f / 2
		case "plan":
			w[kindCommentPlan] += f
		case "help":
			w[kindCommentHelp] += f
		default:
			return nil, fmt.Errorf("mix: unknown kind %q (push, pr, comment, plan, help)", k)
		}
		total += f
	}
	if total <= 0 {
		return nil, fmt.Errorf("mix %q: weights sum to 0", s)
	}
	for k := range w {
		w[k] /= total
	}
	return w, nil
}

// counts splits total by the mix, exactly.
func counts(total int, mix map[string]float64) map[string]int {
	out := map[string]int{}
	left := total
	for i, k := range kinds {
		n := int(float64(total)*mix[k] + 0.5)
		if i == len(kinds)-1 || n > left {
			n = left
		}
		out[k] = n
		left -= n
	}
	if left > 0 {
		out[kindPush] += left
	}
	return out
}

// adder is what building the fixture needs from the fake world: FakeEnv in
// process, or a private fake GitHub when targeting --url.
type adder interface {
	addRepo(fullName, workload string) tinyforge.ID
}

// buildFixture creates repositories, commits, PRs and comments on gh and
// the deliveries that exercise them. Each PR delivery has its own head
// commit that changes .tinyforge.yml, so every PR delivery is real work and
// its check run can be told apart; pushes (which cost nothing) and comments
// share a few distinct bodies, each delivery with its own delivery ID.
func buildFixture(gh *githubtest.Server, add adder, secret string, n map[string]int, seed uint64) (*fixture, error) {
	f := &fixture{
		secret: secret, checksPerSHA: map[string]int{}, repliesPerIssue: map[string]int{},
		workloadKind: map[tinyforge.ID]string{}, bodies: map[string][]*body{},
	}
	marshal := func(p map[string]any) ([]byte, error) { return json.Marshal(p) }
	id := 0
	next := func() string { id++; return fmt.Sprintf("load-%d-%06d", seed, id) }

	// Pushes that do not touch the file: a few commits to README per repo.
	var pushBodies []*body
	for r := range reposPerKind {
		repo := repoName(kindPush, r)
		f.workloadKind[add.addRepo(repo, fmt.Sprintf("push-%d", r))] = kindPush
		for c := range 10 {
			readme := fmt.Sprintf("readme %d", c)
			before := gh.Head(repo, "main")
			after := gh.Commit(repo, "main", map[string]*string{"README.md": &readme}, "docs")
			raw, err := marshal(gh.PushPayload(repo, "main", before, after, githubtest.PushOptions{}))
			if err != nil {
				return nil, err
			}
			pushBodies = append(pushBodies, &body{event: "push", raw: raw, sig: sign(secret, raw)})
		}
	}
	f.bodies[kindPush] = pushBodies
	for i := range n[kindPush] {
		b := pushBodies[i%len(pushBodies)]
		f.deliveries = append(f.deliveries, delivery{id: next(), kind: kindPush, body: b})
	}

	// PRs: one new head commit per delivery, touching .tinyforge.yml.
	if n[kindPR] > 0 {
		type pr struct {
			repo   string
			number int
			branch string
			tmpl   *body // synchronize payload at the first head, SHA substituted per delivery
			heads  []string
		}
		var prs []*pr
		for r := range reposPerKind {
			repo := repoName(kindPR, r)
			f.workloadKind[add.addRepo(repo, fmt.Sprintf("pr-%d", r))] = kindPR
			for p := range prsPerRepo {
				branch := fmt.Sprintf("change-%d", p)
				gh.CreateBranch(repo, branch, "main")
				file := driftFile
				sha := gh.Commit(repo, branch, map[string]*string{".tinyforge.yml": &file}, "change deploy config")
				x := &pr{repo: repo, branch: branch, number: gh.OpenPR(repo, branch, "main"), heads: []string{sha}}
				raw, err := marshal(gh.PullRequestPayload("synchronize", repo, x.number))
				if err != nil {
					return nil, err
				}
				x.tmpl = &body{event: "pull_request", raw: raw, sub: sha}
				prs = append(prs, x)
			}
		}
		for i := range n[kindPR] {
			x := prs[i%len(prs)]
			if i >= len(prs) {
				// Alternate drift and in-sync files, each commit unique.
				file := fmt.Sprintf("# revision %d\n%s", i, inSyncFile)
				if i%2 == 0 {
					file = fmt.Sprintf("# revision %d\n%s", i, driftFile)
				}
				x.heads = append(x.heads, gh.Commit(x.repo, x.branch, map[string]*string{".tinyforge.yml": &file}, "revise"))
			}
			sha := x.heads[len(x.heads)-1]
			f.checksPerSHA[x.repo+"@"+sha]++
			f.deliveries = append(f.deliveries, delivery{id: next(), kind: kindPR, body: x.tmpl, with: sha, repo: x.repo, key: sha})
		}
		for _, x := range prs {
			b := *x.tmpl
			b.sig = sign(secret, b.raw)
			f.bodies[kindPR] = append(f.bodies[kindPR], &b)
		}
	}

	// Comments: /tinyforge plan and /tinyforge help on issues.
	for _, kind := range []string{kindCommentPlan, kindCommentHelp} {
		if n[kind] == 0 {
			continue
		}
		text := "/tinyforge plan"
		if kind == kindCommentHelp {
			text = "/tinyforge help"
		}
		type cm struct {
			repo  string
			issue int
			b     *body
		}
		var cms []cm
		for r := range reposPerKind {
			repo := repoName(kind, r)
			f.workloadKind[add.addRepo(repo, fmt.Sprintf("%s-%d", strings.ReplaceAll(kind, "_", "-"), r))] = kind
			issue := gh.AddIssue(repo, "", "load")
			for range commentsPer {
				c := gh.AddComment(repo, issue, "load", text)
				raw, err := marshal(gh.IssueCommentPayload("created", repo, issue, c, ""))
				if err != nil {
					return nil, err
				}
				cms = append(cms, cm{repo: repo, issue: issue, b: &body{event: "issue_comment", raw: raw, sig: sign(secret, raw)}})
			}
		}
		for _, c := range cms {
			f.bodies[kind] = append(f.bodies[kind], c.b)
		}
		for i := range n[kind] {
			c := cms[i%len(cms)]
			key := fmt.Sprintf("%s#%d", c.repo, c.issue)
			f.repliesPerIssue[key]++
			f.deliveries = append(f.deliveries, delivery{id: next(), kind: kind, body: c.b, repo: c.repo, key: key})
		}
	}

	rng := rand.New(rand.NewPCG(seed, 7))
	rng.Shuffle(len(f.deliveries), func(i, j int) { f.deliveries[i], f.deliveries[j] = f.deliveries[j], f.deliveries[i] })
	for i := range f.deliveries {
		f.deliveries[i].index = i
	}
	return f, nil
}

// payload returns the bytes and signature to send for d.
func (f *fixture) payload(d *delivery) ([]byte, string) {
	if d.with == "" {
		return d.body.raw, d.body.sig
	}
	raw := bytes.ReplaceAll(d.body.raw, []byte(d.body.sub), []byte(d.with))
	return raw, sign(f.secret, raw)
}
