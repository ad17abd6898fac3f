// Command load replays signed GitHub webhooks at the bot and measures it
// against the floor of this machine: acknowledged deliveries per second, ack
// latency, end-to-end processing time, API calls per event kind next to the
// minimum each kind needs, peak RSS, lost and duplicated deliveries, the
// CPU floor of acknowledging (HMAC-SHA256 + JSON decode) and the store's
// raw insert rate. See docs/performance.md.
//
//	go run ./bench/load [--total 20000] [--concurrency 64] [--mix push=70,pr=20,comment=10]
//	                    [--url http://host:port --secret S] [--json-only] [--cpuprofile FILE]
//
// It prints a table and, last, one JSON line. It exits 1 when a delivery was
// lost or processed twice, 2 on a setup error.
package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tinyforge/tinyforge-bot/app"
	"github.com/tinyforge/tinyforge-bot/internal/githubtest"
	"github.com/tinyforge/tinyforge-bot/tinyforge"
)

type options struct {
	total, concurrency, workers int
	mix                         string
	url, secret, spawn          string
	jsonOnly                    bool
	cpuprofile, memprofile      string
	timeout, drainTimeout       time.Duration
	floorFor                    time.Duration
	seed                        uint64
}

func main() {
	var o options
	flag.IntVar(&o.total, "total", 20000, "deliveries to send")
	flag.IntVar(&o.concurrency, "concurrency", 64, "concurrent senders")
	flag.StringVar(&o.mix, "mix", "push=70,pr=20,comment=10", "event mix: push (not touching .tinyforge.yml), pr (touching it), comment (/tinyforge plan and help, half each); also plan=, help=")
	flag.StringVar(&o.url, "url", "", "target a running bot at this base URL instead of the in-process one (calls, e2e, lost and duplicated cannot be observed then)")
	flag.StringVar(&o.secret, "secret", os.Getenv("GITHUB_APP_WEBHOOK_SECRET"), "webhook secret of the bot at --url")
	flag.StringVar(&o.spawn, "spawn", "", "run the bot as a process of its own from this binary (\"build\": go build it first) against this process's fakes, so that its memory is measured alone")
	flag.IntVar(&o.workers, "workers", 0, "inbox workers of the in-process bot (0 = the bot's default)")
	flag.BoolVar(&o.jsonOnly, "json-only", false, "print only the JSON line")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the load and drain phases to this file")
	flag.StringVar(&o.memprofile, "memprofile", "", "write a heap (alloc) profile at the end to this file")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "bound on the sending phase")
	flag.DurationVar(&o.drainTimeout, "drain-timeout", 10*time.Minute, "bound on waiting for the inbox to drain")
	flag.DurationVar(&o.floorFor, "floor-time", 2*time.Second, "how long each floor is measured")
	flag.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()%1e9), "seed of the delivery order and IDs")
	flag.Parse()
	code, err := run(o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
	}
	os.Exit(code)
}

// envAdder builds the fixture in FakeEnv: repo, file and workload, each
// repository in an installation of its own. GitHub allows 5,000 requests an
// hour per installation, and the default load needs about 23,000: in one
// installation the run would measure the rate limit, not the bot (see
// docs/performance.md).
type envAdder struct {
	e    *app.FakeEnv
	next *int64
}

func (a envAdder) addRepo(full, workload string) tinyforge.ID {
	*a.next++
	gh := a.e.GitHub
	gh.AddRepo(full, "main")
	gh.AddInstallation(*a.next, full)
	file := inSyncFile
	gh.Commit(full, "main", map[string]*string{".tinyforge.yml": &file}, "Add .tinyforge.yml")
	cfg := map[string]any{"repo_url": "https://github.com/" + full + ".git", "branch": "main"}
	for k, v := range liveConfig {
		cfg[k] = v
	}
	return a.e.Tinyforge.AddWorkload(tinyforge.Workload{Name: workload, Source: "dockerfile", SourceConfig: cfg, GitOpsEnabled: true, GitOpsPath: ".tinyforge.yml"})
}

// ghAdder builds payloads only, for --url.
type ghAdder struct{ gh *githubtest.Server }

func (a ghAdder) addRepo(full, _ string) tinyforge.ID {
	a.gh.AddRepo(full, "main")
	f := inSyncFile
	a.gh.Commit(full, "main", map[string]*string{".tinyforge.yml": &f}, "Add .tinyforge.yml")
	return tinyforge.ID(full)
}

func run(o options, stdout io.Writer) (int, error) {
	if o.total <= 0 || o.concurrency <= 0 {
		return 2, errors.New("--total and --concurrency must be positive")
	}
	mix, err := parseMix(o.mix)
	if err != nil {
		return 2, err
	}
	n := counts(o.total, mix)
	say := func(format string, args ...any) {
		if !o.jsonOnly {
			fmt.Fprintf(os.Stderr, format+"\n", args...)
		}
	}

	// The world.
	var (
		env    *app.FakeEnv
		gh     *githubtest.Server
		add    adder
		target string
		secret string
	)
	var bot *spawned
	if o.url == "" {
		env, err = app.NewFakeEnv(app.FakeEnvOptions{Workers: o.workers, NoServer: o.spawn != ""})
		if err != nil {
			return 2, err
		}
		defer env.Close()
		if o.spawn != "" {
			if bot, err = spawnBot(env, o.spawn); err != nil {
				return 2, err
			}
			defer bot.stop()
		}
		inst := int64(100)
		gh, add, target, secret = env.GitHub, envAdder{env, &inst}, env.URL, env.WebhookSecret
	} else {
		if o.secret == "" {
			return 2, errors.New("--url needs --secret (or GITHUB_APP_WEBHOOK_SECRET)")
		}
		gh = githubtest.New()
		defer gh.Close()
		add, target, secret = ghAdder{gh}, strings.TrimRight(o.url, "/"), o.secret
	}
	say("building %d deliveries %v ...", o.total, n)
	fx, err := buildFixture(gh, add, secret, n, o.seed)
	if err != nil {
		return 2, err
	}

	// The floors, before the load so they do not compete with it.
	tmp, err := os.MkdirTemp("", "tinyforge-load-floor-")
	if err != nil {
		return 2, err
	}
	defer os.RemoveAll(tmp)
	say("measuring the floors (%v each) ...", o.floorFor)
	cpuFl, err := cpuFloor(fx, mix, o.floorFor)
	if err != nil {
		return 2, err
	}
	storeFl, err := storeFloor(tmp, fx.deliveries[0].body.raw, o.floorFor, 20000)
	if err != nil {
		return 2, err
	}

	if env != nil {
		env.GitHub.ResetCalls()
		env.Tinyforge.ResetRequests()
	}
	runtime.GC()
	baseRSS := procStatusMB("VmRSS")

	if o.cpuprofile != "" {
		pf, err := os.Create(o.cpuprofile)
		if err != nil {
			return 2, err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return 2, err
		}
		defer func() { pprof.StopCPUProfile(); pf.Close() }()
	}

	say("sending to %s with %d senders ...", target, o.concurrency)
	sent := send(fx, target+"/api/github/hook", o.concurrency, o.timeout)

	r := result{
		Deliveries: o.total, Acked: sent.acked, Failed: sent.failed, Concurrency: o.concurrency, Mix: o.mix, Counts: n,
		AckedPerS:      float64(sent.acked) / sent.window.Seconds(),
		AckP50:         ms(percentile(sent.latencies, 50)),
		AckP99:         ms(percentile(sent.latencies, 99)),
		AckMax:         ms(percentile(sent.latencies, 100)),
		CPUFloor:       cpuFl,
		StoreFloor:     storeFl,
		BaselineRSSMB:  baseRSS,
		InProcess:      env != nil,
		GoMaxProcs:     runtime.GOMAXPROCS(0),
		SendSeconds:    sent.window.Seconds(),
		FailureSamples: sent.failures,
	}
	r.CPURatio = r.AckedPerS / cpuFl
	r.StoreRatio = r.AckedPerS / storeFl

	code := 0
	if env != nil {
		say("waiting for the inbox to drain ...")
		if err := drain(env.Config.Store.DSN, o.drainTimeout); err != nil {
			say("%v", err)
		}
		if err := observe(env, fx, sent, &r); err != nil {
			return 2, err
		}
		if *r.Lost > 0 || *r.Duplicated > 0 {
			code = 1
		}
	} else {
		r.Note = "--url: the bot runs elsewhere, so API calls per event, end-to-end latency, processed/s, lost and duplicated cannot be observed from here; only acknowledgement figures are measured"
	}
	r.PeakRSSMB = procStatusMB("VmHWM")
	if bot != nil {
		r.HarnessPeakRSSMB, r.PeakRSSMB, r.Spawned = r.PeakRSSMB, bot.peakRSSMB(), true
	}
	if sent.failed > 0 {
		code = 1
	}
	if o.memprofile != "" {
		if mf, err := os.Create(o.memprofile); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(mf, 0)
			mf.Close()
		}
	}
	if !o.jsonOnly {
		printTable(stdout, &r)
	}
	line, err := json.Marshal(r.jsonLine())
	if err != nil {
		return 2, err
	}
	fmt.Fprintln(stdout, string(line))
	return code, nil
}

type sendResult struct {
	acked, failed int
	window        time.Duration
	latencies     []time.Duration
	ackedIDs      []bool // by delivery index
	failures      []string
}

// send posts every delivery with conc senders, each request timed from
// just before it is sent to the end of the 2xx answer.
func send(fx *fixture, url string, conc int, timeout time.Duration) sendResult {
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: conc, MaxIdleConnsPerHost: conc, DisableCompression: true, IdleConnTimeout: time.Minute,
		},
	}
	defer client.CloseIdleConnections()
	lat := make([]time.Duration, len(fx.deliveries))
	ok := make([]bool, len(fx.deliveries))
	var next atomic.Int64
	var mu sync.Mutex
	var failures []string
	var failed atomic.Int64
	deadline := time.Now().Add(timeout)
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= len(fx.deliveries) {
					return
				}
				d := &fx.deliveries[i]
				raw, sig := fx.payload(d)
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
				if err != nil {
					failed.Add(1)
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", d.body.event)
				req.Header.Set("X-GitHub-Delivery", d.id)
				req.Header.Set("X-Hub-Signature-256", sig)
				req.Header.Set("User-Agent", "GitHub-Hookshot/load")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				took := time.Since(t0)
				if err != nil || resp.StatusCode/100 != 2 {
					failed.Add(1)
					mu.Lock()
					if len(failures) < 5 {
						if err != nil {
							failures = append(failures, err.Error())
						} else {
							failures = append(failures, fmt.Sprintf("%s: HTTP %d", d.id, resp.StatusCode))
						}
					}
					mu.Unlock()
					continue
				}
				lat[i], ok[i] = took, true
			}
		}()
	}
	wg.Wait()
	res := sendResult{window: time.Since(start), ackedIDs: ok, failures: failures, failed: int(failed.Load())}
	for i, o := range ok {
		if o {
			res.acked++
			res.latencies = append(res.latencies, lat[i])
		}
	}
	res.failed += len(fx.deliveries) - res.acked - res.failed // not sent before the deadline
	slices.Sort(res.latencies)
	return res
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

// procStatusMB reads a VmXXX line of /proc/self/status in MB (0 when unknown).
func procStatusMB(key string) float64 { return statusMB("/proc/self/status", key) }

// statusMB reads a VmXXX line of a /proc status file in MB (0 when unknown).
func statusMB(path, key string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			var kb float64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%g", &kb); err == nil {
				return math.Round(kb/1024*10) / 10
			}
		}
	}
	return 0
}

// drain waits until no delivery is pending. It polls every 250 ms on a
// connection of its own with an indexed count: the bot's InboxStats scans
// the whole table and shares the bot's single store connection, so polling
// it often would slow the very processing being measured.
func drain(dsn string, timeout time.Duration) error {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(timeout)
	for {
		var n int
		err := db.QueryRow(`SELECT COUNT(*) FROM deliveries WHERE state = 'pending'`).Scan(&n)
		if err == nil && n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("inbox not drained after %v: %d pending (%v)", timeout, n, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
