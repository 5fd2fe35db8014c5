package corral

import (
	"context"
)

// Locked is multiprocessing.Lock's locked(): whether any connection holds
// the lock.
func (l *Lock) Locked(ctx context.Context) (bool, error) {
	var r struct {
		Locked bool `json:"locked"`
	}
	err := l.o.Call(ctx, "locked", nil, &r)
	return r.Locked, err
}

// IsSet is multiprocessing.Event.is_set: whether the flag is set.
func (e *Event) IsSet(ctx context.Context) (bool, error) {
	var r struct {
		Set bool `json:"set"`
	}
	err := e.o.Call(ctx, "is_set", nil, &r)
	return r.Set, err
}

// TaskDone is multiprocessing.JoinableQueue.task_done: one item taken
// with Get is finished (ErrValue when called more times than items were
// put; ErrWrongKind unless the queue was created as a joinablequeue).
func (q *Queue) TaskDone(ctx context.Context) error { return q.o.Call(ctx, "task_done", nil, nil) }

// Join is multiprocessing.JoinableQueue.join: it waits until every item
// put has been marked with TaskDone, until ctx's deadline (ErrTimeout
// then). The queue must have been created as a joinablequeue.
func (q *Queue) Join(ctx context.Context) error { return q.o.Call(ctx, "join", nil, nil) }

// Semaphore is a shared counting semaphore (multiprocessing.Semaphore, or
// BoundedSemaphore when created as a boundedsemaphore). Permits belong to
// the connection that took them and are given back if it ends.
type Semaphore struct{ o *Object }

// Semaphore is multiprocessing.Semaphore: it returns the shared semaphore
// name (made on demand with value 1; create it with CreateObject for
// another value or a boundedsemaphore).
func (c *Client) Semaphore(name string) *Semaphore {
	return &Semaphore{c.Object("semaphore", name)}
}

// Acquire is multiprocessing.Semaphore.acquire: it waits for a permit until
// ctx's deadline, reporting whether it took one (false on timeout).
func (s *Semaphore) Acquire(ctx context.Context) (bool, error) {
	var r struct {
		Acquired bool `json:"acquired"`
	}
	err := s.o.Call(ctx, "acquire", nil, &r)
	return r.Acquired, err
}

// Release is multiprocessing.Semaphore.release: it gives a permit back
// (ErrValue past a boundedsemaphore's bound).
func (s *Semaphore) Release(ctx context.Context) error { return s.o.Call(ctx, "release", nil, nil) }

// Value is multiprocessing.Semaphore.get_value: the permits available.
func (s *Semaphore) Value(ctx context.Context) (int, error) {
	var r struct {
		Value int `json:"value"`
	}
	err := s.o.Call(ctx, "value", nil, &r)
	return r.Value, err
}

// Condition is a shared condition variable (multiprocessing.Condition),
// over its own lock or the lock named at creation. The lock is held by
// this Client's connection.
type Condition struct{ o *Object }

// Condition is multiprocessing.Condition: it returns the shared condition
// name.
func (c *Client) Condition(name string) *Condition {
	return &Condition{c.Object("condition", name)}
}

// Acquire is multiprocessing.Condition.acquire: it waits for the
// condition's lock until ctx's deadline, reporting whether it was acquired.
func (cv *Condition) Acquire(ctx context.Context) (bool, error) {
	var r struct {
		Acquired bool `json:"acquired"`
	}
	err := cv.o.Call(ctx, "acquire", nil, &r)
	return r.Acquired, err
}

// Release is multiprocessing.Condition.release (ErrNotOwner when this
// connection does not hold the lock).
func (cv *Condition) Release(ctx context.Context) error {
	return cv.o.Call(ctx, "release", nil, nil)
}

// Wait is multiprocessing.Condition.wait: holding the lock, it releases
// it, waits for a Notify until ctx's deadline, and takes the lock again,
// reporting whether it was notified (false on timeout).
func (cv *Condition) Wait(ctx context.Context) (bool, error) {
	var r struct {
		Notified bool `json:"notified"`
	}
	err := cv.o.Call(ctx, "wait", nil, &r)
	return r.Notified, err
}

// Notify is multiprocessing.Condition.notify(n): it wakes up to n waiters;
// the lock must be held (ErrNotOwner).
func (cv *Condition) Notify(ctx context.Context, n int) error {
	return cv.o.Call(ctx, "notify", map[string]any{"n": n}, nil)
}

// NotifyAll is multiprocessing.Condition.notify_all: it wakes every
// waiter; the lock must be held (ErrNotOwner).
func (cv *Condition) NotifyAll(ctx context.Context) error {
	return cv.o.Call(ctx, "notify_all", nil, nil)
}

// Barrier is a shared barrier (multiprocessing.Barrier).
type Barrier struct{ o *Object }

// Barrier is multiprocessing.Barrier: it returns the shared barrier name.
// A barrier needs its parties, so it is not made on demand: create it with
// CreateObject or in the config.
func (c *Client) Barrier(name string) *Barrier { return &Barrier{c.Object("barrier", name)} }

// Wait is multiprocessing.Barrier.wait: it waits until every party has
// called Wait, or until ctx's deadline (or the barrier's own timeout),
// which breaks the barrier (ErrBrokenBarrier, for every waiter). It
// returns an index distinct for each party, from 0 to parties-1.
func (b *Barrier) Wait(ctx context.Context) (int, error) {
	var r struct {
		Index int `json:"index"`
	}
	err := b.o.Call(ctx, "wait", nil, &r)
	return r.Index, err
}

// Abort is multiprocessing.Barrier.abort: it breaks the barrier, failing
// current and future waits with ErrBrokenBarrier until Reset.
func (b *Barrier) Abort(ctx context.Context) error { return b.o.Call(ctx, "abort", nil, nil) }

// Reset is multiprocessing.Barrier.reset: it returns the barrier to its
// empty state; current waiters fail with ErrBrokenBarrier.
func (b *Barrier) Reset(ctx context.Context) error { return b.o.Call(ctx, "reset", nil, nil) }

// Broken is multiprocessing.Barrier.broken: whether the barrier is broken.
func (b *Barrier) Broken(ctx context.Context) (bool, error) {
	var r struct {
		Broken bool `json:"broken"`
	}
	err := b.o.Call(ctx, "broken", nil, &r)
	return r.Broken, err
}

// NWaiting is multiprocessing.Barrier.n_waiting: the parties waiting now.
func (b *Barrier) NWaiting(ctx context.Context) (int, error) {
	var r struct {
		N int `json:"n_waiting"`
	}
	err := b.o.Call(ctx, "n_waiting", nil, &r)
	return r.N, err
}

// Parties is multiprocessing.Barrier.parties: the parties needed.
func (b *Barrier) Parties(ctx context.Context) (int, error) {
	var r struct {
		Parties int `json:"parties"`
	}
	err := b.o.Call(ctx, "parties", nil, &r)
	return r.Parties, err
}
