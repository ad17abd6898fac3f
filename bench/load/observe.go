package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tinyforge/tinyforge-bot/app"
	"github.com/tinyforge/tinyforge-bot/internal/githubtest"
)

// calls is the API cost of one event kind.
type calls struct {
	GitHub       float64 `json:"github"`
	Tinyforge    float64 `json:"tinyforge"`
	GitHubMin    float64 `json:"github_min"`
	TinyforgeMin float64 `json:"tinyforge_min"`
	GitHub304    float64 `json:"github_304"` // of GitHub: conditional requests answered "not modified" (free for the rate limit)
}

// minimum is the fewest calls each kind needs; docs/performance.md explains
// each figure.
var minimum = map[string]calls{
	kindPush:        {GitHubMin: 0, TinyforgeMin: 0},
	kindPR:          {GitHubMin: 4, TinyforgeMin: 1},
	kindCommentPlan: {GitHubMin: 5, TinyforgeMin: 1},
	kindCommentHelp: {GitHubMin: 2, TinyforgeMin: 0},
}

type result struct {
	Deliveries, Acked, Failed, Concurrency int
	Mix                                    string
	Counts                                 map[string]int
	AckedPerS, AckP50, AckP99, AckMax      float64
	SendSeconds                            float64
	E2EP50, E2EP99, ProcessedPerS          float64
	E2EByKind                              map[string][2]float64
	Lost, Duplicated                       *int
	LostDetail, DupDetail                  string
	Retries                                int
	PeakRSSMB, BaselineRSSMB               float64
	HarnessPeakRSSMB                       float64 // with --spawn: this process (fakes + load generator)
	Spawned                                bool
	CPUFloor, StoreFloor                   float64
	CPURatio, StoreRatio                   float64
	Calls                                  map[string]calls
	SharedGitHub, SharedTinyforge          int
	InProcess                              bool
	GoMaxProcs                             int
	Note                                   string
	FailureSamples                         []string
}

// observe reads what the run left behind: the inbox rows, the fakes' call
// logs, check runs and comments, and the bot's metrics.
func observe(env *app.FakeEnv, fx *fixture, sent sendResult, r *result) error {
	ctx := context.Background()
	lost, dup := 0, 0
	var lostWhy, dupWhy []string

	// Inbox rows: state and timestamps of every delivery we sent.
	db, err := sql.Open("sqlite", env.Config.Store.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT id, state, attempts, received_ns, finished_ns, last_error FROM deliveries`)
	if err != nil {
		return fmt.Errorf("read inbox: %w", err)
	}
	type row struct {
		state, lastError   string
		attempts           int
		received, finished int64
	}
	inbox := map[string]row{}
	for rows.Next() {
		var id string
		var x row
		if err := rows.Scan(&id, &x.state, &x.attempts, &x.received, &x.finished, &x.lastError); err != nil {
			rows.Close()
			return err
		}
		inbox[id] = x
	}
	rows.Close()
	e2e := map[string][]time.Duration{}
	var all []time.Duration
	var first, last int64 = math.MaxInt64, 0
	notDone := 0
	byState := map[string]int{}
	lastErr := ""
	for i := range fx.deliveries {
		d := &fx.deliveries[i]
		if !sent.ackedIDs[i] {
			continue
		}
		x, ok := inbox[d.id]
		if !ok || x.state != "done" {
			notDone++
			byState[x.state]++ // "" = never stored
			if x.lastError != "" && lastErr == "" {
				lastErr = x.lastError
			}
			continue
		}
		if x.attempts > 1 {
			r.Retries++
		}
		took := time.Duration(x.finished - x.received)
		e2e[d.kind] = append(e2e[d.kind], took)
		all = append(all, took)
		first, last = min(first, x.received), max(last, x.finished)
	}
	if notDone > 0 {
		lost = notDone
		lostWhy = append(lostWhy, fmt.Sprintf("%d acked deliveries not done in the inbox (by state: %v; a last error: %.200q)", notDone, byState, lastErr))
	}
	slices.Sort(all)
	r.E2EP50, r.E2EP99 = ms(percentile(all, 50)), ms(percentile(all, 99))
	r.E2EByKind = map[string][2]float64{}
	for k, ds := range e2e {
		slices.Sort(ds)
		r.E2EByKind[k] = [2]float64{ms(percentile(ds, 50)), ms(percentile(ds, 99))}
	}
	if last > first {
		r.ProcessedPerS = float64(len(all)) / time.Duration(last-first).Seconds()
	}

	// Handler runs, from the bot's own metric: more "done" than deliveries
	// means a delivery was processed twice.
	if m, err := env.Scrape(); err == nil {
		done := metricSum(m, "tinyforge_bot_deliveries_processed_total", `outcome="done"`)
		if extra := int(done) - sent.acked; extra > 0 {
			dup = max(dup, extra)
			dupWhy = append(dupWhy, fmt.Sprintf("%d more deliveries processed than acked", extra))
		}
	}

	// Side effects: one check run per PR delivery (one workload per repo),
	// one bot reply per comment delivery.
	expectedChecks := map[string]int{}
	expectedReplies := map[string]int{}
	for i := range fx.deliveries {
		d := &fx.deliveries[i]
		if !sent.ackedIDs[i] {
			continue
		}
		switch d.kind {
		case kindPR:
			expectedChecks[d.repo+"@"+d.key]++
		case kindCommentPlan, kindCommentHelp:
			expectedReplies[d.key]++
		}
	}
	gotChecks := map[string]int{}
	incomplete := 0
	for _, repo := range reposOf(kindPR) {
		for _, cr := range env.GitHub.CheckRuns(repo) {
			gotChecks[repo+"@"+cr.HeadSHA]++
			if cr.Status != "completed" {
				incomplete++
			}
		}
	}
	short, extra := compare(expectedChecks, gotChecks)
	if short > 0 || incomplete > 0 {
		lost = max(lost, short, incomplete)
		lostWhy = append(lostWhy, fmt.Sprintf("%d PR deliveries without a check run, %d check runs not completed", short, incomplete))
	}
	if extra > 0 {
		dup = max(dup, extra)
		dupWhy = append(dupWhy, fmt.Sprintf("%d check runs more than PR deliveries", extra))
	}
	gotReplies := map[string]int{}
	bot := env.GitHub.BotLogin()
	for key := range expectedReplies {
		repo, num, _ := strings.Cut(key, "#")
		issue, _ := strconv.Atoi(num)
		for _, c := range env.GitHub.Comments(repo, issue) {
			if c.User.Login == bot {
				gotReplies[key]++
			}
		}
	}
	short, extra = compare(expectedReplies, gotReplies)
	if short > 0 {
		lost = max(lost, short)
		lostWhy = append(lostWhy, fmt.Sprintf("%d comment deliveries without a reply", short))
	}
	if extra > 0 {
		dup = max(dup, extra)
		dupWhy = append(dupWhy, fmt.Sprintf("%d replies more than comment deliveries", extra))
	}
	r.Lost, r.Duplicated = &lost, &dup
	r.LostDetail, r.DupDetail = strings.Join(lostWhy, "; "), strings.Join(dupWhy, "; ")

	// Calls per event kind, attributed by repository (GitHub) and workload
	// (Tinyforge). Calls not about one repository (installation tokens,
	// the cached workload list) are shared overhead, reported apart.
	ghBy := map[string]int{}
	gh304 := map[string]int{}
	for _, c := range env.GitHub.Calls() {
		k := kindOfPath(c.Path)
		if k == "" {
			r.SharedGitHub++
			continue
		}
		ghBy[k]++
		if c.Status == 304 {
			gh304[k]++
		}
	}
	tfBy := map[string]int{}
	for _, q := range env.Tinyforge.Requests() {
		k, ok := fx.workloadKind[q.WorkloadID]
		if q.WorkloadID == "" || !ok {
			r.SharedTinyforge++
			continue
		}
		tfBy[k]++
	}
	r.Calls = map[string]calls{}
	for _, k := range kinds {
		n := 0
		for i := range fx.deliveries {
			if fx.deliveries[i].kind == k && sent.ackedIDs[i] {
				n++
			}
		}
		if n == 0 {
			continue
		}
		c := minimum[k]
		c.GitHub = round2(float64(ghBy[k]) / float64(n))
		c.GitHub304 = round2(float64(gh304[k]) / float64(n))
		c.Tinyforge = round2(float64(tfBy[k]) / float64(n))
		r.Calls[k] = c
	}
	return nil
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func reposOf(kind string) []string {
	var out []string
	for i := range reposPerKind {
		out = append(out, repoName(kind, i))
	}
	return out
}

// kindOfPath maps /repos/load/<kind>-<n>/... to its kind.
func kindOfPath(p string) string {
	rest, ok := strings.CutPrefix(p, "/repos/load/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return ""
	}
	k := strings.ReplaceAll(name[:i], "-", "_")
	if _, ok := minimum[k]; !ok {
		return ""
	}
	return k
}

func compare(want, got map[string]int) (short, extra int) {
	for k, w := range want {
		g := got[k]
		if g < w {
			short += w - g
		} else {
			extra += g - w
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			extra += g
		}
	}
	return short, extra
}

// metricSum adds the samples of a metric family whose labels contain match.
func metricSum(text, name, match string) float64 {
	sum := 0.0
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, match) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

var _ = githubtest.RouteContents

func (r *result) jsonLine() map[string]any {
	m := map[string]any{
		"deliveries":             r.Deliveries,
		"acked":                  r.Acked,
		"failed":                 r.Failed,
		"concurrency":            r.Concurrency,
		"mix":                    r.Mix,
		"gomaxprocs":             r.GoMaxProcs,
		"acked_per_s":            math.Round(r.AckedPerS),
		"ack_p50_ms":             r.AckP50,
		"ack_p99_ms":             r.AckP99,
		"ack_max_ms":             r.AckMax,
		"peak_rss_mb":            r.PeakRSSMB,
		"baseline_rss_mb":        r.BaselineRSSMB,
		"cpu_floor_per_s":        math.Round(r.CPUFloor),
		"store_floor_per_s":      math.Round(r.StoreFloor),
		"acked_over_cpu_floor":   round2(r.CPURatio),
		"acked_over_store_floor": round2(r.StoreRatio),
		"in_process":             r.InProcess,
	}
	if r.Spawned {
		m["bot_process"] = "spawned"
		m["harness_peak_rss_mb"] = r.HarnessPeakRSSMB
	}
	if r.InProcess {
		m["e2e_p50_ms"], m["e2e_p99_ms"] = r.E2EP50, r.E2EP99
		m["e2e_by_kind_ms"] = r.E2EByKind
		m["processed_per_s"] = math.Round(r.ProcessedPerS)
		m["lost"], m["duplicated"] = *r.Lost, *r.Duplicated
		m["retries"] = r.Retries
		m["calls_per_event"] = r.Calls
		m["shared_calls"] = map[string]int{"github": r.SharedGitHub, "tinyforge": r.SharedTinyforge}
	} else {
		// Unobservable from outside the bot: null, not a made-up zero.
		for _, k := range []string{"e2e_p50_ms", "e2e_p99_ms", "processed_per_s", "lost", "duplicated", "calls_per_event"} {
			m[k] = nil
		}
		m["note"] = r.Note
	}
	return m
}

func printTable(w io.Writer, r *result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	where := "in process (FakeEnv: fake GitHub + fake Tinyforge + real bot on loopback)"
	if r.Spawned {
		where = "bot spawned as its own process (--spawn), fakes and load generator in this one, all on loopback"
	}
	if !r.InProcess {
		where = "remote bot (--url)"
	}
	p("target", "%s, GOMAXPROCS %d", where, r.GoMaxProcs)
	p("deliveries", "%d sent (%s: push %d, pr %d, plan %d, help %d), concurrency %d", r.Deliveries, r.Mix,
		r.Counts[kindPush], r.Counts[kindPR], r.Counts[kindCommentPlan], r.Counts[kindCommentHelp], r.Concurrency)
	p("acknowledged", "%d in %.2fs = %.0f/s (%d failed)", r.Acked, r.SendSeconds, r.AckedPerS, r.Failed)
	p("ack latency", "p50 %.2f ms  p99 %.2f ms  max %.2f ms", r.AckP50, r.AckP99, r.AckMax)
	p("floor: cpu", "%.0f verify+decode/s on %d cores -> acked/s is %.2fx of it", r.CPUFloor, r.GoMaxProcs, r.CPURatio)
	p("floor: store", "%.0f single-row commits/s -> acked/s is %.2fx of it", r.StoreFloor, r.StoreRatio)
	if r.InProcess {
		p("end to end", "received -> processed: p50 %.2f ms  p99 %.2f ms; processed %.0f/s", r.E2EP50, r.E2EP99, r.ProcessedPerS)
		for _, k := range kinds {
			if v, ok := r.E2EByKind[k]; ok {
				p("  "+k, "p50 %.2f ms  p99 %.2f ms", v[0], v[1])
			}
		}
		p("lost", "%d %s", *r.Lost, r.LostDetail)
		p("duplicated", "%d %s", *r.Duplicated, r.DupDetail)
		p("retries", "%d deliveries needed more than one attempt", r.Retries)
		p("calls per event", "GitHub (of which 304) / min   Tinyforge / min")
		for _, k := range kinds {
			if c, ok := r.Calls[k]; ok {
				p("  "+k, "%.2f (%.2f) / %.0f   %.2f / %.0f", c.GitHub, c.GitHub304, c.GitHubMin, c.Tinyforge, c.TinyforgeMin)
			}
		}
		p("  shared", "GitHub %d (installation tokens), Tinyforge %d (workload list, cached)", r.SharedGitHub, r.SharedTinyforge)
	} else {
		p("note", "%s", r.Note)
	}
	if r.Spawned {
		p("rss", "peak %.1f MB: the bot's own process (the fakes and load generator peaked at %.1f MB)", r.PeakRSSMB, r.HarnessPeakRSSMB)
	} else {
		p("rss", "peak %.1f MB (whole process: bot, fakes and load generator; %.1f MB before the load)", r.PeakRSSMB, r.BaselineRSSMB)
	}
	for _, f := range r.FailureSamples {
		p("failure", "%s", f)
	}
	tw.Flush()
}
