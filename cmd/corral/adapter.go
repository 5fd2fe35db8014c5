package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/corralhq/corral/child"
	corral "github.com/corralhq/corral/clients/go"
	"github.com/corralhq/corral/pipes"
	"github.com/corralhq/corral/protocol"
)

// AdapterCommand is `corral adapter`, which the supervisor runs as the
// worker of a lines or exec pool: it speaks the protocol on the pool's
// side and drives the program, which speaks none, on the other. A lines
// worker keeps one filter and feeds it a whole map chunk at once; an exec
// worker runs the program once per input. When the filter dies the adapter
// exits with its status, so the pool sees a lost worker and its retries and
// restart limits apply.
type AdapterCommand struct {
	Stderr io.Writer
}

// Run serves until the supervisor closes the connection.
func (c *AdapterCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("adapter", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	mode := fs.String("mode", "", "lines or exec")
	pty := fs.Bool("pty", false, "lines: give the filter a pseudo-terminal for its stdout")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return &exitError{code: 2, err: errors.New("usage: corral adapter --mode lines|exec [--pty] -- CMD [ARGS…] (run by the supervisor for lines and exec pools)")}
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return &exitError{code: 127, err: fmt.Errorf("%s: command not found", argv[0])}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	sp := child.NewSpawner()
	defer sp.Close()
	w := corral.NewWorker(argv[0])
	switch *mode {
	case protocol.ModeLines:
		a := &linesAdapter{sp: sp, spec: pipes.FilterSpec{Path: path, Args: argv[1:], Env: os.Environ(), Stderr: os.Stderr, PTY: *pty}}
		defer a.close()
		corral.HandleBatch(w, protocol.FuncLine, a.call)
	case protocol.ModeExec:
		a := &execAdapter{sp: sp, path: path, tmpl: pipes.ParseTemplate(argv[1:])}
		a.slot, _ = strconv.Atoi(os.Getenv(protocol.EnvWorkerID))
		corral.HandleBatch(w, protocol.FuncRun, a.call)
	default:
		return &exitError{code: 2, err: fmt.Errorf("--mode %q: want lines or exec", *mode)}
	}
	return w.Serve(ctx)
}

// linesAdapter feeds one long-lived filter.
type linesAdapter struct {
	sp      *child.Spawner
	spec    pipes.FilterSpec
	mu      sync.Mutex
	f       *pipes.Filter
	closing atomic.Bool
	dead    atomic.Int32 // the exit status of a filter that ended between calls
}

func (a *linesAdapter) filter() (*pipes.Filter, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f != nil {
		return a.f, nil
	}
	spec := a.spec
	spec.Done = func(b *pipes.Batch) { close(b.Tag.(chan struct{})) }
	spec.Extra = func(line []byte) {
		fmt.Fprintf(os.Stderr, "corral adapter: the filter printed a line with no input waiting for it (%q); it must print exactly one line per line read\n", line)
	}
	f, err := pipes.StartFilter(a.sp, spec)
	if err != nil {
		return nil, err
	}
	a.f = f
	go a.watch(f)
	return f, nil
}

// watch ends the adapter when the filter ends on its own: the pool then
// sees its worker lost, with the filter's exit status.
func (a *linesAdapter) watch(f *pipes.Filter) {
	ex := f.Wait(time.Second)
	if a.closing.Load() {
		return
	}
	fmt.Fprintf(os.Stderr, "corral adapter: filter %s %s\n", a.spec.Path, ex.Exit)
	code := ex.Exit.Code
	if ex.Exit.Signal != 0 {
		code = 128 + int(ex.Exit.Signal)
	}
	if code == 0 {
		code = 1 // it must not end while the pool needs it
	}
	if len(ex.Pending) > 0 {
		os.Exit(code) // its lines are lost with this worker
	}
	// Nothing was waiting on it, but the reply to the last call may not be
	// written yet: exit when the next call comes instead.
	a.dead.Store(int32(code))
}

func (a *linesAdapter) call(ctx context.Context, items []string) ([]string, error) {
	if code := a.dead.Load(); code != 0 {
		os.Exit(int(code)) // the pool sees this worker lost, and replaces it
	}
	var data []byte
	for i, s := range items {
		if strings.IndexByte(s, '\n') >= 0 {
			return nil, &corral.ItemError{Index: i, Err: &corral.TaskError{Type: "ValueError", Message: "a lines worker takes one line per input; this one has a newline in it"}}
		}
		data = append(append(data, s...), '\n')
	}
	f, err := a.filter()
	if err != nil {
		return nil, err
	}
	b := pipes.NewBatch(data)
	done := make(chan struct{})
	b.Tag = done
	// Calls may overlap (task.run and task.map from one pool are serial,
	// but be safe): Send is for one goroutine at a time.
	a.mu.Lock()
	err = f.Send(ctx, b)
	a.mu.Unlock()
	if errors.Is(err, pipes.ErrFilterGone) {
		// The filter ended: watch ends this process with its status, and
		// the pool sees the worker lost mid-task.
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	out := make([]string, b.Len())
	for i := range out {
		out[i] = string(b.Answer(i))
	}
	return out, nil
}

func (a *linesAdapter) close() {
	a.closing.Store(true)
	a.mu.Lock()
	f := a.f
	a.mu.Unlock()
	if f != nil {
		f.CloseInput()
		f.Wait(2 * time.Second)
	}
}

// execAdapter runs the program once per input.
type execAdapter struct {
	sp   *child.Spawner
	path string
	tmpl *pipes.Template
	slot int
	seq  atomic.Int64
}

func (a *execAdapter) call(ctx context.Context, items []string) ([]string, error) {
	out := make([]string, len(items))
	for i, in := range items {
		res, err := a.run(ctx, in)
		if err != nil {
			return nil, &corral.ItemError{Index: i, Err: err}
		}
		out[i] = res
	}
	return out, nil
}

func (a *execAdapter) run(ctx context.Context, input string) (string, error) {
	args := a.tmpl.Expand(input, a.seq.Add(1), a.slot)
	outR, outW, err := child.Pipe()
	if err != nil {
		return "", err
	}
	errR, errW, err := child.Pipe()
	if err != nil {
		child.CloseAll(outR, outW)
		return "", err
	}
	p, err := a.sp.Start(child.Spec{Path: a.path, Args: args, Env: os.Environ(), Stdout: outW, Stderr: errW, KillGroupOnExit: true})
	child.CloseAll(outW, errW)
	if err != nil {
		child.CloseAll(outR, errR)
		return "", err
	}
	stopOnCancel := context.AfterFunc(ctx, func() { p.Stop(2 * time.Second) })
	defer stopOnCancel()
	var stdout, stderr bytes.Buffer
	var wg sync.WaitGroup
	wg.Go(func() { stderr.ReadFrom(errR) })
	stdout.ReadFrom(outR)
	wg.Wait()
	child.CloseAll(outR, errR)
	ex := p.Exit()
	if ex.Code != 0 || ex.Signal != 0 {
		return "", &corral.TaskError{
			Type:      "ExitError",
			Message:   fmt.Sprintf("%s %s", pipes.CommandLine(a.path, args), ex),
			Traceback: stderr.String(),
		}
	}
	return stdout.String(), nil
}
