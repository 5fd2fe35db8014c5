package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/child"
	"github.com/corralhq/corral/internal/testworker"
)

var corralBin string

func TestMain(m *testing.M) {
	testworker.MainIfWorker()
	if os.Getenv(shimWorkerEnv) != "" {
		runShimWorker()
	}
	dir, err := os.MkdirTemp("", "corral-cmd-test-")
	if err != nil {
		panic(err)
	}
	corralBin = filepath.Join(dir, "corral")
	// Supervisors the tests kill cannot remove their socket directories:
	// these go under dir, removed at the end.
	os.Setenv("TMPDIR", dir)
	if out, err := exec.Command("go", "build", "-o", corralBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build corral: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// workerConfig writes a config with one pool of the test binary as worker.
func workerConfig(t *testing.T, workers int, extra string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("[pool.d]\ncommand = %q\nargs = [\"-test.run=^$\"]\nworkers = %d\nenv = { %s = \"1\" }\n%s",
		exe, workers, testworker.Env, extra)
	path := filepath.Join(t.TempDir(), "corral.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// lineConn is a raw NDJSON peer.
type lineConn struct {
	t *testing.T
	w io.Writer
	r *bufio.Reader
}

func (c *lineConn) roundTrip(req string) map[string]json.RawMessage {
	c.t.Helper()
	if _, err := io.WriteString(c.w, req+"\n"); err != nil {
		c.t.Fatalf("write: %v", err)
	}
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		c.t.Fatalf("read reply to %s: %v", req, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		c.t.Fatalf("bad reply %s", line)
	}
	return m
}

func (c *lineConn) hello() {
	c.t.Helper()
	m := c.roundTrip(`{"jsonrpc":"2.0","id":0,"method":"corral.hello","params":{"protocol":"corral/1","role":"client"}}`)
	if _, ok := m["result"]; !ok {
		c.t.Fatalf("hello: %s", m["error"])
	}
}

// workerPids asks each of the pool's n workers for its pid: a map of slow
// calls, one item per chunk, keeps every worker busy at once.
func (c *lineConn) workerPids(n int) []int {
	c.t.Helper()
	items := strings.TrimSuffix(strings.Repeat("0.2,", n), ",")
	m := c.roundTrip(`{"jsonrpc":"2.0","id":1,"method":"pool.map","params":{"pool":"d","fn":"slowpid","chunksize":1,"items":[` + items + `]}}`)
	var r struct{ Results []int }
	json.Unmarshal(m["result"], &r)
	seen := map[int]bool{}
	for _, p := range r.Results {
		seen[p] = true
	}
	if len(seen) != n {
		c.t.Fatalf("found worker pids %v, want %d distinct (%s)", r.Results, n, m["error"])
	}
	return r.Results
}

func waitGone(t *testing.T, pids []int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for child.Alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("worker %d survived", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestStdioSidecar(t *testing.T) {
	cmd := exec.Command(corralBin, "serve", "--log-level", "warn", "--stdio", "--config", workerConfig(t, 2, ""))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	c := &lineConn{t: t, w: stdin, r: bufio.NewReader(stdout)}
	c.hello()
	m := c.roundTrip(`{"jsonrpc":"2.0","id":2,"method":"pool.map","params":{"pool":"d","fn":"double","items":[5,10,15,20,25]}}`)
	if got := strings.ReplaceAll(string(m["result"]), " ", ""); got != `{"results":[10,20,30,40,50]}` {
		t.Fatalf("map: %s %s", m["result"], m["error"])
	}
	pids := c.workerPids(2)
	// Closing stdin ends the sidecar, and its workers with it.
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("corral exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("corral did not exit when its stdin closed")
	}
	waitGone(t, pids)
}

// serveOnSocket runs `corral serve --socket` with a pool "d" of workers and
// returns it with a greeted raw connection.
func serveOnSocket(t *testing.T, workers int) (*exec.Cmd, string, net.Conn, *lineConn) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "c.sock")
	cmd := exec.Command(corralBin, "serve", "--log-level", "warn", "--socket", sock, "--config", workerConfig(t, workers, ""))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	conn := dialWhenUp(t, sock)
	c := &lineConn{t: t, w: conn, r: bufio.NewReader(conn)}
	c.hello()
	return cmd, sock, conn, c
}

func TestKill9LeavesNoWorkers(t *testing.T) {
	cmd, _, _, c := serveOnSocket(t, 3)
	pids := c.workerPids(3)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	waitGone(t, pids)
}

func TestSigtermDrains(t *testing.T) {
	cmd, sock, conn, c := serveOnSocket(t, 1)
	io.WriteString(conn, `{"jsonrpc":"2.0","id":5,"method":"pool.apply","params":{"pool":"d","fn":"sleep","args":[0.5]}}`+"\n")
	time.Sleep(100 * time.Millisecond) // the task is running
	cmd.Process.Signal(syscall.SIGTERM)
	line, err := c.r.ReadBytes('\n')
	if err != nil || !strings.Contains(string(line), `"result":{"result":0.5}`) {
		t.Fatalf("running task during drain: %s %v", line, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after drain: %v", err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
}

func TestServeStartErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("[pool.d]\ncommand = \"x\"\nworkerz = 1\n"), 0o644)
	missing := filepath.Join(t.TempDir(), "missing.toml")
	os.WriteFile(missing, []byte("[pool.d]\ncommand = \"corral-no-such-worker\"\nworkers = 1\n"), 0o644)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve", "--config", bad}, 2, "bad.toml:3: unknown key \"pool.d.workerz\""},
		{[]string{"serve", "--config", missing}, 1, "corral-no-such-worker"},
		{[]string{"serve", "--log-level", "loud"}, 2, "--log-level"},
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
	}
	for _, tt := range tests {
		cmd := exec.Command(corralBin, tt.args...)
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != tt.code || !strings.Contains(string(out), tt.want) {
			t.Errorf("corral %v: exit %d, output:\n%s\nwant exit %d mentioning %q", tt.args, cmd.ProcessState.ExitCode(), out, tt.code, tt.want)
		}
	}
	out, err := exec.Command(corralBin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "corral ") || !strings.Contains(string(out), "corral/1") {
		t.Fatalf("version: %s %v", out, err)
	}
}

func dialWhenUp(t *testing.T, sock string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("unix", sock)
		if err == nil {
			t.Cleanup(func() { conn.Close() })
			return conn
		}
		if time.Now().After(deadline) {
			t.Fatalf("supervisor never listened on %s: %v", sock, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
