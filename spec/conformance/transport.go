package conformance

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/corralhq/corral/child"
	"github.com/corralhq/corral/protocol"
)

// Transport carries a case's lines to a peer and back. The process-based
// implementation is Process; a test of the supervisor can run the same cases
// over a socket or an in-memory pipe.
type Transport interface {
	// Send writes one line; the newline is added by the transport.
	Send(ctx context.Context, line []byte) error
	// Next returns the next line the peer wrote, without its newline. It
	// returns ctx's error when ctx ends first, and another error once the
	// peer's output has ended.
	Next(ctx context.Context) ([]byte, error)
	// CloseSend ends the peer's input (close_stdin).
	CloseSend() error
}

// ExitWaiter is a Transport whose peer is a process with an exit status
// (expect_exit).
type ExitWaiter interface {
	// Wait returns the exit status once the peer has exited: the exit code,
	// or minus the signal number.
	Wait(ctx context.Context) (int, error)
}

// Command says how to start a worker, or a supervisor.
type Command struct {
	Path string   // looked up in PATH when it has no slash
	Args []string // arguments after Path
	// Env is added to this process's environment, after the CORRAL_*
	// variables the runner sets for the worker.
	Env []string
	// FDs puts the protocol on fds 3 (the worker reads) and 4 (it writes),
	// and tells the worker so with CORRAL_PROTOCOL_FDS=3,4.
	FDs bool
	// Supervisor says the command is a supervisor, such as `corral serve
	// --stdio`, to be played against as a client: it gets no worker
	// identity (CORRAL_WORKER_ID, …) in its environment, and Close first
	// ends its input and gives it SupervisorGrace to shut down (its workers
	// with it, and its socket removed) before killing it. FDs must be false.
	Supervisor bool
}

// SupervisorGrace is how long Close lets a supervisor shut down after the end
// of its input.
const SupervisorGrace = 5 * time.Second

// Process is a worker (or supervisor) process as a Transport: its protocol
// streams are stdin/stdout, or fds 3/4. It runs in its own process group,
// which Close kills.
type Process struct {
	peer  string // "worker" or "supervisor", for reasons
	proc  *child.Proc
	in    *os.File // our end of the worker's input
	out   *os.File // our end of the worker's protocol output
	noise *os.File // our end of its stderr (and stdout, in fds mode)

	lines     chan struct{} // a token whenever queue or readErr changed
	noiseDone chan struct{}
	mu        sync.Mutex
	queue     [][]byte
	readErr   error
	tail      tailBuffer

	closeIn sync.Once
	inErr   error
	wg      sync.WaitGroup
}

// Start starts the worker (or supervisor) cmd describes. The caller must
// Close it.
func Start(cmd Command) (*Process, error) {
	peer := "worker"
	if cmd.Supervisor {
		peer = "supervisor"
		if cmd.FDs {
			return nil, errors.New("a supervisor serves its client on stdin/stdout: FDs must be false")
		}
	}
	var ours []*os.File // every pipe end, closed if starting fails
	pipe := func() (r, w *os.File, err error) {
		r, w, err = child.Pipe()
		if err == nil {
			ours = append(ours, r, w)
		}
		return r, w, err
	}
	fail := func(err error) (*Process, error) {
		for _, f := range ours {
			f.Close()
		}
		return nil, err
	}
	inR, inW, err := pipe()
	if err != nil {
		return fail(err)
	}
	outR, outW, err := pipe()
	if err != nil {
		return fail(err)
	}
	noiseR, noiseW, err := pipe()
	if err != nil {
		return fail(err)
	}

	env := workerEnv(cmd)
	spec := child.Spec{Path: cmd.Path, Args: cmd.Args, Env: env, Stderr: noiseW, KillGroupOnExit: true}
	if cmd.FDs {
		// stdin stays /dev/null, so a worker that reads it by mistake sees
		// EOF instead of our protocol lines.
		spec.Stdout = noiseW
		spec.ExtraFiles = []*os.File{inR, outW}
	} else {
		spec.Stdin, spec.Stdout = inR, outW
	}
	// The spawner's locked thread forks the worker, so that Pdeathsig kills
	// it if this process dies without running Close.
	sp := child.NewSpawner()
	proc, err := sp.Start(spec)
	sp.Close()
	if err != nil {
		return fail(fmt.Errorf("start %s: %w", peer, err))
	}
	child.CloseAll(inR, outW, noiseW) // the worker's ends: it has its own copies

	p := &Process{peer: peer, proc: proc, in: inW, out: outR, noise: noiseR,
		lines: make(chan struct{}, 1), noiseDone: make(chan struct{})}
	p.wg.Add(2)
	go p.readLines()
	go p.readNoise()
	return p, nil
}

// workerEnv is the environment a supervisor would give a worker. Inherited
// CORRAL_* variables are dropped: check-worker run from inside a corral
// worker must not pass on its own fds setting or identity. A supervisor gets
// none of them either.
func workerEnv(cmd Command) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CORRAL_") {
			env = append(env, kv)
		}
	}
	if cmd.Supervisor {
		return append(env, cmd.Env...)
	}
	env = append(env,
		protocol.EnvWorkerID+"=1",
		protocol.EnvWorkerName+"=conformance-1",
		protocol.EnvPool+"=conformance",
	)
	if cmd.FDs {
		env = append(env, protocol.EnvProtocolFDs+"=3,4")
	}
	return append(env, cmd.Env...)
}

// Pid is the process id of the worker (or supervisor).
func (p *Process) Pid() int { return p.proc.Pid() }

func (p *Process) readLines() {
	defer p.wg.Done()
	r := bufio.NewReader(p.out)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && (err == nil || err == io.EOF) {
			line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
			p.mu.Lock()
			p.queue = append(p.queue, line)
			p.mu.Unlock()
			p.wake()
		}
		if err != nil {
			p.mu.Lock()
			p.readErr = err
			p.mu.Unlock()
			p.wake()
			return
		}
	}
}

func (p *Process) wake() {
	select {
	case p.lines <- struct{}{}:
	default:
	}
}

func (p *Process) readNoise() {
	defer p.wg.Done()
	defer close(p.noiseDone)
	io.Copy(&p.tail, p.noise)
}

// Send writes line and a newline to the worker, giving up at ctx's deadline
// so that a worker which stopped reading cannot stall the run.
func (p *Process) Send(ctx context.Context, line []byte) error {
	d, _ := ctx.Deadline() // the zero time, no deadline, when ctx has none
	if err := p.in.SetWriteDeadline(d); err != nil {
		return fmt.Errorf("write to %s: %w", p.peer, err)
	}
	_, err := p.in.Write(append(line[:len(line):len(line)], '\n'))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EPIPE):
		if note := p.exitNote(ctx); note != "" {
			return fmt.Errorf("the %s stopped reading its input: it %s", p.peer, note)
		}
		return fmt.Errorf("the %s closed its input but is still running", p.peer)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("the %s is not reading its input", p.peer)
	}
	return fmt.Errorf("write to %s: %w", p.peer, err)
}

// Next returns the worker's next output line. When the output has ended it
// waits (within ctx) for the worker to exit, and says how it exited.
func (p *Process) Next(ctx context.Context) ([]byte, error) {
	for {
		p.mu.Lock()
		if len(p.queue) > 0 {
			line := p.queue[0]
			p.queue = p.queue[1:]
			p.mu.Unlock()
			return line, nil
		}
		readErr := p.readErr
		p.mu.Unlock()
		if readErr != nil {
			return nil, p.ended(ctx, readErr)
		}
		select {
		case <-p.lines:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// ErrOutputClosed is wrapped by Next's error once the peer's output has
// ended ("the worker closed its output: it exited with code 1").
var ErrOutputClosed = errors.New("closed its output")

func (p *Process) ended(ctx context.Context, readErr error) error {
	if readErr != io.EOF {
		return fmt.Errorf("the %s %w: %v", p.peer, ErrOutputClosed, readErr)
	}
	if note := p.exitNote(ctx); note != "" {
		return fmt.Errorf("the %s %w: it %s", p.peer, ErrOutputClosed, note)
	}
	return fmt.Errorf("the %s %w but is still running", p.peer, ErrOutputClosed)
}

// exitNote waits, within ctx, for the worker to exit, and says how it did
// and the last line it wrote to stderr, often the reason it died. It is
// empty if the worker is still running.
func (p *Process) exitNote(ctx context.Context) string {
	select {
	case <-p.proc.Done():
	case <-ctx.Done():
		return ""
	}
	// Its last words are most useful once all of them are read.
	select {
	case <-p.noiseDone:
	case <-ctx.Done():
	}
	note := p.proc.Exit().String()
	if s := p.tail.lastLine(); s != "" {
		note += fmt.Sprintf(" (stderr: %q)", s)
	}
	return note
}

// CloseSend closes the worker's input.
func (p *Process) CloseSend() error {
	p.closeIn.Do(func() { p.inErr = p.in.Close() })
	return p.inErr
}

// Wait returns the worker's exit status once it has exited.
func (p *Process) Wait(ctx context.Context) (int, error) {
	select {
	case <-p.proc.Done():
		return p.proc.Exit().ExitCode(), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Close kills the worker's process group, reaps the worker, and returns
// once this Process's goroutines have ended. A supervisor first gets the end
// of its input and SupervisorGrace to exit.
func (p *Process) Close() error {
	if p.peer == "supervisor" {
		p.CloseSend()
		t := time.NewTimer(SupervisorGrace)
		select {
		case <-p.proc.Done():
		case <-t.C:
		}
		t.Stop()
	}
	p.proc.Kill()
	p.CloseSend()
	// Closing our read ends unblocks the readers even if a grandchild that
	// escaped the group still holds the pipes open.
	p.out.Close()
	p.noise.Close()
	p.wg.Wait()
	return nil
}

// tailBuffer keeps the last few KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 4 << 10

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > tailMax {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailMax:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return clip(strings.TrimSpace(s), 200)
}
