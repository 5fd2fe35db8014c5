package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ForkedCommand is `corral forked --socket PATH`: a worker process whose
// program is forked by a fork server (the Python shim's, which has its
// interpreter and the program's modules loaded already) instead of
// started afresh. It hands the fork server its standard descriptors (0-4),
// environment, directory and process group; the forked program joins that
// group, so signals the supervisor sends the group reach it; and this
// process ends as the forked program does, with its exit code or signal,
// so the supervisor sees the worker it started end as the program did.
//
// The fork server answers one JSON line with the program's pid, then one
// with how it ended ({"exit": N} or {"signal": N}).
type ForkedCommand struct {
	Stderr io.Writer
}

// forkRequest is the header sent with the descriptors.
type forkRequest struct {
	Env  []string `json:"env"`
	Cwd  string   `json:"cwd"`
	Pgid int      `json:"pgid"`
	Fds  []int    `json:"fds"` // the numbers the sent descriptors take in the program
}

// forkReply is a line of the fork server's answer.
type forkReply struct {
	Pid    int    `json:"pid,omitempty"`
	Exit   *int   `json:"exit,omitempty"`
	Signal int    `json:"signal,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Run connects, hands over, and waits for the program's end.
func (c *ForkedCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("forked", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	socket := fs.String("socket", "", "the fork server's Unix socket")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	if *socket == "" {
		return &exitError{code: 2, err: errors.New("--socket is required")}
	}
	// The supervisor signals the whole group; the program decides how it
	// ends, and this process then ends the same way.
	// (Caught, not ignored: Reset then restores the default, which ends
	// the process by the signal, when the program ended by one.)
	caught := make(chan os.Signal, 8)
	signal.Notify(caught, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	conn, err := net.Dial("unix", *socket)
	if err != nil {
		return &exitError{code: 70, err: fmt.Errorf("connect to the fork server: %w", err)}
	}
	uc := conn.(*net.UnixConn)
	var fds []int
	for fd := 0; fd <= 4; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			fds = append(fds, fd)
		}
	}
	wd, _ := os.Getwd()
	hdr, err := json.Marshal(forkRequest{Env: os.Environ(), Cwd: wd, Pgid: unix.Getpgrp(), Fds: fds})
	if err != nil {
		return &exitError{code: 70, err: err}
	}
	hdr = append(hdr, '\n')
	if _, _, err := uc.WriteMsgUnix(hdr, unix.UnixRights(fds...), nil); err != nil {
		return &exitError{code: 70, err: fmt.Errorf("hand over to the fork server: %w", err)}
	}
	// The program has its own copies now: holding the protocol pipes open
	// here would hide its end from the supervisor.
	for _, fd := range fds {
		if fd != 2 {
			unix.Close(fd)
		}
	}
	r := bufio.NewReader(uc)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			// The fork server went away; its programs go with it
			// (parent-death signal), and so does this one. While being
			// stopped that is no news: the whole pool is going.
			select {
			case <-caught:
			default:
				fmt.Fprintln(c.Stderr, "corral forked: the fork server went away")
			}
			signal.Reset(syscall.SIGKILL)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			return &exitError{code: 70}
		}
		var rep forkReply
		if err := json.Unmarshal(line, &rep); err != nil {
			return &exitError{code: 70, err: fmt.Errorf("fork server said %q: %w", line, err)}
		}
		switch {
		case rep.Error != "":
			return &exitError{code: 70, err: errors.New(rep.Error)}
		case rep.Exit != nil:
			return &exitError{code: *rep.Exit}
		case rep.Signal != 0:
			sig := syscall.Signal(rep.Signal)
			signal.Reset(sig)
			syscall.Kill(os.Getpid(), sig)
			// The signal is delivered to some thread of this process; give
			// it a moment. One whose default is not to end the process
			// leaves the exit a shell would report.
			time.Sleep(time.Second)
			return &exitError{code: 128 + rep.Signal}
		}
	}
}
