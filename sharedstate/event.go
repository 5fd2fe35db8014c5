package sharedstate

import "sync"

// Event is a flag that waiters wait to see set, as multiprocessing.Event.
type Event interface {
	Object
	// Set sets the flag and completes every waiter with true.
	Set()
	// Clear resets the flag.
	Clear()
	// IsSet reports the flag.
	IsSet() bool
	// Wait completes with true once the flag is set, or with false when
	// w runs out first (Block false: the flag as it is now).
	Wait(w Wait, done func(ok bool, err error)) (cancel func())
}

// memEvent implements Event in memory.
type memEvent struct {
	base
	mu      sync.Mutex
	set     bool
	waiters waitq[func(bool, error)]
}

func newEvent(b base) *memEvent { return &memEvent{base: b} }

// Set implements Event.
func (e *memEvent) Set() {
	e.mu.Lock()
	e.set = true
	ws := e.waiters.drain()
	e.mu.Unlock()
	for _, w := range ws {
		w.v(true, nil)
	}
}

// Clear implements Event.
func (e *memEvent) Clear() {
	e.mu.Lock()
	e.set = false
	e.mu.Unlock()
}

// IsSet implements Event.
func (e *memEvent) IsSet() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.set
}

// Wait implements Event.
func (e *memEvent) Wait(w Wait, done func(bool, error)) func() {
	if err := w.check(); err != nil {
		done(false, err)
		return nop
	}
	e.mu.Lock()
	if e.set || !w.Block {
		set := e.set
		e.mu.Unlock()
		done(set, nil)
		return nop
	}
	ew := &waiter[func(bool, error)]{owner: w.Owner, v: done}
	e.waiters.push(ew, w.Timeout, e.expire)
	e.mu.Unlock()
	return func() {
		e.mu.Lock()
		e.waiters.remove(ew)
		e.mu.Unlock()
	}
}

func (e *memEvent) expire(ew *waiter[func(bool, error)]) {
	e.mu.Lock()
	ok := e.waiters.remove(ew)
	e.mu.Unlock()
	if ok {
		ew.v(false, nil)
	}
}

// Status implements Object.
func (e *memEvent) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Status{Kind: e.kind, Name: e.name, Waiters: e.waiters.n, Detail: "clear"}
	if e.set {
		s.Detail = "set"
	}
	return s
}

func (e *memEvent) releaseOwner(o Owner) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return releasedWaits(e.waiters.removeOwner(o), "waits", &e.base, o)
}

func (e *memEvent) shutdown() {
	e.mu.Lock()
	ws := e.waiters.drain()
	e.mu.Unlock()
	for _, w := range ws {
		w.v(false, errorf(ErrClosed, "%s: the store is closed", e.label()))
	}
}
