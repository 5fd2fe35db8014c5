package main

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeForkServer accepts one `corral forked`, checks what it handed over,
// writes a line on the descriptor it got as stdout (as a forked program
// would), and answers with reply lines.
func fakeForkServer(t *testing.T, replies ...string) (path string, got chan forkRequest) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	got = make(chan forkRequest, 1)
	go func() {
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1<<20)
		oob := make([]byte, unix.CmsgSpace(8*4))
		n, oobn, _, _, err := c.(*net.UnixConn).ReadMsgUnix(buf, oob)
		if err != nil {
			t.Error(err)
			return
		}
		var req forkRequest
		if err := json.Unmarshal(buf[:n], &req); err != nil {
			t.Error(err)
			return
		}
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		var fds []int
		for _, m := range msgs {
			if f, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, f...)
			}
		}
		for i, fd := range fds {
			if i < len(req.Fds) && req.Fds[i] == 1 {
				unix.Write(fd, []byte("from the forked program\n"))
			}
			unix.Close(fd)
		}
		got <- req
		for _, r := range replies {
			c.Write([]byte(r + "\n"))
		}
	}()
	return path, got
}

func TestForkedEndsAsTheProgramDid(t *testing.T) {
	cases := []struct {
		name    string
		replies []string
		code    int
		signal  syscall.Signal
	}{
		{"exit code", []string{`{"pid":4242}`, `{"exit":3}`}, 3, 0},
		{"exit 0", []string{`{"pid":4242}`, `{"exit":0}`}, 0, 0},
		{"killed", []string{`{"pid":4242}`, `{"signal":9}`}, -1, syscall.SIGKILL},
		{"terminated", []string{`{"pid":4242}`, `{"signal":15}`}, -1, syscall.SIGTERM},
		{"refused", []string{`{"error":"fork server: bad request: x"}`}, 70, 0},
		// Its programs die with it (parent-death signal), so does this.
		{"server gone", nil, -1, syscall.SIGKILL},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, got := fakeForkServer(t, tc.replies...)
			cmd := exec.Command(corralBin, "forked", "--socket", path)
			cmd.Env = append(os.Environ(), "FORKED_TEST=1")
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			err := cmd.Run()
			var req forkRequest
			select {
			case req = <-got:
			case <-time.After(5 * time.Second):
				t.Fatal("the fork server got nothing")
			}
			if req.Pgid != cmd.Process.Pid || len(req.Fds) < 3 || req.Fds[0] != 0 || req.Fds[1] != 1 {
				t.Fatalf("handed over pgid %d (want %d), fds %v", req.Pgid, cmd.Process.Pid, req.Fds)
			}
			if !strings.Contains(strings.Join(req.Env, "\n"), "FORKED_TEST=1") {
				t.Fatal("the environment was not handed over")
			}
			if stdout.String() != "from the forked program\n" {
				t.Fatalf("stdout %q: the program's write through the handed-over descriptor was lost", stdout.String())
			}
			var ee *exec.ExitError
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("exit: %v (stderr %s)", err, stderr.String())
				}
				return
			}
			if !errors.As(err, &ee) {
				t.Fatalf("exit: %v", err)
			}
			ws := ee.Sys().(syscall.WaitStatus)
			if tc.signal != 0 {
				if !ws.Signaled() || ws.Signal() != tc.signal {
					t.Fatalf("ended %v, want killed by %v", ws, tc.signal)
				}
				if tc.replies == nil && !strings.Contains(stderr.String(), "the fork server went away") {
					t.Fatalf("stderr %q: the server's loss not reported", stderr.String())
				}
				return
			}
			if ws.ExitStatus() != tc.code {
				t.Fatalf("exit status %d, want %d (stderr %s)", ws.ExitStatus(), tc.code, stderr.String())
			}
			if tc.code == 70 && stderr.Len() == 0 {
				t.Fatal("a failure said nothing on stderr")
			}
		})
	}
}

func TestForkedWithoutServer(t *testing.T) {
	cmd := exec.Command(corralBin, "forked", "--socket", filepath.Join(t.TempDir(), "none"))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 70 || !strings.Contains(string(out), "connect to the fork server") {
		t.Fatalf("no server: %v %s", err, out)
	}
}
