package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// TestEnqueueSurvivesSIGKILL runs a child process that enqueues concurrently
// and prints each ID once Enqueue has returned; the parent SIGKILLs it midway
// and checks that every printed ID is in the database.
func TestEnqueueSurvivesSIGKILL(t *testing.T) {
	if path := os.Getenv("STORE_KILL_CHILD"); path != "" {
		killChild(path)
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	path := tempDB(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestEnqueueSurvivesSIGKILL$")
	cmd.Env = append(os.Environ(), "STORE_KILL_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	acked := map[string]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		acked[sc.Text()] = true
		if len(acked) == 500 {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	for sc.Scan() { // lines already written before the kill
		acked[sc.Text()] = true
	}
	if len(acked) < 500 {
		t.Fatalf("child acknowledged only %d", len(acked))
	}

	s := openT(t, path)
	ds, err := s.ListDeliveries(context.Background(), StatePending, 0)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, d := range ds {
		stored[d.ID] = true
	}
	for id := range acked {
		if !stored[id] {
			t.Fatalf("acknowledged delivery %s lost after SIGKILL", id)
		}
	}
	t.Logf("acknowledged %d, stored %d (the rest were in flight)", len(acked), len(stored))
}

func killChild(path string) {
	s, err := Open(context.Background(), "sqlite", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	lines := make(chan string, 1024)
	for g := 0; g < 16; g++ {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("g%02d-%06d", g, i)
				if _, err := s.Enqueue(context.Background(), Delivery{ID: id, Event: "push", Payload: []byte(`{}`)}); err != nil {
					os.Exit(3)
				}
				lines <- id
			}
		}()
	}
	for id := range lines {
		os.Stdout.WriteString(id + "\n") // one atomic pipe write per acknowledged ID
	}
}
