// Package child starts, signals and reaps child processes, each in its own
// process group and bound to die with this process (Pdeathsig on Linux).
//
// One goroutine per child owns its Wait; exit is observed through Done, never
// by polling. Stop signals the whole group in stages (SIGTERM, grace,
// SIGKILL), so grandchildren do not outlive their worker.
package child

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Spec says what to start.
type Spec struct {
	Path string   // looked up in PATH when it has no slash
	Args []string // arguments after the command
	Env  []string // the whole environment, as os.Environ returns it
	Dir  string
	// Stdin, Stdout and Stderr are the child's ends of its standard files;
	// nil means /dev/null. The caller keeps ownership and closes its copies
	// after Start.
	Stdin, Stdout, Stderr *os.File
	// ExtraFiles become fds 3, 4, … in the child.
	ExtraFiles []*os.File
	// KillGroupOnExit sends SIGKILL to the child's process group once the
	// child itself has exited, so helpers it started do not linger.
	KillGroupOnExit bool
}

// Exit describes how a child ended.
type Exit struct {
	// Code is the exit status, or -1 when a signal ended the child.
	Code int
	// Signal is the signal that ended the child, or 0.
	Signal syscall.Signal
	// Err is set when the exit status could not be read.
	Err error
}

// ExitCode is the status as Python's multiprocessing reports it: the exit
// code, or minus the signal number.
func (e Exit) ExitCode() int {
	if e.Signal != 0 {
		return -int(e.Signal)
	}
	return e.Code
}

func (e Exit) String() string {
	switch {
	case e.Err != nil:
		return e.Err.Error()
	case e.Signal != 0:
		return fmt.Sprintf("killed by signal %d (%s)", int(e.Signal), SignalName(e.Signal))
	default:
		return fmt.Sprintf("exited with code %d", e.Code)
	}
}

// SignalName returns "SIGKILL" for syscall.SIGKILL and so on.
func SignalName(s syscall.Signal) string {
	if name, ok := signalNames[s]; ok {
		return name
	}
	return fmt.Sprintf("signal %d", int(s))
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT",
	syscall.SIGILL: "SIGILL", syscall.SIGTRAP: "SIGTRAP", syscall.SIGABRT: "SIGABRT",
	syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE", syscall.SIGKILL: "SIGKILL",
	syscall.SIGUSR1: "SIGUSR1", syscall.SIGSEGV: "SIGSEGV", syscall.SIGUSR2: "SIGUSR2",
	syscall.SIGPIPE: "SIGPIPE", syscall.SIGALRM: "SIGALRM", syscall.SIGTERM: "SIGTERM",
}

// Proc is a started child.
type Proc struct {
	cmd  *exec.Cmd
	pid  int
	done chan struct{}
	exit Exit
	spec Spec
}

// Pid is the child's process id (and its process group id).
func (p *Proc) Pid() int { return p.pid }

// Done is closed once the child has exited and been reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exit reports how the child ended; valid after Done is closed.
func (p *Proc) Exit() Exit {
	<-p.done
	return p.exit
}

// Signal sends sig to the child's whole process group.
func (p *Proc) Signal(sig syscall.Signal) error {
	err := syscall.Kill(-p.pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// Kill sends SIGKILL to the child's process group and waits for the child
// to be reaped. It is idempotent.
func (p *Proc) Kill() Exit {
	p.Signal(syscall.SIGKILL)
	return p.Exit()
}

// Stop asks the child's process group to end with SIGTERM, waits up to
// grace, then sends SIGKILL. It returns once the child has been reaped.
func (p *Proc) Stop(grace time.Duration) Exit {
	select {
	case <-p.done:
		return p.exit
	default:
	}
	p.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		p.Signal(syscall.SIGKILL) // stragglers in the group
	case <-t.C:
		p.Signal(syscall.SIGKILL)
	}
	return p.Exit()
}

// Spawner starts children from one goroutine locked to its OS thread:
// Pdeathsig fires when the thread that forked the child exits, and a locked
// thread is one the Go runtime will not retire while the spawner lives
// (golang/go#27505).
type Spawner struct {
	reqs chan spawnReq
	done chan struct{}
	once sync.Once
	mu   sync.RWMutex
	shut bool
}

type spawnReq struct {
	spec  Spec
	reply chan spawnRes
}

type spawnRes struct {
	p   *Proc
	err error
}

// NewSpawner starts the spawning goroutine; Close ends it.
func NewSpawner() *Spawner {
	s := &Spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *Spawner) loop() {
	runtime.LockOSThread()
	// Unlock before returning: a goroutine that exits locked takes its
	// thread with it, and Pdeathsig would kill every child it started.
	defer runtime.UnlockOSThread()
	defer close(s.done)
	for r := range s.reqs {
		p, err := start(r.spec)
		r.reply <- spawnRes{p, err}
	}
}

// ErrSpawnerClosed is returned by Start after Close.
var ErrSpawnerClosed = errors.New("spawner closed")

// Start starts a child as spec says.
func (s *Spawner) Start(spec Spec) (*Proc, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.shut {
		return nil, ErrSpawnerClosed
	}
	reply := make(chan spawnRes, 1)
	s.reqs <- spawnReq{spec, reply}
	r := <-reply
	return r.p, r.err
}

// Close ends the spawning goroutine. Children already started are not
// touched.
func (s *Spawner) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.shut = true
		close(s.reqs)
		s.mu.Unlock()
		<-s.done
	})
}

func start(spec Spec) (*Proc, error) {
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env = spec.Env
	cmd.Dir = spec.Dir
	if spec.Stdin != nil {
		cmd.Stdin = spec.Stdin
	}
	if spec.Stdout != nil {
		cmd.Stdout = spec.Stdout
	}
	if spec.Stderr != nil {
		cmd.Stderr = spec.Stderr
	}
	cmd.ExtraFiles = spec.ExtraFiles
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{}), spec: spec}
	go p.reap()
	return p, nil
}

// reap is the one owner of cmd.Wait.
func (p *Proc) reap() {
	err := p.cmd.Wait()
	p.exit = exitOf(p.cmd.ProcessState, err)
	if p.spec.KillGroupOnExit {
		p.Signal(syscall.SIGKILL)
	}
	close(p.done)
}

func exitOf(ps *os.ProcessState, err error) Exit {
	if ps == nil {
		return Exit{Code: -1, Err: err}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return Exit{Code: -1, Signal: ws.Signal()}
	}
	return Exit{Code: ps.ExitCode()}
}

// Pipe returns an os.Pipe whose ends are closed on error; a small helper so
// callers never leak half a pipe.
func Pipe() (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	return r, w, nil
}

// LinkPipe is Pipe for a protocol link that carries large messages: its
// buffer is raised to size bytes where the system allows, so that a
// message of megabytes crosses in a few reads rather than one per 64 KiB,
// each waking both ends.
func LinkPipe(size int) (r, w *os.File, err error) {
	r, w, err = Pipe()
	if err == nil {
		growPipe(w, size)
	}
	return r, w, err
}

// CloseAll closes every non-nil closer, for the child's ends after Start.
func CloseAll(cs ...io.Closer) {
	for _, c := range cs {
		if c != nil && !isNilFile(c) {
			c.Close()
		}
	}
}

func isNilFile(c io.Closer) bool {
	f, ok := c.(*os.File)
	return ok && f == nil
}

// Alive reports whether pid is a running process: not gone, and not a
// zombie waiting to be reaped by someone else. For tests and diagnostics;
// the supervisor learns of its own children's exits through Done.
func Alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// Field 3, after the parenthesised command name, is the state.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}
