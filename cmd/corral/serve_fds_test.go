package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a copier goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestServeFDs: with --fds the client's link is on two extra descriptors;
// stdout stays the supervisor's own, and a process with output "inherit"
// writes to it directly. Closing the link stops the supervisor.
func TestServeFDs(t *testing.T) {
	toR, toW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromR, fromW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	cmd := exec.Command(corralBin, "serve", "--log-level", "warn", "--fds", "3,4")
	cmd.ExtraFiles = []*os.File{toR, fromW}
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	toR.Close()
	fromW.Close()
	t.Cleanup(func() { cmd.Process.Kill() })
	c := &lineConn{t: t, w: toW, r: bufio.NewReader(fromR)}
	c.hello()

	m := c.roundTrip(`{"jsonrpc":"2.0","id":2,"method":"process.start","params":{"name":"p","command":"sh","args":["-c","echo to-stdout; echo to-stderr >&2"],"output":"inherit"}}`)
	if m["error"] != nil {
		t.Fatalf("process.start: %s", m["error"])
	}
	m = c.roundTrip(`{"jsonrpc":"2.0","id":3,"method":"process.join","params":{"name":"p"}}`)
	if !strings.Contains(string(m["result"]), `"exitcode":0`) {
		t.Fatalf("process.join: %s %s", m["result"], m["error"])
	}
	m = c.roundTrip(`{"jsonrpc":"2.0","id":4,"method":"process.start","params":{"name":"q","command":"sh","args":["-c","echo logged-out"],"output":"bogus"}}`)
	if !strings.Contains(string(m["error"]), `field \"output\": want \"log\" or \"inherit\", got \"bogus\"`) {
		t.Fatalf("bad output: %s", m["error"])
	}
	m = c.roundTrip(`{"jsonrpc":"2.0","id":5,"method":"pool.create","params":{"name":"x","command":"sh","workers":1,"output":"loud"}}`)
	if !strings.Contains(string(m["error"]), `field \"output\"`) {
		t.Fatalf("bad pool output: %s", m["error"])
	}

	toW.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("corral exited with %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("corral did not exit when its link closed")
	}
	fromR.Close()
	if got := stdout.String(); got != "to-stdout\n" {
		t.Errorf("stdout = %q, want the process's line only", got)
	}
	if got := stderr.String(); !strings.Contains(got, "to-stderr\n") {
		t.Errorf("stderr = %q, want the process's stderr line", got)
	}
}

// TestServeStdioInheritGoesToStderr: in --stdio mode stdout is the link, so
// inherited stdout goes to the supervisor's stderr instead.
func TestServeStdioInheritGoesToStderr(t *testing.T) {
	var stderr syncBuffer
	cmd := exec.Command(corralBin, "serve", "--log-level", "warn", "--stdio")
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	c := &lineConn{t: t, w: stdin, r: bufio.NewReader(out)}
	c.hello()
	c.roundTrip(`{"jsonrpc":"2.0","id":2,"method":"process.start","params":{"name":"p","command":"sh","args":["-c","echo not-protocol"],"output":"inherit"}}`)
	m := c.roundTrip(`{"jsonrpc":"2.0","id":3,"method":"process.join","params":{"name":"p"}}`)
	if !strings.Contains(string(m["result"]), `"exitcode":0`) {
		t.Fatalf("process.join: %s %s", m["result"], m["error"])
	}
	// The link still works: the next reply is the answer, not the line.
	m = c.roundTrip(`{"jsonrpc":"2.0","id":4,"method":"process.list","params":{}}`)
	if m["result"] == nil {
		t.Fatalf("process.list: %s", m["error"])
	}
	stdin.Close()
	cmd.Wait()
	if !strings.Contains(stderr.String(), "not-protocol\n") {
		t.Errorf("stderr = %q, want the inherited stdout line", stderr.String())
	}
}

func TestServeFDsBadFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--fds", "3"}, "want two file descriptors"},
		{[]string{"serve", "--fds", "1,2"}, "above 2"},
		{[]string{"serve", "--fds", "3,x"}, "W is not a number"},
		{[]string{"serve", "--fds", "97,98"}, "descriptor 97 is not open"},
		{[]string{"serve", "--stdio", "--fds", "3,4"}, "exclusive"},
	} {
		cmd := exec.Command(corralBin, tt.args...)
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), tt.want) {
			t.Errorf("corral %v: exit %d, output:\n%s\nwant exit 2 mentioning %q", tt.args, cmd.ProcessState.ExitCode(), out, tt.want)
		}
	}
}
