package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/child"
	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/pipes"
	"github.com/corralhq/corral/protocol"
)

// worker is one process of a pool. Its goroutine (run) owns the process:
// it alone stops it, settles what the process's loss leaves behind, and
// reports the exit to the pool. Jobs themselves run event-driven
// (dispatch.go).
type worker struct {
	p       *Pool
	id      int64
	name    string
	log     zerolog.Logger
	proc    *child.Proc
	conn    *jsonrpc.Conn
	handler *client // serves the worker's own calls to the supervisor

	// ctx ends when the process exits or the worker is asked to stop.
	ctx    context.Context
	cancel context.CancelFunc
	events chan struct{} // capacity 1: wakes run to look at the state

	// Job state, guarded by p.mu.
	cur      *job        // the job in flight; nil when free
	attempt  uint64      // identifies cur's run, for claim
	next     *job        // sent ahead (inOrder workers): not started yet
	nextAt   uint64      // identifies next's run
	seq      uint64      // the last run identifier given out
	inOrder  bool        // the worker runs tasks one at a time, in order
	curStart time.Time   // when cur started
	timer    *time.Timer // task_timeout of cur
	lost     bool        // cur's call ended with the connection
	timedOut bool        // cur timed out and the process was stopped
	ran      int         // jobs run, for max_tasks_per_worker

	// interrupted: stopped in the middle of a job, so not let go gently.
	// Written and read only by the worker's goroutine.
	interrupted bool

	mu      sync.Mutex
	stopErr *jsonrpc.Error // set by requestStop: why running work fails
	retired string         // set by retire: why the worker leaves gracefully

	pipesWG sync.WaitGroup // the process watcher and output forwarders
}

// addWorker spawns a worker and starts its goroutine.
func (p *Pool) addWorker(initial bool) error {
	w, err := p.spawn()
	if err != nil {
		if initial {
			p.markReady(err.(*jsonrpc.Error))
		}
		return err
	}
	p.mu.Lock()
	ended := p.state == protocol.PoolTerminated || p.state == protocol.PoolBroken
	p.workers[w] = struct{}{}
	endErr := p.endErr
	if p.state == protocol.PoolClosed && p.pending == 0 {
		// The work it was to replace a worker for is done meanwhile.
		w.retire("the pool is closed and has no work left")
	}
	p.mu.Unlock()
	if ended {
		w.requestStop(endErr)
	}
	p.wg.Add(1)
	go w.run()
	return nil
}

func (p *Pool) spawn() (*worker, error) {
	p.mu.Lock()
	p.seq++
	n := p.seq
	p.mu.Unlock()
	w := &worker{
		p:      p,
		id:     p.s.workerSeq.Add(1),
		name:   fmt.Sprintf("%s-%d", p.spec.Name, n),
		events: make(chan struct{}, 1),
	}
	w.log = p.log.With().Str("worker", w.name).Logger()
	spawnErr := func(err error) error {
		return protocol.ErrorWith(protocol.CodeSpawnFailed,
			fmt.Sprintf("pool %s: cannot start worker %s: %v", p.spec.Name, w.name, err),
			protocol.ErrorData{Pool: p.spec.Name, Worker: w.name})
	}
	// toW → toR: our messages to the worker; fromW → fromR: its to us.
	// Their buffers hold a whole map chunk (defaultChunkBytes) each way.
	toR, toW, err := child.LinkPipe(linkPipeSize)
	if err != nil {
		return nil, spawnErr(err)
	}
	fromR, fromW, err := child.LinkPipe(linkPipeSize)
	if err != nil {
		child.CloseAll(toR, toW)
		return nil, spawnErr(err)
	}
	inherit := p.spec.Output == protocol.OutputInherit
	var errR, errW *os.File
	if inherit {
		errW = p.s.childErr
	} else if errR, errW, err = child.Pipe(); err != nil {
		child.CloseAll(toR, toW, fromR, fromW)
		return nil, spawnErr(err)
	}
	env := p.s.childEnv(p.spec.Env,
		protocol.EnvWorkerID+"="+strconv.FormatInt(w.id, 10),
		protocol.EnvWorkerName+"="+w.name,
		protocol.EnvPool+"="+p.spec.Name)
	spec := child.Spec{
		Path: p.spec.Command, Args: p.spec.Args, Dir: p.spec.Cwd, Env: env,
		Stderr: errW, KillGroupOnExit: true,
	}
	if p.spec.Mode != protocol.ModeRPC {
		spec.Path, spec.Args = p.s.adapter, adapterArgs(p.spec)
	}
	var outR, outW *os.File
	if p.spec.Stdio == protocol.StdioFDs {
		if inherit {
			outW = p.s.childOut
		} else if outR, outW, err = child.Pipe(); err != nil {
			child.CloseAll(toR, toW, fromR, fromW, errR, errW)
			return nil, spawnErr(err)
		}
		spec.Env = append(spec.Env, protocol.EnvProtocolFDs+"=3,4")
		spec.ExtraFiles = []*os.File{toR, fromW}
		spec.Stdout = outW
	} else {
		spec.Stdin, spec.Stdout = toR, fromW
	}
	proc, err := p.s.spawner.Start(spec)
	child.CloseAll(toR, fromW) // the child's ends
	if !inherit {
		child.CloseAll(errW, outW)
	}
	if err != nil {
		child.CloseAll(toW, fromR, errR, outR)
		return nil, spawnErr(err)
	}
	w.proc = proc
	w.log = w.log.With().Int("pid", proc.Pid()).Logger()
	w.ctx, w.cancel = context.WithCancel(context.Background())

	handler := &client{s: p.s, via: "worker " + w.name, log: w.log, worker: w}
	w.handler = handler
	w.conn = jsonrpc.NewConn(fromR, toW, closers{toW, fromR}, handler, jsonrpc.Options{
		MaxLine: p.s.cfg.MaxMessage,
		Noise:   func(line []byte) { pipes.LogLine(w.log, "worker output", line) },
		OnError: func(err error) { w.log.Warn().Err(err).Msg("protocol problem") },
	})
	handler.conn = w.conn
	w.conn.Start()

	w.pipesWG.Add(1)
	go func() {
		defer w.pipesWG.Done()
		<-proc.Done()
		w.cancel()
	}()
	forward := func(r *os.File, msg string) {
		w.pipesWG.Add(1)
		go func() {
			defer w.pipesWG.Done()
			pipes.ForwardLines(r, w.log, msg)
			r.Close()
		}()
	}
	if errR != nil {
		forward(errR, "worker stderr")
	}
	if outR != nil {
		forward(outR, "worker stdout")
	}
	w.log.Debug().Str("command", p.spec.Command).Msg("worker started")
	return w, nil
}

// closers closes several things as one.
type closers []interface{ Close() error }

func (cs closers) Close() error {
	var first error
	for _, c := range cs {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (w *worker) stopRequested() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopErr != nil
}

// requestStop makes the worker stop now; its running job fails with err.
func (w *worker) requestStop(err *jsonrpc.Error) {
	w.mu.Lock()
	if w.stopErr == nil {
		w.stopErr = err
	}
	w.mu.Unlock()
	w.cancel()
	w.wake()
}

func (w *worker) isRetired() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.retired != ""
}

// retire makes the worker leave after its current job, gracefully.
func (w *worker) retire(why string) {
	w.mu.Lock()
	w.retired = why
	w.mu.Unlock()
}

// run is the worker's goroutine: handshake, then jobs until told to stop or
// the process is gone; then it stops the process and tells the pool.
func (w *worker) run() {
	defer w.p.wg.Done()
	crashed, why := w.serve()
	// At supervisor shutdown a worker is let go as at recycling: EOF on its
	// input first, so that a well-behaved one exits cleanly; a stop asked
	// for by pool.terminate or a broken pool is immediate (SIGTERM).
	graceful := !crashed && (!w.stopRequested() || (w.p.s.isClosing() && !w.interrupted))
	exit := w.shutdown(graceful)
	w.mu.Lock()
	retired := w.retired
	w.mu.Unlock()
	ev := w.log.Info()
	if crashed {
		ev = w.log.Warn()
	}
	ev.Str("exit", exit.String()).Str("why", why).Msg("worker stopped")
	if why == "" {
		why = exit.String()
	}
	if retired != "" {
		why = retired
	}
	w.p.workerExited(w, crashed, why)
}

// serve runs the handshake, puts the worker to work, then waits for the
// moment it must end. crashed reports an exit the supervisor did not ask
// for.
func (w *worker) serve() (crashed bool, why string) {
	hello, err := w.hello()
	if err != nil {
		if w.stopRequested() {
			return false, "stopped during its handshake"
		}
		w.log.Error().Err(err).Msg("worker failed its handshake")
		w.p.handshakeFailed(w, err)
		return true, err.Error()
	}
	w.p.workerReady(w, hello)
	w.p.offer(w)
	for {
		select {
		case <-w.events:
		case <-w.proc.Done():
		}
		p := w.p
		p.mu.Lock()
		lost, timedOut, busy := w.lost, w.timedOut, w.cur != nil
		p.mu.Unlock()
		exited := false
		select {
		case <-w.proc.Done():
			exited = true
		default:
		}
		switch {
		case w.stopRequested():
			w.takeAhead()
			if j := w.claimCurrent(); j != nil {
				w.interrupted = true
				w.mu.Lock()
				stopErr := w.stopErr
				w.mu.Unlock()
				j.fail(stopErr)
			}
			return false, "stopped"
		case timedOut:
			w.takeAhead()
			return false, "stopped: task timeout"
		case lost || (exited && busy):
			exit := w.waitExit()
			// Answers the worker wrote before it ended are settled first,
			// so that the job lost is the one it was running.
			w.drain()
			w.takeAhead()
			if j := w.claimCurrent(); j != nil {
				w.lose(j, exit)
			}
			return true, "exited mid-task: " + exit.String()
		case exited:
			w.takeAhead()
			return true, "exited while idle: " + w.proc.Exit().String()
		case w.isRetired() && !busy:
			w.mu.Lock()
			retired := w.retired
			w.mu.Unlock()
			return false, retired
		}
	}
}

// lose settles a job whose worker died under it: run again when the pool
// allows retries, otherwise failed with worker_lost.
func (w *worker) lose(j *job, exit child.Exit) {
	j.attemptsUsed++
	if j.attemptsUsed <= w.p.spec.Retries {
		w.log.Warn().Str("task", w.jobName(j)).Str("exit", exit.String()).
			Int("attempt", j.attemptsUsed).Msg("worker lost mid-task; retrying the task")
		j.retry()
		w.p.enqueue(j, true)
		return
	}
	w.log.Error().Str("task", w.jobName(j)).Str("exit", exit.String()).Msg("worker lost mid-task")
	j.fail(protocol.ErrorWith(protocol.CodeWorkerLost,
		fmt.Sprintf("task %s lost: worker %s (pid %d) %s", w.jobName(j), w.name, w.proc.Pid(), exit),
		w.lossData(j, exit)))
}

// drain waits, briefly, for the connection of a worker that ended to
// deliver what it wrote before it did.
func (w *worker) drain() {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-w.conn.Done():
	case <-t.C:
	}
}

// waitExit waits, briefly, for a process whose pipes closed to be reaped.
func (w *worker) waitExit() child.Exit {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-w.proc.Done():
		return w.proc.Exit()
	case <-t.C:
		return w.proc.Stop(w.p.spec.StopGrace.Duration())
	}
}

func (w *worker) hello() (protocol.HelloResult, error) {
	d := w.p.spec.HelloTimeout.Duration()
	ctx, cancel := context.WithTimeout(w.ctx, d)
	defer cancel()
	params := protocol.HelloParams{
		Protocol: protocol.Version,
		Role:     protocol.RoleSupervisor,
		Name:     "corral",
		Version:  w.p.s.version,
		Socket:   w.p.s.socket,
		Worker:   &protocol.WorkerInfo{ID: int(w.id), Name: w.name, Pool: w.p.spec.Name},
	}
	var res protocol.HelloResult
	err := w.conn.Call(ctx, protocol.MethodHello, params, &res)
	var rerr *jsonrpc.Error
	switch {
	case err == nil:
	case errors.As(err, &rerr):
		return res, fmt.Errorf("refused corral.hello: %s", rerr.Message)
	case errors.Is(err, context.DeadlineExceeded):
		return res, fmt.Errorf("did not answer corral.hello within %v", d)
	case w.ctx.Err() != nil || errors.Is(err, jsonrpc.ErrClosed):
		return res, fmt.Errorf("ended before answering corral.hello: %s", w.waitExit())
	default:
		return res, fmt.Errorf("answered corral.hello with a malformed result: %v", err)
	}
	if res.Protocol != protocol.Version {
		return res, fmt.Errorf("answered corral.hello with protocol %q; this supervisor speaks %q: use a worker shim built for %s",
			res.Protocol, protocol.Version, protocol.Version)
	}
	if res.Role != protocol.RoleWorker {
		return res, fmt.Errorf("answered corral.hello with role %q, not %q", res.Role, protocol.RoleWorker)
	}
	return res, nil
}

func (w *worker) jobName(j *job) string {
	if j.t != nil {
		return fmt.Sprintf("%s (%s)", j.t.id, j.t.fn)
	}
	m := j.m
	return fmt.Sprintf("%s chunk %d (%s, items %d-%d)", m.id, j.chunk, m.fn, m.starts[j.chunk], m.starts[j.chunk]+m.counts[j.chunk]-1)
}

func (w *worker) lossData(j *job, exit child.Exit) protocol.ErrorData {
	d := w.baseData(j)
	d.Pid = w.proc.Pid()
	if exit.Signal != 0 {
		d.Signal = child.SignalName(exit.Signal)
	} else if exit.Err == nil {
		code := exit.Code
		d.ExitCode = &code
	}
	return d
}

func (w *worker) baseData(j *job) protocol.ErrorData {
	d := protocol.ErrorData{Pool: w.p.spec.Name, Worker: w.name}
	if j.t != nil {
		d.Task, d.Fn = j.t.id, j.t.fn
	} else {
		d.Task, d.Fn = j.m.id, j.m.fn
	}
	return d
}

// taskError adds where an error happened to a worker's error answer.
func (w *worker) taskError(j *job, e *jsonrpc.Error) *jsonrpc.Error {
	var d protocol.ErrorData
	if len(e.Data) > 0 {
		if err := json.Unmarshal(e.Data, &d); err != nil {
			d.Message = string(e.Data)
		}
	}
	base := w.baseData(j)
	d.Task, d.Fn, d.Pool, d.Worker = base.Task, base.Fn, base.Pool, base.Worker
	if j.m != nil && d.Index != nil {
		global := *d.Index + j.m.starts[j.chunk]
		d.Index = &global
	}
	code := e.Code
	if code == protocol.CodeMethodNotFound {
		code = protocol.CodeUnknownFunction
	}
	return protocol.ErrorWith(code, e.Message, d)
}

func describeCount(n int, err error) string {
	if err != nil {
		return "something other than an array"
	}
	return fmt.Sprintf("%d results", n)
}

// shutdown stops the process: gracefully (EOF on its input, then the
// staged stop after the grace period) or at once (SIGTERM, grace,
// SIGKILL). It returns how the process ended, after its pipes drained.
func (w *worker) shutdown(graceful bool) child.Exit {
	grace := w.p.spec.StopGrace.Duration()
	if graceful {
		w.conn.Close()
		t := time.NewTimer(grace)
		select {
		case <-w.proc.Done():
		case <-t.C:
			w.proc.Stop(grace)
		}
		t.Stop()
	} else {
		w.proc.Stop(grace)
		w.conn.Close()
	}
	exit := w.proc.Exit()
	w.cancel()
	w.pipesWG.Wait()
	w.handler.closed() // what the worker submitted or holds, it leaves behind
	return exit
}

// adapterArgs runs a lines or exec worker behind `corral adapter`, which
// speaks the protocol for it: the program itself speaks none.
func adapterArgs(spec protocol.PoolSpec) []string {
	args := []string{"adapter", "--mode", spec.Mode}
	if spec.PTY {
		args = append(args, "--pty")
	}
	return append(append(args, "--", spec.Command), spec.Args...)
}
