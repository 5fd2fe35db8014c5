// Package mapper runs a command over a stream of inputs N-wide: `corral
// map`. Inputs come one per line (or NUL-separated) from stdin, from files,
// or from the command line; each runs as its own process (exec mode), as a
// line fed to one of N long-lived filters (lines mode), or as a call to one
// of N protocol workers (rpc mode). Output is grouped per job, in input
// order on request, with GNU parallel's job log, resume, halt conditions
// and exit status.
package mapper

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/corralhq/corral/child"
	"github.com/corralhq/corral/protocol"
	"github.com/corralhq/corral/supervisor"
)

// Modes a run can use.
const (
	ModeExec  = "exec"
	ModeLines = "lines"
	ModeRPC   = "rpc"
)

// MaxFailedStatus caps the exit status that counts failed jobs, as GNU
// parallel does: statuses above it are left for other meanings.
const MaxFailedStatus = 101

// Exit statuses a run reports beyond the count of failed jobs.
const (
	StatusNotFound = 127 // the command does not exist
	StatusAborted  = 255 // the run could not go on
)

// Options describe a run.
type Options struct {
	Mode    string
	Jobs    int
	Command string
	Args    []string

	// Args after ::: when non-nil; otherwise Files are read in turn ("-" is
	// Stdin); no Files means Stdin.
	InputArgs []string
	Files     []string
	Stdin     io.Reader
	Null      bool // inputs are NUL-separated

	KeepOrder bool
	Tag       bool
	Timeout   time.Duration // per job; 0 means none
	Grace     time.Duration // between SIGTERM and SIGKILL when a job is stopped
	Retries   int
	Halt      Halt

	Joblog       string
	Resume       bool
	ResumeFailed bool

	Bar   bool // show a progress bar on Stderr (the caller checks it is a terminal)
	PTY   bool // lines mode: the filter's stdout is a pty
	Fn    string
	JSON  bool     // rpc mode: each input is a JSON value, the call's argument
	Env   []string // the jobs' environment; os.Environ() when nil
	Dir   string
	Quiet bool // no per-failure messages

	Stdout io.Writer
	Stderr io.Writer
	// Log receives the in-process supervisor's log (rpc mode).
	Log zerolog.Logger
	// Version is reported to workers in rpc mode.
	Version string
}

// Result sums up a run.
type Result struct {
	Jobs    int // jobs that finished (succeeded or failed)
	Failed  int
	Skipped int // done in an earlier run (--resume)
	Halted  bool
	Status  int // the exit status for the process
	Elapsed time.Duration
}

// StatusError is a run that could not start or go on, with the exit status
// to report.
type StatusError struct {
	Status int
	Err    error
}

func (e *StatusError) Error() string { return e.Err.Error() }
func (e *StatusError) Unwrap() error { return e.Err }

// run is one invocation's state.
type run struct {
	opts   Options
	path   string // the command, resolved once
	env    []string
	sp     *child.Spawner
	stdout *bufio.Writer
	stderr io.Writer
	errMu  sync.Mutex // serialises messages on stderr

	// dispatch ends when no new job should start (halt soon, or a fatal
	// error); jobs ends when running jobs must stop (halt now).
	dispatch, jobs         context.Context
	stopDispatch, stopJobs context.CancelFunc
	window                 chan struct{} // a token per unit dispatched and not yet printed
	skip                   map[int64]bool
	log                    *joblog
	bar                    *progress
	closeAtEnd             []io.Closer
	devnull                int                    // exec mode: the jobs' stdin
	sv                     *supervisor.Supervisor // hosts the jobs' shared state and the rpc pool

	// acctMu serialises accounting: the job log, counts, halts, the bar.
	acctMu sync.Mutex

	mu       sync.Mutex
	done     int
	failed   int
	halted   bool
	haltCode int
	fatal    *StatusError
	started  time.Time
}

// Run runs opts to the end and reports how it went. Errors that stop the
// run before any job (a missing command, an unwritable job log) come back
// as *StatusError.
func Run(ctx context.Context, opts Options) (Result, error) {
	r, err := prepare(opts)
	if err != nil {
		return Result{}, err
	}
	defer r.sp.Close()
	r.dispatch, r.stopDispatch = context.WithCancel(ctx)
	r.jobs, r.stopJobs = context.WithCancel(ctx)
	defer r.stopDispatch()
	defer r.stopJobs()
	r.started = time.Now()

	// A supervisor in this process hosts shared state for the jobs (and, in
	// rpc mode, their pool), so `corral ctl with-lock`, queues and counters
	// work between them. Jobs run under another supervisor keep its socket.
	if opts.Mode == ModeRPC || !hasEnv(r.env, protocol.EnvSocket) {
		sv, err := supervisor.New(supervisor.Options{Config: &supervisor.Config{}, Log: opts.Log, Version: opts.Version})
		if err != nil {
			return Result{}, err
		}
		defer sv.Close()
		if err := sv.Start(r.jobs); err != nil {
			return Result{}, err
		}
		r.sv = sv
		if !hasEnv(r.env, protocol.EnvSocket) {
			r.env = append(r.env, protocol.EnvSocket+"="+sv.SocketPath())
		}
	}

	var runErr error
	switch opts.Mode {
	case ModeExec:
		runErr = r.runExec()
	case ModeLines:
		runErr = r.runLines()
	case ModeRPC:
		runErr = r.runRPC()
	}
	if err := r.stdout.Flush(); err != nil && runErr == nil {
		runErr = fmt.Errorf("write output: %w", err)
	}
	if r.log != nil {
		if err := r.log.close(); err != nil && runErr == nil {
			runErr = fmt.Errorf("--joblog: %w", err)
		}
	}
	r.bar.finish()
	for _, c := range r.closeAtEnd {
		c.Close()
	}
	res := r.result()
	if runErr != nil {
		var se *StatusError
		if !errors.As(runErr, &se) {
			se = &StatusError{Status: StatusAborted, Err: runErr}
		}
		res.Status = se.Status
		return res, se
	}
	if r.fatal != nil {
		res.Status = r.fatal.Status
		return res, r.fatal
	}
	return res, nil
}

func prepare(opts Options) (*run, error) {
	if opts.Command == "" {
		return nil, &StatusError{Status: 2, Err: errors.New("no command: usage is corral map [flags] -- CMD [ARGS…]")}
	}
	switch opts.Mode {
	case "":
		opts.Mode = ModeExec
	case ModeExec, ModeLines, ModeRPC:
	default:
		return nil, &StatusError{Status: 2, Err: fmt.Errorf("--mode %q: want exec, lines or rpc", opts.Mode)}
	}
	if opts.Jobs == 0 {
		opts.Jobs = runtime.NumCPU()
	}
	if opts.Jobs < 0 {
		return nil, &StatusError{Status: 2, Err: fmt.Errorf("-j %d: the number of workers must be at least 1", opts.Jobs)}
	}
	if opts.Retries < 0 {
		return nil, &StatusError{Status: 2, Err: fmt.Errorf("--retries %d: must be 0 or more", opts.Retries)}
	}
	if opts.PTY && opts.Mode != ModeLines {
		return nil, &StatusError{Status: 2, Err: errors.New("--pty applies to --mode lines")}
	}
	if opts.Grace == 0 {
		opts.Grace = 2 * time.Second
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	if opts.InputArgs == nil && len(opts.Files) == 0 {
		opts.Files = []string{"-"}
	}
	path, err := exec.LookPath(opts.Command)
	if err != nil {
		return nil, &StatusError{Status: StatusNotFound, Err: fmt.Errorf("%s: command not found", opts.Command)}
	}
	r := &run{
		opts:   opts,
		path:   path,
		stdout: bufio.NewWriterSize(opts.Stdout, 64<<10),
		stderr: opts.Stderr,
	}
	r.env = jobEnv(opts.Env)
	if opts.Resume || opts.ResumeFailed {
		if opts.Joblog == "" {
			return nil, &StatusError{Status: 2, Err: errors.New("--resume and --resume-failed need --joblog FILE")}
		}
		r.skip, err = readJoblog(opts.Joblog, opts.ResumeFailed)
		if err != nil {
			return nil, &StatusError{Status: 2, Err: err}
		}
	}
	if opts.Joblog != "" {
		r.log, err = openJoblog(opts.Joblog, opts.Resume || opts.ResumeFailed)
		if err != nil {
			return nil, &StatusError{Status: 2, Err: err}
		}
	}
	if opts.Bar {
		total, files := r.barInputs()
		sep := byte('\n')
		if opts.Null {
			sep = 0
		}
		r.bar = newProgress(opts.Stderr, total, files, sep)
	}
	r.sp = child.NewSpawner()
	return r, nil
}

// jobEnv is the jobs' environment: the caller's, with PYTHONUNBUFFERED=1
// unless it says otherwise, so wrapped Python scripts answer line by line.
func jobEnv(env []string) []string {
	if env == nil {
		env = os.Environ()
	}
	if hasEnv(env, "PYTHONUNBUFFERED") {
		return env
	}
	return append(env[:len(env):len(env)], "PYTHONUNBUFFERED=1")
}

func (r *run) result() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := Result{Jobs: r.done, Failed: r.failed, Skipped: len(r.skip), Halted: r.halted, Elapsed: time.Since(r.started)}
	switch {
	case r.halted && r.haltCode >= 0:
		res.Status = r.haltCode
	default:
		res.Status = min(r.failed, MaxFailedStatus)
	}
	return res
}

// warnf prints a message on stderr, whole.
func (r *run) warnf(format string, args ...any) {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	r.stdout.Flush()
	fmt.Fprintf(r.stderr, "corral map: "+format+"\n", args...)
}

// abort stops the run for good: no new job starts, running ones stop.
func (r *run) abort(status int, err error) {
	r.mu.Lock()
	if r.fatal == nil {
		r.fatal = &StatusError{Status: status, Err: err}
	}
	r.mu.Unlock()
	r.stopDispatch()
	r.stopJobs()
}

// record is a finished unit of work, ready to print.
type record struct {
	ord       int64
	entries   []entry
	ok        int // further jobs that succeeded, when no entries are needed
	tokens    int // window tokens to give back once printed; 1 when zero
	print     func(w *bufio.Writer, stderr io.Writer) error
	free      func()
	stopped   bool // ended by a halt: neither counted nor printed
	accounted bool // counted and logged already
	limit     int  // when > 0, print only the first limit entries (a halt came at the last)
}

// emitter prints records, in input order with --keep-order, and keeps the
// counts, the job log and the progress bar.
type emitter struct {
	r       *run
	pending map[int64]*record
	next    int64
	err     error
}

// emit prints the records from recs on a goroutine of its own until recs
// is closed; the returned channel is closed then.
func (r *run) emit(recs <-chan *record) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		e := &emitter{r: r, pending: map[int64]*record{}}
		for rec := range recs {
			e.add(rec)
		}
	}()
	return done
}

// add takes one finished record; the caller serialises calls.
func (e *emitter) add(rec *record) {
	if !rec.accounted {
		e.r.account(rec)
	}
	if !e.r.opts.KeepOrder {
		e.print(rec)
		return
	}
	e.pending[rec.ord] = rec
	for {
		rec, ok := e.pending[e.next]
		if !ok {
			return
		}
		delete(e.pending, e.next)
		e.next++
		e.print(rec)
	}
}

// account logs and counts a record as soon as it is finished, whatever its
// place in the output order, so that --halt acts on a failure at once
// (with --keep-order too) and the job log lists jobs as they end.
//
// Exec slots account for their own jobs before taking the next input, so
// that a failure that halts the run "soon" starts no further job.
func (r *run) account(rec *record) {
	r.acctMu.Lock()
	defer r.acctMu.Unlock()
	rec.accounted = true
	if r.jobs.Err() != nil && r.isHalted() {
		rec.stopped = true // halted now: what was running was stopped, not finished
		return
	}
	for i := range rec.entries {
		en := &rec.entries[i]
		if r.log != nil {
			r.log.write(en)
		}
		if r.count(en) {
			// Halted now by this entry: the ones after it in the record
			// (lines of a batch, calls of a block) count as stopped.
			rec.limit = i + 1
			break
		}
	}
	if rec.ok > 0 {
		r.mu.Lock()
		r.done += rec.ok
		r.mu.Unlock()
	}
	if r.log != nil {
		r.log.flush()
	}
	r.bar.add(len(rec.entries) + rec.ok)
}

func (e *emitter) print(rec *record) {
	r := e.r
	defer func() {
		if rec.free != nil {
			rec.free()
		}
		for range max(rec.tokens, 1) {
			<-r.window
		}
	}()
	if rec.stopped {
		return
	}
	if rec.print != nil && e.err == nil {
		r.errMu.Lock()
		err := rec.print(r.stdout, r.stderr)
		if err == nil {
			err = r.stdout.Flush()
		}
		r.errMu.Unlock()
		if err != nil {
			e.err = err
			r.abort(StatusAborted, fmt.Errorf("write output: %w", err))
		}
	}
}

// count adds a finished job to the totals and halts the run when --halt
// says so.
func (r *run) count(en *entry) (haltNow bool) {
	r.mu.Lock()
	r.done++
	if en.failed {
		r.failed++
	}
	h := r.opts.Halt
	trigger := !r.halted && h.triggered(r.done, r.failed)
	if trigger {
		r.halted = true
		switch {
		case h.OnSuccess:
			r.haltCode = 0
		case en.exit > 0:
			r.haltCode = en.exit
		default:
			r.haltCode = 1
		}
	}
	r.mu.Unlock()
	if !trigger {
		return false
	}
	what := "failed"
	if h.OnSuccess {
		what = "succeeded"
	}
	if h.Now {
		r.warnf("halting now: job %d %s (--halt); stopping the running jobs", en.seq, what)
		r.stopDispatch()
		r.stopJobs()
		return true
	}
	r.warnf("halting soon: job %d %s (--halt); waiting for the running jobs, starting no new ones", en.seq, what)
	r.stopDispatch()
	return false
}

func (r *run) isHalted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.halted
}
