package app

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-bot/tinyforge/tinyforgetest"
)

// TestSIGKILLLosesNoAcknowledgedWebhook runs the real binary, streams signed
// webhooks at it, kills it with SIGKILL midway, starts it again and checks
// that every delivery answered 2xx was processed exactly once: one completed
// check run per PR commit on the fake GitHub, none twice.
func TestSIGKILLLosesNoAcknowledgedWebhook(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t)

	e := newEnv(t, FakeEnvOptions{NoServer: true, Dir: dir})
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	// Slow processing down so that deliveries are queued and in flight when
	// the process dies.
	e.Tinyforge.InjectFault("GET", "/api/workloads/{id}", tinyforgetest.Fault{Latency: 15 * time.Millisecond})

	const n = 120
	type delivery struct {
		id      string
		sha     string
		payload map[string]any
	}
	deliveries := make([]delivery, n)
	for i := range deliveries {
		pr, sha := openPR(e, fmt.Sprintf("change-%d", i), fmt.Sprintf("version: 1\ndeploy:\n  port: %d\n", 9000+i))
		deliveries[i] = delivery{id: fmt.Sprintf("kill-%03d", i), sha: sha, payload: e.GitHub.PullRequestPayload("opened", testRepo, pr)}
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(e.ConfigYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	e.URL = "http://127.0.0.1:" + strconv.Itoa(port)

	startBot := func(logName string) *botProcess {
		return startBinary(t, bin, filepath.Join(dir, logName), e.URL, []string{"serve", "--config", cfgPath}, "TINYFORGE_BOT_SERVER_PORT="+strconv.Itoa(port))
	}

	var mu sync.Mutex
	acked := map[string]bool{}
	deliver := func(ds []delivery, killAt int, bot *botProcess) {
		var wg sync.WaitGroup
		next := make(chan delivery)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for d := range next {
					status, err := e.SendAs("pull_request", d.id, d.payload, e.WebhookSecret)
					if err != nil || status/100 != 2 {
						continue // GitHub marks it failed; it is not acknowledged
					}
					mu.Lock()
					acked[d.id] = true
					if len(acked) == killAt {
						_ = bot.signal(syscall.SIGKILL)
					}
					mu.Unlock()
				}
			}()
		}
		for _, d := range ds {
			next <- d
		}
		close(next)
		wg.Wait()
	}

	first := startBot("first.log")
	deliver(deliveries, n/2, first)
	_, _ = first.wait()
	ackedBeforeKill := len(acked)
	processedAtKill := 0
	for _, d := range deliveries {
		if _, ok := e.CompletedCheck(testRepo, "tinyforge/web", d.sha); ok {
			processedAtKill++
		}
	}
	inFlightAtKill := 0
	for _, cr := range e.GitHub.CheckRuns(testRepo) {
		if cr.Status != "completed" {
			inFlightAtKill++ // created by the killed process; the restart must take them over
		}
	}
	if ackedBeforeKill == n {
		t.Fatal("the kill landed after every delivery was acknowledged; nothing was tested")
	}

	second := startBot("second.log")
	var resend []delivery
	for _, d := range deliveries {
		if !acked[d.id] {
			resend = append(resend, d) // what an operator redelivers from GitHub's UI
		}
	}
	resend = append(resend, deliveries[:10]...) // redeliveries of acknowledged ones
	deliver(resend, -1, second)
	if len(acked) != n {
		t.Fatalf("only %d of %d deliveries acknowledged after the restart", len(acked), n)
	}

	perSHA := map[string]int{}
	if err := WaitFor(60*time.Second, "every acknowledged delivery to be processed", func() bool {
		clear(perSHA)
		for _, cr := range e.GitHub.CheckRuns(testRepo) {
			if cr.Status == "completed" {
				perSHA[cr.HeadSHA]++
			}
		}
		for _, d := range deliveries {
			if perSHA[d.sha] == 0 {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	duplicates := 0
	for _, d := range deliveries {
		duplicates += perSHA[d.sha] - 1
	}
	created := len(e.GitHub.CheckRuns(testRepo))
	t.Logf("sent %d, acknowledged %d before SIGKILL (%d processed, %d check runs in flight), %d after restart; processed %d; check runs created %d; duplicates %d",
		n, ackedBeforeKill, processedAtKill, inFlightAtKill, n-ackedBeforeKill, len(perSHA), created, duplicates)
	if duplicates != 0 || created != n {
		t.Errorf("%d duplicate completions, %d check runs for %d deliveries", duplicates, created, n)
	}

	// A graceful stop leaves nothing behind.
	if err := second.signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	state, err := second.wait()
	if err != nil || !state.Success() {
		logs, _ := os.ReadFile(filepath.Join(dir, "second.log"))
		t.Errorf("after SIGTERM: %v %v; log:\n%s", state, err, tail(logs, 20))
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildBinary builds tinyforge-bot once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tinyforge-bot-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "tinyforge-bot")
		if out, err := exec.Command("go", "build", "-o", builtBin, "..").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// startBinary runs the binary with args and extra environment, logging to
// logPath, and waits until baseURL/healthz answers.
func startBinary(t *testing.T, bin, logPath, baseURL string, args []string, env ...string) *botProcess {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &botProcess{cmd: cmd, exited: make(chan struct{})}
	go func() { p.state, p.err = cmd.Process.Wait(); close(p.exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.exited })
	exited := p.exited
	if err := WaitFor(waitLimit, "the bot's /healthz", func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		resp, err := http.Get(baseURL + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		out, _ := os.ReadFile(logPath)
		t.Fatalf("the bot exited at start:\n%s", out)
	default:
	}
	return p
}

// botProcess is a running binary whose exit is awaited once, in the background.
type botProcess struct {
	cmd    *exec.Cmd
	exited chan struct{}
	state  *os.ProcessState
	err    error
}

func (p *botProcess) signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// wait returns how the process ended.
func (p *botProcess) wait() (*os.ProcessState, error) {
	<-p.exited
	return p.state, p.err
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
