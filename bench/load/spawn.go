package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/tinyforge/tinyforge-bot/app"
)

// spawned is the bot running as a process of its own (--spawn), against the
// fakes of this process: its resident memory can then be read apart from the
// fakes' and the load generator's, and it does not share a Go runtime with
// them.
type spawned struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// spawnBot starts bin serve with env's config on a free loopback port and
// points env.URL at it.
func spawnBot(env *app.FakeEnv, bin string) (*spawned, error) {
	if bin == "build" {
		bin = filepath.Join(env.Dir, "tinyforge-bot")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build (run from the module root): %v\n%s", err, out)
		}
	}
	cfg := filepath.Join(env.Dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(env.ConfigYAML), 0o600); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logf, err := os.Create(filepath.Join(env.Dir, "bot.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Env = append(os.Environ(), "TINYFORGE_BOT_SERVER_PORT="+strconv.Itoa(port), "TINYFORGE_BOT_LOGGING_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &spawned{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(s.done) }()
	env.URL = "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(env.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("the bot exited at start; see %s", filepath.Join(env.Dir, "bot.log"))
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("the bot did not answer /healthz within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// peakRSSMB is the bot's VmHWM.
func (s *spawned) peakRSSMB() float64 {
	return statusMB(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid), "VmHWM")
}

// stop ends the bot gracefully (SIGTERM), waiting at most 30 s.
func (s *spawned) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}
