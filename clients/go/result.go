package corral

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/protocol"
)

// AsyncResult is a submitted task, like multiprocessing's AsyncResult. Its
// outcome is fetched from the supervisor once and kept here, so Get may be
// called any number of times. Safe for concurrent use.
type AsyncResult struct {
	pool *Pool
	fn   string
	id   string

	mu      sync.Mutex
	known   bool
	result  json.RawMessage
	err     error
	pending *waitCall // the task.wait in flight, if any
}

// waitCall is one task.wait. At most one is in flight per task: the
// supervisor hands a task's outcome over once, to one wait.
type waitCall struct {
	done chan struct{}
	err  error // set before done is closed: nil, or why no outcome came
}

// ID is the supervisor's name for the task.
func (r *AsyncResult) ID() string { return r.id }

// Get waits for the task and decodes its result into out (a pointer, or
// nil to drop it); the task's failure is returned as an *Error (ErrTaskFailed,
// ErrWorkerLost, ...). ctx's deadline becomes the wait's timeout: past it,
// Get returns an error matching ErrTimeout and the task keeps running, so
// Get may be called again. Cancelling ctx returns ctx.Err() at once.
func (r *AsyncResult) Get(ctx context.Context, out any) error {
	if err := r.get(ctx); err != nil {
		return r.wrap(err)
	}
	r.mu.Lock()
	raw := r.result
	r.mu.Unlock()
	if err := decodeResult(raw, out); err != nil {
		return r.wrap(err)
	}
	return nil
}

func (r *AsyncResult) wrap(err error) error {
	return fmt.Errorf("pool %s: task %s (%s): %w", r.pool.name, r.id, r.fn, err)
}

// get waits until the outcome is known (returning the task's error, if
// any), ctx ends, or a wait of ours times out.
func (r *AsyncResult) get(ctx context.Context) error {
	for {
		r.mu.Lock()
		if r.known {
			r.mu.Unlock()
			return r.err
		}
		w, ours := r.pending, false
		if w == nil {
			w, ours = r.startWait(waitTimeout(ctx)), true
		}
		r.mu.Unlock()
		select {
		case <-w.done:
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return ctx.Err()
			}
			// Our wait carries this deadline: the supervisor's answer
			// (the result, if it came just in time) is due now.
			if !ours || !waitFor(w.done, answerGrace) {
				return fmt.Errorf("%w (%w)", timeoutError("timed out waiting for task %s", r.id), ctx.Err())
			}
		}
		if ours && w.err != nil {
			return w.err
		}
		// An outcome came, or another caller's wait ended: look again.
	}
}

// waitFor waits up to d for done to close.
func waitFor(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// startWait sends a task.wait (r.mu held). Its answer is recorded even if
// the Get that sent it has returned, so an outcome is never lost.
func (r *AsyncResult) startWait(timeout *protocol.Seconds) *waitCall {
	w := &waitCall{done: make(chan struct{})}
	r.pending = w
	go func() {
		var res protocol.TaskResult
		err := r.pool.c.call(context.Background(), protocol.MethodTaskWait,
			protocol.WaitParams{Task: r.id, Timeout: timeout}, &res)
		r.mu.Lock()
		switch {
		case errors.Is(err, ErrTimeout), errors.Is(err, ErrClosed):
			w.err = err
		default:
			r.known, r.result, r.err = true, res.Result, err
		}
		r.pending = nil
		r.mu.Unlock()
		close(w.done)
	}()
	return w
}

// Ready reports whether the task has finished, asking the supervisor
// without waiting. It is false while another wait for the task is in
// flight.
func (r *AsyncResult) Ready(ctx context.Context) (bool, error) {
	r.mu.Lock()
	if r.known {
		r.mu.Unlock()
		return true, nil
	}
	if r.pending != nil {
		r.mu.Unlock()
		return false, nil
	}
	zero := protocol.Seconds(0)
	w := r.startWait(&zero)
	r.mu.Unlock()
	select {
	case <-w.done:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if errors.Is(w.err, ErrClosed) {
		return false, r.wrap(w.err)
	}
	return r.known, nil
}

// Successful reports whether the task finished without error; it is an
// error to ask before the task is ready.
func (r *AsyncResult) Successful() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.known {
		return false, r.wrap(errors.New("not ready"))
	}
	return r.err == nil, nil
}
