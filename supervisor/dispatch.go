package supervisor

import (
	"errors"
	"fmt"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/internal/jsonx"
	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
)

// Jobs run event-driven: the goroutine that makes a job ready (a client's
// read loop submitting it, a worker's read loop finishing the previous one)
// sends it to a free worker itself, and the worker's answer settles the job
// on that worker's read loop, where the reply to the client is written at
// once. No goroutine hand-off lies between a request and its answer; on
// these machines each one costs tens of microseconds. The worker's own
// goroutine (run) only starts and stops the process and settles what a
// lost process leaves behind.
//
// A worker's job state (cur, attempt, timer, lost, timedOut, ran) is
// guarded by the pool's mutex.

// assign makes j the worker's current job; p.mu is held.
func (w *worker) assign(j *job) uint64 {
	w.p.busy++
	w.cur = j
	w.curStart = time.Now()
	w.seq++
	w.attempt = w.seq
	return w.attempt
}

// Sending ahead. A worker that runs its tasks one at a time in the order
// they come (hello's in_order) is sent the next job while it still runs
// the current one, so it starts on it the moment it answers, with no
// round trip between: for small tasks that round trip is most of the
// cost. The job sent ahead has not started while the current one runs, so
// if the worker is lost it goes back to the front of the queue, uncharged,
// and only the current job is lost. Its task_timeout starts when it
// becomes current.
//
// A job sent ahead is committed to its worker: if another worker frees up
// first, the job still waits. That costs nothing worth having when jobs
// are short, and a whole job's time when they are long (three downloads
// of 1, 5 and 3 s on two workers: the third must go to whichever finishes
// first). So jobs go ahead only while the pool's jobs have been running
// shorter than aheadMaxRun on average and the worker's current one has
// not run longer.

// aheadMaxRun is the longest average job run for which jobs are sent ahead.
const aheadMaxRun = 5 * time.Millisecond

// noteRun adds a job's run time to the pool's average; p.mu is held.
func (p *Pool) noteRun(d time.Duration) {
	if p.runAvg < 0 {
		p.runAvg = d
		return
	}
	p.runAvg += (d - p.runAvg) / 8
}

// canTakeAheadLocked reports whether w may be sent a job ahead; p.mu is
// held.
func (w *worker) canTakeAheadLocked() bool {
	p := w.p
	return w.inOrder && w.cur != nil && w.next == nil && !w.lost && !w.timedOut &&
		p.runAvg >= 0 && p.runAvg < aheadMaxRun && time.Since(w.curStart) < aheadMaxRun &&
		w.ctx.Err() == nil && !w.stopRequested() && !w.isRetired() &&
		(p.spec.MaxTasksPerWorker == 0 || w.ran < p.spec.MaxTasksPerWorker) &&
		p.oneCallLocked(w.cur)
}

// oneCallLocked reports whether j goes to its worker as one call, which
// can be sent ahead; a map chunk on workers without task.map runs item by
// item (runItems). p.mu is held.
func (p *Pool) oneCallLocked(j *job) bool {
	return j.m == nil || p.batch
}

// aheadTargetLocked is a worker that can be sent a job ahead, or nil.
func (p *Pool) aheadTargetLocked(j *job) *worker {
	if !p.oneCallLocked(j) {
		return nil
	}
	for w := range p.workers {
		if w.canTakeAheadLocked() {
			return w
		}
	}
	return nil
}

// sendAheadLocked sends j to w as its next job; p.mu is held and released.
func (p *Pool) sendAheadLocked(w *worker, j *job) {
	w.seq++
	a := w.seq
	w.next, w.nextAt = j, a
	w.ran++
	p.mu.Unlock()
	if j.t != nil && !j.t.start() {
		// Cancelled while queued: settled already.
		p.mu.Lock()
		if w.next == j && w.nextAt == a {
			w.next = nil
			w.ran--
		}
		p.mu.Unlock()
		p.fillAhead(w)
		return
	}
	if err := w.send(j, a); err != nil {
		w.complete(a, nil, err)
	}
}

// fillAhead sends w the next queued job ahead, if it can take one.
func (p *Pool) fillAhead(w *worker) {
	p.mu.Lock()
	if !w.canTakeAheadLocked() {
		p.mu.Unlock()
		return
	}
	j := p.popLocked()
	if j == nil || !p.oneCallLocked(j) {
		if j != nil {
			p.pushFrontLocked(j)
		}
		p.mu.Unlock()
		return
	}
	p.sendAheadLocked(w, j)
}

// promote makes the job sent ahead current once the one before it is
// answered. It reports whether the worker is busy after it: false when it
// is free for the pool to offer it work.
func (w *worker) promote() bool {
	p := w.p
	p.mu.Lock()
	j := w.next
	if j == nil || w.cur != nil {
		// Nothing sent ahead, or the job sent ahead was the one answered
		// (out of order) and the current one still runs.
		busy := w.cur != nil
		p.mu.Unlock()
		return busy
	}
	w.next = nil
	p.busy++
	w.cur, w.attempt = j, w.nextAt
	w.curStart = time.Now()
	w.startTimerLocked(w.attempt)
	p.mu.Unlock()
	p.fillAhead(w)
	return true
}

// startTimerLocked arms task_timeout for run a, the current job; p.mu is
// held.
func (w *worker) startTimerLocked(a uint64) {
	if d := w.p.spec.TaskTimeout.Duration(); d > 0 {
		w.timer = time.AfterFunc(d, func() { w.timeout(a) })
	}
}

// takeAhead takes back the job sent ahead to a worker that is going away:
// it never started, so it is queued again, at the front, uncharged.
func (w *worker) takeAhead() {
	p := w.p
	p.mu.Lock()
	j := w.next
	w.next = nil
	p.mu.Unlock()
	if j == nil {
		return
	}
	j.unsend()
	p.enqueue(j, true)
}

// claim takes the current job if attempt a still holds it, so that exactly
// one of the answer, the timeout, a stop or the loss of the process settles
// it. A worker answering the job sent ahead first (out of the order it
// promised) gets that one settled.
func (w *worker) claim(a uint64) (*job, bool) {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.next != nil && w.nextAt == a {
		j := w.next
		w.next = nil
		return j, true
	}
	if w.cur == nil || w.attempt != a {
		return nil, false
	}
	return w.releaseLocked(), true
}

// claimCurrent takes whatever job the worker holds, if any.
func (w *worker) claimCurrent() *job {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.cur == nil {
		return nil
	}
	return w.releaseLocked()
}

func (w *worker) releaseLocked() *job {
	j := w.cur
	w.cur = nil
	w.p.busy--
	w.p.noteRun(time.Since(w.curStart))
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	return j
}

// wake tells the worker's goroutine to look at its state.
func (w *worker) wake() {
	select {
	case w.events <- struct{}{}:
	default:
	}
}

// enqueue hands j to an idle worker, or queues it (at the front for a
// retry, so a retried task does not lose its place).
func (p *Pool) enqueue(j *job, front bool) {
	p.mu.Lock()
	if p.state == protocol.PoolTerminated || p.state == protocol.PoolBroken {
		err := p.endErr
		p.mu.Unlock()
		j.fail(err)
		return
	}
	for n := len(p.idle); n > 0; n = len(p.idle) {
		w := p.idle[n-1]
		p.idle = p.idle[:n-1]
		if w.ctx.Err() != nil {
			continue // its process is gone; its goroutine is reporting it
		}
		a := w.assign(j)
		p.mu.Unlock()
		if !w.begin(j, a) {
			p.offer(w)
		}
		return
	}
	if p.qhead == len(p.queue) {
		if w := p.aheadTargetLocked(j); w != nil {
			p.sendAheadLocked(w, j)
			return
		}
	}
	if front {
		p.pushFrontLocked(j)
	} else {
		p.queue = append(p.queue, j)
	}
	p.mu.Unlock()
}

// pushFrontLocked queues j first; p.mu is held.
func (p *Pool) pushFrontLocked(j *job) {
	if p.qhead > 0 {
		p.qhead--
		p.queue[p.qhead] = j
	} else {
		p.queue = append([]*job{j}, p.queue...)
	}
}

// popLocked takes the next live job from the queue; p.mu is held.
func (p *Pool) popLocked() *job {
	for p.qhead < len(p.queue) {
		j := p.queue[p.qhead]
		p.queue[p.qhead] = nil
		p.qhead++
		if p.qhead == len(p.queue) {
			p.queue, p.qhead = p.queue[:0], 0
		}
		if !j.dead() {
			return j
		}
		if j.m != nil {
			j.m.dropLocked(j.chunk)
		}
	}
	return nil
}

// offer gives a free worker its next job, or parks it among the idle. A
// worker that must leave (stopped, retired, recycled) is told to, instead.
func (p *Pool) offer(w *worker) {
	for {
		p.mu.Lock()
		if w.stopRequested() || w.isRetired() || w.ctx.Err() != nil {
			p.mu.Unlock()
			w.wake()
			return
		}
		if p.spec.MaxTasksPerWorker > 0 && w.ran >= p.spec.MaxTasksPerWorker {
			p.mu.Unlock()
			w.retire("max_tasks_per_worker reached")
			w.wake()
			return
		}
		j := p.popLocked()
		if j == nil {
			p.idle = append(p.idle, w)
			p.mu.Unlock()
			return
		}
		a := w.assign(j)
		p.mu.Unlock()
		if w.begin(j, a) {
			p.fillAhead(w)
			return
		}
	}
}

// begin sends job j (attempt a) to the worker. It returns false when the
// job was settled at once (a task cancelled while queued), leaving the
// worker free.
func (w *worker) begin(j *job, a uint64) bool {
	p := w.p
	if j.t != nil && !j.t.start() {
		w.claim(a)
		return false
	}
	p.mu.Lock()
	w.ran++
	w.startTimerLocked(a)
	p.mu.Unlock()
	if err := w.send(j, a); err != nil {
		w.complete(a, nil, err)
	}
	return true
}

// send writes job j (run a) to the worker; its answer settles it through
// complete.
func (w *worker) send(j *job, a uint64) error {
	p := w.p
	done := func(res json.RawMessage, err error) { w.complete(a, res, err) }
	var err error
	switch {
	case j.t != nil:
		t := j.t
		err = w.conn.CallAsync(protocol.MethodTaskRun, protocol.RunParams{Task: t.id, Fn: t.fn, Args: t.args, Kwargs: t.kwargs}, done)
	case p.batchMode():
		err = w.conn.CallAsync(protocol.MethodTaskMap, json.RawMessage(chunkParams(j)), func(res json.RawMessage, err error) {
			if err == nil {
				if n, cerr := jsonx.Count(res); cerr != nil || n != j.m.counts[j.chunk] {
					err = protocol.ErrorWith(protocol.CodeTaskFailed,
						fmt.Sprintf("worker %s answered task.map with %s for %d items", w.name, describeCount(n, cerr), j.m.counts[j.chunk]),
						protocol.ErrorData{Type: "ProtocolError"})
				}
			}
			w.complete(a, res, err)
		})
	default:
		err = w.runItems(j, a)
	}
	return err
}

func (p *Pool) batchMode() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.batch
}

// chunkParams builds a task.map's params by hand: the items are valid JSON
// already, and this is the one copy they make on the way to the worker.
func chunkParams(j *job) []byte {
	m := j.m
	run := m.runs[j.chunk]
	id := fmt.Sprintf("%s.%d", m.id, j.chunk)
	params := make([]byte, 0, len(run)+len(m.fn)+len(id)+48)
	params = append(params, `{"task":`...)
	params = json.AppendEscape(params, id, 0)
	params = append(params, `,"fn":`...)
	params = json.AppendEscape(params, m.fn, 0)
	params = append(params, `,"items":[`...)
	params = append(params, run...)
	params = append(params, ']')
	if m.star {
		params = append(params, `,"star":true`...)
	}
	return append(params, '}')
}

// runItems runs a chunk on a worker without task.map: one task.run per
// item, each sent when the previous one is answered.
func (w *worker) runItems(j *job, a uint64) error {
	m := j.m
	items, _, err := jsonx.Chunks(append(append([]byte{'['}, m.runs[j.chunk]...), ']'), 1)
	if err != nil {
		return err
	}
	id := fmt.Sprintf("%s.%d", m.id, j.chunk)
	results := make([][]byte, len(items))
	var next func(i int) error
	next = func(i int) error {
		args := json.RawMessage(items[i])
		if !m.star {
			args = append(append([]byte{'['}, items[i]...), ']')
		}
		return w.conn.CallAsync(protocol.MethodTaskRun, protocol.RunParams{Task: id, Fn: m.fn, Args: args}, func(res json.RawMessage, err error) {
			var rerr *jsonrpc.Error
			switch {
			case errors.As(err, &rerr):
				var d protocol.ErrorData
				if len(rerr.Data) > 0 {
					json.Unmarshal(rerr.Data, &d)
				}
				idx := i
				d.Index = &idx
				w.complete(a, nil, protocol.ErrorWith(rerr.Code, rerr.Message, d))
			case err != nil:
				w.complete(a, nil, err)
			case i+1 < len(items):
				results[i] = rawOrNull(res)
				if err := next(i + 1); err != nil {
					w.complete(a, nil, err)
				}
			default:
				results[i] = rawOrNull(res)
				w.complete(a, jsonx.Join(results), nil)
			}
		})
	}
	return next(0)
}

// complete settles attempt a with the worker's answer. It runs on the
// worker's read loop: the client's reply is written from here.
func (w *worker) complete(a uint64, res json.RawMessage, err error) {
	var rerr *jsonrpc.Error
	if err != nil && !errors.As(err, &rerr) {
		// The connection ended under the call: the worker's goroutine
		// settles the job once it knows how the process ended.
		w.p.mu.Lock()
		if (w.cur != nil && w.attempt == a) || (w.next != nil && w.nextAt == a) {
			w.lost = true
		}
		w.p.mu.Unlock()
		w.wake()
		return
	}
	j, ok := w.claim(a)
	if !ok {
		return // timed out or stopped meanwhile: settled already
	}
	switch {
	case rerr != nil:
		j.fail(w.taskError(j, rerr))
	case j.t != nil:
		j.t.finish(res, nil)
	default:
		j.m.chunkDone(j.chunk, res, nil)
	}
	if !w.promote() {
		w.p.offer(w)
	}
}

// timeout runs when attempt a outlives task_timeout: the worker is stopped
// (SIGTERM, grace, SIGKILL), the job fails, and the worker's goroutine
// replaces it.
func (w *worker) timeout(a uint64) {
	j, ok := w.claim(a)
	if !ok {
		return
	}
	w.p.mu.Lock()
	w.timedOut = true
	w.p.mu.Unlock()
	d := w.p.spec.TaskTimeout.Duration()
	w.log.Warn().Str("task", w.jobName(j)).Dur("timeout", d).Msg("task timed out; stopping its worker")
	exit := w.proc.Stop(w.p.spec.StopGrace.Duration())
	j.fail(protocol.ErrorWith(protocol.CodeTaskTimeout,
		fmt.Sprintf("task %s timed out after %v; worker %s (pid %d) was stopped (%s) and is being replaced",
			w.jobName(j), d, w.name, w.proc.Pid(), exit),
		w.lossData(j, exit)))
	w.wake()
}
