package mapper

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// execOnce runs the command once, capturing its stdout and stderr.
//
// It is the hot path of exec mode, so it is written against the system
// calls: fork/exec from the calling (locked) thread, output read with one
// blocking poll over both pipes and a pidfd, and the exit reaped here. Going
// through os/exec and the netpoller costs several goroutine wake-ups per
// job, which on small machines is most of what a job costs.
func (r *run) execOnce(args, env []string) *execJob {
	j := &execJob{}
	j.entry.start = time.Now()
	fail := func(msg string) *execJob {
		j.entry.failed, j.entry.exit, j.msg = true, -1, msg
		j.entry.runtime = time.Since(j.entry.start)
		return j
	}
	var outp, errp [2]int
	if err := unix.Pipe2(outp[:], unix.O_CLOEXEC); err != nil {
		return fail(fmt.Sprintf("pipe: %v", err))
	}
	if err := unix.Pipe2(errp[:], unix.O_CLOEXEC); err != nil {
		unix.Close(outp[0])
		unix.Close(outp[1])
		return fail(fmt.Sprintf("pipe: %v", err))
	}
	argv := make([]string, 0, len(args)+1)
	argv = append(append(argv, r.opts.Command), args...)
	pid, err := syscall.ForkExec(r.path, argv, &syscall.ProcAttr{
		Dir:   r.opts.Dir,
		Env:   env,
		Files: []uintptr{uintptr(r.devnull), uintptr(outp[1]), uintptr(errp[1])},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	})
	unix.Close(outp[1])
	unix.Close(errp[1])
	if err != nil {
		unix.Close(outp[0])
		unix.Close(errp[0])
		if errors.Is(err, syscall.E2BIG) {
			return fail("the input is too long for a command-line argument (Linux allows 128 KiB per argument); use --mode lines, or read the input from stdin")
		}
		return fail(fmt.Sprintf("start %s: %v", r.opts.Command, err))
	}
	k := &jobKiller{pid: pid}
	var stopTimer *time.Timer
	if r.opts.Timeout > 0 {
		stopTimer = time.AfterFunc(r.opts.Timeout, func() { k.stop(true, r.opts.Grace) })
	}
	cancelled := context.AfterFunc(r.jobs, func() { k.stop(false, r.opts.Grace) })

	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		pidfd = -1
	}
	buf := readBufs.Get().(*[]byte)
	j.readOutputs(outp[0], errp[0], pidfd, k, *buf)
	readBufs.Put(buf)
	ws := k.reap(pidfd)
	if pidfd >= 0 {
		unix.Close(pidfd)
	}
	cancelled()
	if stopTimer != nil {
		stopTimer.Stop()
	}
	k.cancelKill()

	j.entry.runtime = time.Since(j.entry.start)
	j.entry.recv = j.stdout.Len()
	switch {
	case ws.Signaled():
		j.entry.exit, j.entry.signal = -1, int(ws.Signal())
	default:
		j.entry.exit = ws.ExitStatus()
	}
	switch {
	case k.timedOut():
		j.entry.failed = true
		j.msg = fmt.Sprintf("timed out after %s; stopped", r.opts.Timeout)
	case j.entry.exit != 0 || j.entry.signal != 0:
		j.entry.failed = true
	}
	return j
}

var readBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// readOutputs reads both pipes to their end. When the pidfd says the
// child has exited, what is left of its process group is killed, so a
// background grandchild holding the pipes cannot keep the job open.
func (j *execJob) readOutputs(outFd, errFd, pidfd int, k *jobKiller, buf []byte) {
	fds := []unix.PollFd{
		{Fd: int32(outFd), Events: unix.POLLIN},
		{Fd: int32(errFd), Events: unix.POLLIN},
		{Fd: int32(pidfd), Events: unix.POLLIN},
	}
	sinks := [2]*spool{&j.stdout, &j.stderr}
	open := 2
	for open > 0 {
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			break
		}
		for i := range 2 {
			if fds[i].Fd < 0 || fds[i].Revents == 0 {
				continue
			}
			n, err := unix.Read(int(fds[i].Fd), buf)
			if n > 0 {
				sinks[i].Write(buf[:n])
				continue
			}
			if err == unix.EINTR || err == unix.EAGAIN {
				continue
			}
			unix.Close(int(fds[i].Fd))
			fds[i].Fd = -1
			open--
		}
		if fds[2].Fd >= 0 && fds[2].Revents != 0 {
			k.signal(syscall.SIGKILL) // the child is gone; so are its helpers
			fds[2].Fd = -1
		}
	}
	for i := range 2 {
		if fds[i].Fd >= 0 {
			unix.Close(int(fds[i].Fd))
		}
	}
}

// jobKiller signals a job's process group until the job is reaped, and
// never after: once reaped, its pid (and group id) may belong to another
// process.
type jobKiller struct {
	pid     int
	mu      sync.Mutex
	reaped  bool
	timeout bool
	kill    *time.Timer
}

func (k *jobKiller) signal(sig syscall.Signal) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.reaped {
		syscall.Kill(-k.pid, sig)
	}
}

// stop sends SIGTERM to the group, then SIGKILL after grace.
func (k *jobKiller) stop(timeout bool, grace time.Duration) {
	k.mu.Lock()
	if k.reaped {
		k.mu.Unlock()
		return
	}
	k.timeout = k.timeout || timeout
	syscall.Kill(-k.pid, syscall.SIGTERM)
	if k.kill == nil {
		k.kill = time.AfterFunc(grace, func() { k.signal(syscall.SIGKILL) })
	}
	k.mu.Unlock()
}

func (k *jobKiller) cancelKill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.kill != nil {
		k.kill.Stop()
	}
}

func (k *jobKiller) timedOut() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.timeout
}

// reap waits for the job to exit without reaping it (so the killer may
// still signal it meanwhile), kills what is left of its group, then reaps.
func (k *jobKiller) reap(pidfd int) syscall.WaitStatus {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, k.pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	syscall.Kill(-k.pid, syscall.SIGKILL)
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(k.pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	k.reaped = true
	return ws
}
