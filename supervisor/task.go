package supervisor

import (
	"fmt"
	"sync"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
)

// task is one submitted call (pool.submit / pool.apply).
type task struct {
	id     string
	pool   *Pool
	fn     string
	args   json.RawMessage
	kwargs json.RawMessage
	owner  *client
	notify bool
	tag    string

	mu       sync.Mutex
	attempts int // runs started, for retries
	running  bool
	done     bool
	result   json.RawMessage
	err      *jsonrpc.Error
	waiters  []*waiter
}

// waiter is a parked task.wait or pool.apply.
type waiter struct {
	c     *client
	id    jsonrpc.ID
	keep  bool
	apply bool
	timer *time.Timer
	key   uint64 // the client's park key
}

// finish records the task's outcome once and answers everyone waiting.
func (t *task) finish(result json.RawMessage, err *jsonrpc.Error) {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	t.done, t.running = true, false
	t.result, t.err = result, err
	ws := t.waiters
	t.waiters = nil
	notify := t.notify
	t.mu.Unlock()

	// Forget a collected outcome before anyone hears of it, so that a
	// client acting on the answer at once finds the registry up to date.
	collected := notify
	for _, w := range ws {
		collected = collected || !w.keep
	}
	if collected {
		t.forget()
	}
	for _, w := range ws {
		if w.timer != nil {
			w.timer.Stop()
		}
		w.c.unpark(w.key)
		res, err := t.outcome()
		w.c.reply(w.id, res, err)
	}
	if notify {
		done := protocol.TaskDone{Task: t.id, Tag: t.tag, Error: err}
		if err == nil {
			done.Result = rawOrNull(result)
		}
		if nerr := t.owner.conn.Notify(protocol.NotifyTaskDone, done); nerr != nil {
			t.owner.log.Debug().Err(nerr).Str("task", t.id).Msg("task.done not sent")
		}
	}
	t.pool.workEnded(err != nil)
}

// outcome is what a waiter is answered with.
func (t *task) outcome() (any, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return nil, t.err
	}
	return protocol.TaskResult{Result: rawOrNull(t.result)}, nil
}

// replyTo answers a task.wait or pool.apply request for this task, parking
// it until the task ends or the timeout passes.
func (t *task) wait(c *client, id jsonrpc.ID, timeout *protocol.Seconds, keep, apply bool) {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		if !keep {
			t.forget() // before the answer goes out, as in finish
		}
		res, err := t.outcome()
		c.reply(id, res, err)
		return
	}
	w := &waiter{c: c, id: id, keep: keep, apply: apply}
	t.waiters = append(t.waiters, w)
	if timeout != nil {
		d := timeout.Duration()
		w.timer = time.AfterFunc(d, func() {
			if t.dropWaiter(w) {
				c.unpark(w.key)
				c.reply(id, nil, protocol.ErrorWith(protocol.CodeTimeout,
					fmt.Sprintf("timeout: task %s (%s) not done after %v; it keeps running", t.id, t.fn, d),
					protocol.ErrorData{Task: t.id, Fn: t.fn, Pool: t.pool.spec.Name}))
			}
		})
	}
	w.key = c.park(func() {
		if t.dropWaiter(w) && w.timer != nil {
			w.timer.Stop()
		}
	})
	t.mu.Unlock()
}

// dropWaiter removes w, reporting whether it was still waiting.
func (t *task) dropWaiter(w *waiter) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, x := range t.waiters {
		if x == w {
			t.waiters = append(t.waiters[:i], t.waiters[i+1:]...)
			return true
		}
	}
	return false
}

// forget drops the task from the registries once its outcome is collected.
func (t *task) forget() {
	s := t.pool.s
	s.mu.Lock()
	delete(s.tasks, t.id)
	s.mu.Unlock()
	t.owner.dropTask(t.id)
}

// abandon is called when the task's owner disconnects: a task not yet
// started is cancelled; one running finishes unobserved.
func (t *task) abandon() {
	t.mu.Lock()
	started := t.running || t.done
	t.notify = false
	t.mu.Unlock()
	if !started {
		t.finish(nil, protocol.Errorf(protocol.CodeCancelled, "task %s cancelled: its client disconnected", t.id))
	}
	t.forget()
}

func (t *task) isDone() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.done
}

// start marks the task running; false when it ended (cancelled) meanwhile.
func (t *task) start() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return false
	}
	t.running = true
	t.attempts++
	return true
}

// handleSubmit: pool.submit.
func (c *client) handleSubmit(req *jsonrpc.Request) (any, error) {
	t, err := c.newTask(req)
	if err != nil {
		return nil, err
	}
	return protocol.SubmitResult{Task: t.id}, nil
}

// handleApply: pool.apply, submit and wait in one round trip.
func (c *client) handleApply(req *jsonrpc.Request) (any, error) {
	t, err := c.newTask(req)
	if err != nil {
		return nil, err
	}
	t.wait(c, req.ID, t.applyTimeout, false, true)
	return nil, jsonrpc.ErrAsync
}

func (c *client) newTask(req *jsonrpc.Request) (*taskWithTimeout, error) {
	var p protocol.SubmitParams
	if err := protocol.Decode(req.Params, &p); err != nil {
		return nil, err
	}
	if err := protocol.Required("fn", p.Fn == ""); err != nil {
		return nil, err
	}
	if len(p.Args) > 0 && p.Args[0] != '[' && string(p.Args) != "null" {
		return nil, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: field \"args\": want an array")
	}
	if len(p.Kwargs) > 0 && p.Kwargs[0] != '{' && string(p.Kwargs) != "null" {
		return nil, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: field \"kwargs\": want an object")
	}
	if p.Timeout != nil && req.Method == protocol.MethodPoolSubmit {
		return nil, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: field \"timeout\" belongs to pool.apply and task.wait, not pool.submit")
	}
	pool, err := c.s.pool(p.Pool)
	if err != nil {
		return nil, err
	}
	if string(p.Args) == "null" || len(p.Args) == 0 {
		p.Args = json.RawMessage("[]")
	}
	if string(p.Kwargs) == "null" {
		p.Kwargs = nil
	}
	t := &task{
		id:     fmt.Sprintf("t-%d", c.s.taskSeq.Add(1)),
		pool:   pool,
		fn:     p.Fn,
		args:   p.Args,
		kwargs: p.Kwargs,
		owner:  c,
		notify: p.Notify,
		tag:    p.Tag,
	}
	if err := pool.admit(p.Fn); err != nil {
		return nil, err
	}
	c.s.mu.Lock()
	c.s.tasks[t.id] = t
	c.s.mu.Unlock()
	c.addTask(t)
	pool.enqueue(&job{t: t}, false)
	return &taskWithTimeout{task: t, applyTimeout: p.Timeout}, nil
}

// taskWithTimeout carries pool.apply's timeout from the params to the wait.
type taskWithTimeout struct {
	*task
	applyTimeout *protocol.Seconds
}

// handleWait: task.wait.
func (c *client) handleWait(req *jsonrpc.Request) (any, error) {
	var p protocol.WaitParams
	if err := protocol.Decode(req.Params, &p); err != nil {
		return nil, err
	}
	if err := protocol.Required("task", p.Task == ""); err != nil {
		return nil, err
	}
	c.s.mu.Lock()
	t, ok := c.s.tasks[p.Task]
	c.s.mu.Unlock()
	if !ok {
		return nil, protocol.Errorf(protocol.CodeNotFound, "no task %q (unknown, or its outcome was already collected)", p.Task)
	}
	t.wait(c, req.ID, p.Timeout, p.Keep, false)
	return nil, jsonrpc.ErrAsync
}
