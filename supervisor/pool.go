package supervisor

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/rs/zerolog"

	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
)

// Defaults for pool settings left at zero.
const (
	DefaultRestartIntensity = 5
	DefaultRestartPeriod    = 10 * time.Second
	DefaultHelloTimeout     = 10 * time.Second
	DefaultStopGrace        = 5 * time.Second
)

// ValidatePool fills in defaults and checks a pool spec.
func ValidatePool(spec *protocol.PoolSpec) *jsonrpc.Error {
	bad := func(format string, args ...any) *jsonrpc.Error {
		return protocol.Errorf(protocol.CodeInvalidParams, "invalid params: "+format, args...)
	}
	if err := ValidateName(spec.Name); err != nil {
		return bad("field \"name\": %v", err)
	}
	if spec.Command == "" {
		return bad("field \"command\" is required")
	}
	switch {
	case spec.Workers < 0:
		return bad("field \"workers\": must be positive, got %d", spec.Workers)
	case spec.Workers == 0:
		spec.Workers = runtime.NumCPU()
	}
	switch spec.Mode {
	case "":
		spec.Mode = protocol.ModeRPC
	case protocol.ModeRPC, protocol.ModeLines, protocol.ModeExec:
	default:
		return bad("field \"mode\": %q is not a mode: want \"rpc\", \"lines\" or \"exec\"", spec.Mode)
	}
	if spec.PTY && spec.Mode != protocol.ModeLines {
		return bad("field \"pty\": applies to mode \"lines\" only")
	}
	if spec.Mode != protocol.ModeRPC && spec.Stdio == protocol.StdioFDs {
		return bad("field \"stdio\": \"fds\" applies to mode \"rpc\" only")
	}
	switch spec.Stdio {
	case "":
		spec.Stdio = protocol.StdioPipes
	case protocol.StdioPipes, protocol.StdioFDs:
	default:
		return bad("field \"stdio\": want \"stdio\" or \"fds\", got %q", spec.Stdio)
	}
	if err := validateOutput(&spec.Output); err != nil {
		return err
	}
	if spec.MaxTasksPerWorker < 0 {
		return bad("field \"max_tasks_per_worker\": must be positive, got %d", spec.MaxTasksPerWorker)
	}
	if spec.Retries < 0 {
		return bad("field \"retries\": must be positive, got %d", spec.Retries)
	}
	if spec.Ahead != nil && *spec.Ahead != 0 && *spec.Ahead != 1 {
		return bad("field \"ahead\": want 0 or 1, got %d", *spec.Ahead)
	}
	if spec.RestartIntensity < 0 {
		return bad("field \"restart_intensity\": must be positive, got %d", spec.RestartIntensity)
	}
	if spec.RestartIntensity == 0 {
		spec.RestartIntensity = DefaultRestartIntensity
	}
	if spec.RestartPeriod == 0 {
		spec.RestartPeriod = protocol.SecondsOf(DefaultRestartPeriod)
	}
	if spec.HelloTimeout == 0 {
		spec.HelloTimeout = protocol.SecondsOf(DefaultHelloTimeout)
	}
	if spec.StopGrace == 0 {
		spec.StopGrace = protocol.SecondsOf(DefaultStopGrace)
	}
	return nil
}

// ValidateName checks a pool, process or object name: 1 to 255 bytes, no
// control characters.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("name is required")
	}
	if len(name) > 255 {
		return fmt.Errorf("name is %d bytes; the limit is 255", len(name))
	}
	if i := strings.IndexFunc(name, unicode.IsControl); i >= 0 {
		return fmt.Errorf("name has a control character at byte %d", i)
	}
	return nil
}

// job is one call to make on a worker: a task, or one chunk of a map.
type job struct {
	t            *task
	m            *mapJob
	chunk        int
	attemptsUsed int // runs lost with their worker, for retries
}

// retry readies a job lost with its worker to run again.
func (j *job) retry() {
	if j.t != nil {
		j.t.mu.Lock()
		j.t.running = false
		j.t.mu.Unlock()
	}
}

// unsend readies a job sent ahead to a worker that never started it to be
// sent again, as if it had never been: its start is not counted.
func (j *job) unsend() {
	if j.t != nil {
		j.t.mu.Lock()
		j.t.running = false
		j.t.attempts--
		j.t.mu.Unlock()
	}
}

func (j *job) dead() bool {
	if j.t != nil {
		return j.t.isDone()
	}
	return j.m.dead()
}

// fail ends the job with err, as if the worker had answered it so.
func (j *job) fail(err *jsonrpc.Error) {
	if j.t != nil {
		j.t.finish(nil, err)
		return
	}
	j.m.chunkDone(j.chunk, nil, err)
}

// Pool is a set of identical workers and the queue of jobs they share.
type Pool struct {
	s    *Supervisor
	spec protocol.PoolSpec
	log  zerolog.Logger

	ready     chan struct{} // closed when the first workers said hello, or failed
	readyErr  *jsonrpc.Error
	readyOnce sync.Once

	mu        sync.Mutex
	state     string
	endErr    *jsonrpc.Error // why a terminated or broken pool runs nothing
	queue     []*job
	qhead     int
	idle      []*worker
	workers   map[*worker]struct{}
	seq       int
	functions []string
	batch     bool
	busy      int
	// runAvg is a moving average of how long jobs run (from start to
	// answer), for sending ahead (dispatch.go); negative until one has.
	runAvg    time.Duration
	pending   int // tasks and maps submitted and not yet ended
	done      int64
	failed    int64
	restarts  int64
	deaths    []time.Time
	crashRun  int // consecutive failed starts, for backoff
	hellos    int // successful handshakes, for readiness
	badHellos int // failed handshakes before the pool was ready
	joiners   []chan struct{}

	wg sync.WaitGroup // worker goroutines and restart timers
}

func newPool(s *Supervisor, spec protocol.PoolSpec) *Pool {
	return &Pool{
		s:       s,
		spec:    spec,
		log:     s.log.With().Str("pool", spec.Name).Logger(),
		ready:   make(chan struct{}),
		state:   protocol.PoolRunning,
		workers: make(map[*worker]struct{}),
		runAvg:  -1,
	}
}

// start spawns the initial workers. A command that cannot be started fails
// at once; hellos are awaited with waitReady.
func (p *Pool) start() error {
	for range p.spec.Workers {
		if err := p.addWorker(true); err != nil {
			return err
		}
	}
	return nil
}

// waitReady waits until every initial worker has said hello, or one failed.
func (p *Pool) waitReady(ctx context.Context) error {
	select {
	case <-p.ready:
		if p.readyErr != nil {
			return p.readyErr
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Pool) markReady(err *jsonrpc.Error) {
	p.readyOnce.Do(func() {
		p.readyErr = err
		close(p.ready)
	})
}

// workerReady records a worker's hello. The pool is ready once as many
// workers as it should have have said hello (replacements for failed
// starts included).
func (p *Pool) workerReady(w *worker, hello protocol.HelloResult) {
	p.mu.Lock()
	if p.functions == nil {
		p.functions = hello.Functions
		if p.functions == nil {
			p.functions = []string{}
		}
		p.batch = hello.Batch
	} else if !slices.Equal(p.functions, hello.Functions) {
		w.log.Warn().Strs("functions", hello.Functions).Strs("pool_functions", p.functions).
			Msg("worker serves other functions than the pool's first worker")
	}
	p.batch = p.batch && hello.Batch
	w.inOrder = hello.InOrder && (p.spec.Ahead == nil || *p.spec.Ahead > 0)
	p.crashRun = 0
	p.hellos++
	ready := p.hellos == p.spec.Workers
	p.mu.Unlock()
	w.log.Debug().Strs("functions", hello.Functions).Bool("batch", hello.Batch).Msg("worker said hello")
	if ready {
		p.markReady(nil)
	}
}

// handshakeFailed counts a failed hello while the pool is starting: a pool
// whose workers cannot complete one handshake in restart_intensity+1 tries
// is broken, even when the failures are too slow (hello_timeout) for the
// restart period to catch.
func (p *Pool) handshakeFailed(w *worker, why error) {
	p.mu.Lock()
	ready := p.hellos >= p.spec.Workers
	if !ready {
		p.badHellos++
	}
	broken := !ready && p.badHellos > p.spec.RestartIntensity
	p.mu.Unlock()
	if broken {
		err := protocol.ErrorWith(protocol.CodePoolBroken,
			fmt.Sprintf("pool %s is broken: its workers failed %d handshakes before it could start; last: worker %s %v",
				p.spec.Name, p.spec.RestartIntensity+1, w.name, why),
			protocol.ErrorData{Pool: p.spec.Name, Worker: w.name})
		p.log.Error().Msg(err.Message)
		p.end(protocol.PoolBroken, err)
	}
}

// admit checks that the pool takes new work for fn and counts it as
// pending; the work must then be enqueued, and end with taskEnded or
// mapEnded.
func (p *Pool) admit(fn string) *jsonrpc.Error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.checkLocked(fn); err != nil {
		return err
	}
	p.pending++
	return nil
}

// check is admit without counting, for work that needs no worker.
func (p *Pool) check(fn string) *jsonrpc.Error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.checkLocked(fn)
}

func (p *Pool) checkLocked(fn string) *jsonrpc.Error {
	switch p.state {
	case protocol.PoolClosed:
		return protocol.Errorf(protocol.CodeClosed, "pool %s is closed: it takes no new tasks", p.spec.Name)
	case protocol.PoolTerminated:
		return protocol.Errorf(protocol.CodeTerminated, "pool %s is terminated: it takes no new tasks", p.spec.Name)
	case protocol.PoolBroken:
		return p.endErr
	}
	if len(p.functions) > 0 && !slices.Contains(p.functions, fn) {
		return protocol.Errorf(protocol.CodeUnknownFunction, "pool %s does not serve %q; its workers serve: %s",
			p.spec.Name, fn, strings.Join(p.functions, ", "))
	}
	return nil
}

// workEnded counts a task or map that has ended.
func (p *Pool) workEnded(failed bool) {
	p.mu.Lock()
	p.workEndedLocked(failed)
	p.mu.Unlock()
}

// workEndedLocked is workEnded with p.mu held.
func (p *Pool) workEndedLocked(failed bool) {
	if failed {
		p.failed++
	} else {
		p.done++
	}
	p.ended()
}

// ended is called with p.mu held when a task or map ends.
func (p *Pool) ended() {
	p.pending--
	if p.pending == 0 && p.state != protocol.PoolRunning {
		p.drained()
	}
}

// drained is called with p.mu held when a closed pool's last work is done:
// joiners are released and the workers leave, as multiprocessing's do.
func (p *Pool) drained() {
	for _, j := range p.joiners {
		close(j)
	}
	p.joiners = nil
	if p.state == protocol.PoolClosed {
		for w := range p.workers {
			w.retire("the pool is closed and has no work left")
		}
		// Wake the idle ones; busy ones leave after their job (of a map
		// that already ended).
		for _, w := range p.idle {
			w.wake()
		}
		p.idle = nil
	}
}

// close stops the pool taking new tasks; queued ones still run.
func (p *Pool) close() {
	p.mu.Lock()
	if p.state == protocol.PoolRunning {
		p.state = protocol.PoolClosed
		if p.pending == 0 {
			p.drained()
		}
	}
	p.mu.Unlock()
}

// joinChan returns a channel closed when the pool is not running and has
// no pending work, or an error when the pool is still open.
func (p *Pool) joinChan() (<-chan struct{}, *jsonrpc.Error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == protocol.PoolRunning {
		return nil, protocol.Errorf(protocol.CodeValueError, "pool %s is still running: call pool.close or pool.terminate before pool.join", p.spec.Name)
	}
	ch := make(chan struct{})
	if p.pending <= 0 {
		close(ch)
		return ch, nil
	}
	p.joiners = append(p.joiners, ch)
	return ch, nil
}

func (p *Pool) join(ctx context.Context) error {
	ch, err := p.joinChan()
	if err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// terminate stops the pool now: queued work fails with terminated, workers
// are stopped (SIGTERM, grace, SIGKILL) and their running tasks fail. It
// returns when every worker has been reaped.
func (p *Pool) terminate(why string) {
	p.stopNow(why)
	p.wg.Wait()
}

// stopNow is terminate without the wait: the pool takes nothing new from
// the moment it returns.
func (p *Pool) stopNow(why string) {
	p.end(protocol.PoolTerminated, protocol.Errorf(protocol.CodeTerminated,
		"pool %s was terminated (%s) before the task finished", p.spec.Name, why))
}

// end moves the pool to a final state and fails everything not yet done.
func (p *Pool) end(state string, err *jsonrpc.Error) {
	p.mu.Lock()
	if p.state == protocol.PoolTerminated || p.state == protocol.PoolBroken {
		p.mu.Unlock()
		return
	}
	p.state, p.endErr = state, err
	queued := p.queue[p.qhead:]
	p.queue, p.qhead = nil, 0
	workers := make([]*worker, 0, len(p.workers))
	for w := range p.workers {
		workers = append(workers, w)
	}
	for _, j := range p.joiners {
		close(j)
	}
	p.joiners = nil
	p.mu.Unlock()
	p.markReady(err)
	for _, j := range queued {
		switch {
		case !j.dead():
			j.fail(err)
		case j.m != nil:
			// Its map has failed or lost its client: the chunk is
			// settled without running, so the map can end.
			p.mu.Lock()
			j.m.dropLocked(j.chunk)
			p.mu.Unlock()
		}
	}
	for _, w := range workers {
		w.requestStop(err)
	}
}

// workerExited is called by a worker's goroutine as it ends. crashed says
// the process ended without being asked to (counted against the restart
// intensity); exit describes how.
func (p *Pool) workerExited(w *worker, crashed bool, exit string) {
	p.mu.Lock()
	delete(p.workers, w)
	if i := slices.Index(p.idle, w); i >= 0 {
		p.idle = slices.Delete(p.idle, i, i+1)
	}
	state := p.state
	var broken *jsonrpc.Error
	delay := time.Duration(0)
	if crashed && (state == protocol.PoolRunning || state == protocol.PoolClosed) {
		now := time.Now()
		period := p.spec.RestartPeriod.Duration()
		p.deaths = append(p.deaths, now)
		for len(p.deaths) > 0 && now.Sub(p.deaths[0]) > period {
			p.deaths = p.deaths[1:]
		}
		if len(p.deaths) > p.spec.RestartIntensity {
			broken = protocol.ErrorWith(protocol.CodePoolBroken,
				fmt.Sprintf("pool %s is broken: %d workers died within %v, more than its restart intensity (%d); last: worker %s %s",
					p.spec.Name, len(p.deaths), period, p.spec.RestartIntensity, w.name, exit),
				protocol.ErrorData{Pool: p.spec.Name, Worker: w.name})
		}
		if p.crashRun > 0 {
			delay = min(10*time.Millisecond<<(p.crashRun-1), time.Second)
		}
		p.crashRun++
	}
	restart := broken == nil && (state == protocol.PoolRunning || (state == protocol.PoolClosed && p.pending > 0)) && !p.s.isClosing()
	if restart {
		p.restarts++
	}
	p.mu.Unlock()
	if broken != nil {
		p.log.Error().Str("worker", w.name).Msg(broken.Message)
		p.end(protocol.PoolBroken, broken)
		return
	}
	if !restart {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if delay > 0 {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-p.s.done:
				return
			}
		}
		if p.isEnded() {
			return
		}
		if err := p.addWorker(false); err != nil {
			p.log.Error().Err(err).Msg("cannot replace worker")
			p.end(protocol.PoolBroken, protocol.ErrorWith(protocol.CodePoolBroken,
				fmt.Sprintf("pool %s is broken: cannot start a replacement worker: %v", p.spec.Name, err),
				protocol.ErrorData{Pool: p.spec.Name}))
		}
	}()
}

func (p *Pool) isEnded() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state == protocol.PoolTerminated || p.state == protocol.PoolBroken
}

func (s *Supervisor) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (p *Pool) stats() protocol.PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	queued := 0
	for _, j := range p.queue[p.qhead:] {
		if !j.dead() {
			queued++
		}
	}
	for w := range p.workers {
		if w.next != nil && !w.next.dead() {
			queued++ // sent ahead, not started
		}
	}
	return protocol.PoolStats{
		Name:     p.spec.Name,
		State:    p.state,
		Workers:  len(p.workers),
		Busy:     p.busy,
		Idle:     len(p.idle),
		Queued:   queued,
		Done:     p.done,
		Failed:   p.failed,
		Restarts: p.restarts,
		Command:  p.spec.Command,
	}
}
