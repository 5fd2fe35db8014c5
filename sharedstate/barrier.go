package sharedstate

import (
	"fmt"
	"sync"
	"time"
)

// Barrier makes a fixed number of parties wait for each other, as
// multiprocessing.Barrier (without an action: corral cannot run the
// caller's code).
//
// Wait completes with the arrival index, distinct for each party and in
// 0..parties-1: as CPython's threading.Barrier, the first to arrive gets 0
// and the last, which releases the others, parties-1. A wait that times out
// breaks the barrier, and every waiter fails with ErrBrokenBarrier, as in
// Python. A broken barrier fails every Wait until Reset. Because waiters are
// completed the moment the last party arrives, there is no draining phase:
// the barrier is ready for the next cycle at once.
type Barrier interface {
	Object
	// Wait waits for all parties. A Wait with Block and no Timeout uses
	// the barrier's default timeout (Python's wait(timeout=None)); Block
	// false is wait(0), which breaks the barrier unless this is the last
	// party.
	Wait(w Wait, done func(index int, err error)) (cancel func())
	// Abort breaks the barrier: waiters, present and future, fail.
	Abort()
	// Reset returns the barrier to its empty, unbroken state; present
	// waiters fail with ErrBrokenBarrier.
	Reset()
	// Broken reports whether the barrier is broken.
	Broken() bool
	// NWaiting is the number of parties waiting now.
	NWaiting() int
	// Parties is the number of parties needed to pass.
	Parties() int
}

// memBarrier implements Barrier in memory.
type memBarrier struct {
	base
	parties int
	timeout time.Duration // default for Wait

	mu      sync.Mutex
	broken  bool
	waiters waitq[func(int, error)] // arrival order = index order
}

func newBarrier(b base, parties int, timeout time.Duration) *memBarrier {
	return &memBarrier{base: b, parties: parties, timeout: timeout}
}

func (b *memBarrier) brokenErr() error {
	return errorf(ErrBrokenBarrier, "%s is broken", b.label())
}

// Wait implements Barrier.
func (b *memBarrier) Wait(w Wait, done func(int, error)) func() {
	if err := w.check(); err != nil {
		done(0, err)
		return nop
	}
	b.mu.Lock()
	if b.broken {
		b.mu.Unlock()
		done(0, b.brokenErr())
		return nop
	}
	index := b.waiters.n
	if index+1 == b.parties {
		ws := b.waiters.drain()
		b.mu.Unlock()
		for i, pw := range ws {
			pw.v(i, nil)
		}
		done(index, nil)
		return nop
	}
	if !w.Block {
		ws := b.breakLocked()
		b.mu.Unlock()
		b.fail(ws)
		done(0, b.brokenErr())
		return nop
	}
	timeout := w.Timeout
	if timeout == 0 {
		timeout = b.timeout
	}
	bw := &waiter[func(int, error)]{owner: w.Owner, v: done}
	b.waiters.push(bw, timeout, b.expire)
	b.mu.Unlock()
	return func() {
		// A party that goes away breaks the barrier for the others, as a
		// thread killed in wait() would leave them hanging otherwise.
		b.mu.Lock()
		var ws []*waiter[func(int, error)]
		if b.waiters.remove(bw) {
			ws = b.breakLocked()
		}
		b.mu.Unlock()
		b.fail(ws)
	}
}

// breakLocked marks the barrier broken and takes its waiters; b.mu is held.
func (b *memBarrier) breakLocked() []*waiter[func(int, error)] {
	b.broken = true
	return b.waiters.drain()
}

// fail completes waiters with ErrBrokenBarrier; call without b.mu.
func (b *memBarrier) fail(ws []*waiter[func(int, error)]) {
	for _, w := range ws {
		w.v(0, b.brokenErr())
	}
}

func (b *memBarrier) expire(bw *waiter[func(int, error)]) {
	b.mu.Lock()
	var ws []*waiter[func(int, error)]
	if b.waiters.remove(bw) {
		ws = append(b.breakLocked(), bw)
	}
	b.mu.Unlock()
	b.fail(ws)
}

// Abort implements Barrier.
func (b *memBarrier) Abort() {
	b.mu.Lock()
	ws := b.breakLocked()
	b.mu.Unlock()
	b.fail(ws)
}

// Reset implements Barrier.
func (b *memBarrier) Reset() {
	b.mu.Lock()
	ws := b.waiters.drain()
	b.broken = false
	b.mu.Unlock()
	b.fail(ws)
}

// Broken implements Barrier.
func (b *memBarrier) Broken() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.broken
}

// NWaiting implements Barrier.
func (b *memBarrier) NWaiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiters.n
}

// Parties implements Barrier.
func (b *memBarrier) Parties() int { return b.parties }

// Status implements Object.
func (b *memBarrier) Status() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Status{Kind: b.kind, Name: b.name, Waiters: b.waiters.n,
		Detail: fmt.Sprintf("%d/%d waiting", b.waiters.n, b.parties)}
	if b.broken {
		s.Detail = "broken"
	}
	return s
}

func (b *memBarrier) releaseOwner(o Owner) []string {
	b.mu.Lock()
	if !b.waiters.parkedFor(o) {
		b.mu.Unlock()
		return nil
	}
	b.waiters.removeOwner(o)
	ws := b.breakLocked()
	b.mu.Unlock()
	b.fail(ws)
	return []string{fmt.Sprintf("broke %s: %s left while waiting", b.label(), o)}
}

func (b *memBarrier) shutdown() {
	b.mu.Lock()
	ws := b.waiters.drain()
	b.mu.Unlock()
	for _, w := range ws {
		w.v(0, errorf(ErrClosed, "%s: the store is closed", b.label()))
	}
}
