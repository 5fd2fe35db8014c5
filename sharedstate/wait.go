package sharedstate

import "time"

// Wait says how an operation that may have to wait should do so.
//
// Block false makes the operation answer at once (put_nowait, get_nowait,
// acquire(False)). Block true parks it until it can complete or Timeout
// passes; Timeout 0 with Block means no limit. A negative Timeout is an
// ErrValue, as Python's "'timeout' must be a non-negative number". Owner is
// who waits: it becomes the holder of what is acquired, and Store.ReleaseAll
// cancels its parked waits.
type Wait struct {
	Block   bool
	Timeout time.Duration
	Owner   Owner
}

// check rejects a Wait no operation accepts.
func (w Wait) check() error {
	if w.Timeout < 0 {
		return errorf(ErrValue, "timeout must be non-negative, got %v", w.Timeout)
	}
	return nil
}

// nop is the cancel function of an operation that completed synchronously.
func nop() {}

// waiter is one parked wait in a waitq. Its payload v holds what the object
// needs to complete it (the done callback, an item to put, a count). A waiter
// is settled exactly once, by whoever removes it from its queue while
// holding the object's mutex: the completer, the timer or cancel. Whoever
// fails to remove it knows someone else already settled it.
type waiter[T any] struct {
	owner      Owner
	timer      *time.Timer
	prev, next *waiter[T]
	queued     bool
	v          T
}

// waitq is an intrusive FIFO of waiters. The owning object's mutex guards it.
type waitq[T any] struct {
	head, tail *waiter[T]
	n          int
}

// push appends w and, when d > 0, arms a timer that calls expire(w) after d.
// The caller holds the object's mutex, so the timer cannot run expire before
// w.timer is set: expire takes the same mutex first.
func (q *waitq[T]) push(w *waiter[T], d time.Duration, expire func(*waiter[T])) {
	w.prev, w.next, w.queued = q.tail, nil, true
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	q.n++
	if d > 0 && expire != nil {
		w.timer = time.AfterFunc(d, func() { expire(w) })
	}
}

// remove unlinks w and stops its timer. It reports false when w was not
// queued, i.e. it has been settled already.
func (q *waitq[T]) remove(w *waiter[T]) bool {
	if !w.queued {
		return false
	}
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next, w.queued = nil, nil, false
	q.n--
	if w.timer != nil {
		w.timer.Stop()
	}
	return true
}

// pop removes and returns the longest waiter, or nil.
func (q *waitq[T]) pop() *waiter[T] {
	w := q.head
	if w != nil {
		q.remove(w)
	}
	return w
}

// drain removes and returns every waiter, oldest first.
func (q *waitq[T]) drain() []*waiter[T] {
	var out []*waiter[T]
	for w := q.pop(); w != nil; w = q.pop() {
		out = append(out, w)
	}
	return out
}

// removeOwner removes every waiter of owner o and returns how many there were.
func (q *waitq[T]) removeOwner(o Owner) int {
	n := 0
	for w := q.head; w != nil; {
		next := w.next
		if w.owner == o {
			q.remove(w)
			n++
		}
		w = next
	}
	return n
}

// parkedFor reports whether owner o has a waiter in q.
func (q *waitq[T]) parkedFor(o Owner) bool {
	for w := q.head; w != nil; w = w.next {
		if w.owner == o {
			return true
		}
	}
	return false
}
