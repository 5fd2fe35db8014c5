package sharedstate

import "math"

// Condition is a condition variable bound to a Lock or RLock, as
// multiprocessing.Condition (whose default lock is an RLock).
//
// Wait must be called by the lock's holder, else ErrNotOwner. It releases
// every level the holder has, waits for Notify, then re-acquires the lock
// at the same level before completing: with true when notified, with false
// when w's timeout ran out first — still holding the lock, as Python. The
// re-acquire itself has no timeout, as in Python. Notify and NotifyAll also
// require the lock, as Python's RuntimeError("cannot notify on un-acquired
// lock").
//
// wait_for(predicate) is the client's loop over Wait: the predicate is code
// in the client's language and cannot run here. A shim evaluates it while
// holding the lock, calls Wait with the remaining timeout while it is false,
// and returns its last value, as threading.Condition.wait_for does.
type Condition interface {
	Object
	// Acquire acquires the underlying lock.
	Acquire(w Wait, done func(ok bool, err error)) (cancel func())
	// Release releases the underlying lock.
	Release(o Owner) error
	// Wait waits for a notification; see the type's doc.
	Wait(w Wait, done func(notified bool, err error)) (cancel func())
	// Notify wakes up to n waiters, longest first; o must hold the lock.
	Notify(o Owner, n int) error
	// NotifyAll wakes every waiter; o must hold the lock.
	NotifyAll(o Owner) error
	// Lock is the underlying lock.
	Lock() Lock
}

// condWait is a parked Condition.Wait: the lock levels to restore and, once
// notified or timed out, the acquire it is parked on.
type condWait struct {
	levels int
	done   func(bool, error)
	acq    *waiter[lockWait]
}

// memCondition implements Condition. Its waiters are guarded by the lock's
// own mutex, which makes "release the lock and start waiting" one atomic
// step (a notify can never fall between them), and lets Notify move a waiter
// straight into the lock's queue.
type memCondition struct {
	base
	lock *memLock
	// ownLock is true when the lock is private to the condition rather
	// than a named object of the store, so the condition must release it
	// for a departed owner itself.
	ownLock bool
	waiters waitq[*condWait] // guarded by lock.mu
}

func newCondition(b base, lock *memLock, own bool) *memCondition {
	return &memCondition{base: b, lock: lock, ownLock: own}
}

// Lock implements Condition.
func (c *memCondition) Lock() Lock { return c.lock }

// Acquire implements Condition.
func (c *memCondition) Acquire(w Wait, done func(bool, error)) func() {
	return c.lock.Acquire(w, done)
}

// Release implements Condition.
func (c *memCondition) Release(o Owner) error { return c.lock.Release(o) }

// Wait implements Condition.
func (c *memCondition) Wait(w Wait, done func(bool, error)) func() {
	if err := w.check(); err != nil {
		done(false, err)
		return nop
	}
	l := c.lock
	l.mu.Lock()
	if err := l.checkHolder(w.Owner, "wait on"); err != nil {
		l.mu.Unlock()
		done(false, err)
		return nop
	}
	cw := &waiter[*condWait]{owner: w.Owner, v: &condWait{levels: l.count, done: done}}
	l.count = 0
	var finish func()
	if w.Block {
		c.waiters.push(cw, w.Timeout, c.expire)
	} else {
		// wait(0): release, re-acquire, report not notified.
		finish = c.reacquire(cw, false)
	}
	next := l.handOff()
	l.mu.Unlock()
	next()
	if finish != nil {
		finish()
	}
	return func() {
		l.mu.Lock()
		if !c.waiters.remove(cw) && cw.v.acq != nil {
			l.waiters.remove(cw.v.acq)
		}
		l.mu.Unlock()
	}
}

// reacquire takes the lock back for a waiter that has left the condition's
// queue, at its saved level. l.mu is held. If the lock is free (or already
// the waiter's own, for an RLock) it returns the completion to run after
// unlock; otherwise the waiter joins the lock's queue and nil is returned.
func (c *memCondition) reacquire(cw *waiter[*condWait], notified bool) func() {
	l := c.lock
	done := cw.v.done
	switch {
	case l.count == 0:
		l.holder, l.count = cw.owner, cw.v.levels
	case l.recursive && l.holder == cw.owner:
		l.count += cw.v.levels
	default:
		aw := &waiter[lockWait]{owner: cw.owner, v: lockWait{cw.v.levels, func(ok bool, err error) {
			if err != nil {
				done(false, err)
				return
			}
			done(notified, nil)
		}}}
		cw.v.acq = aw
		l.waiters.push(aw, 0, nil)
		return nil
	}
	return func() { done(notified, nil) }
}

func (c *memCondition) expire(cw *waiter[*condWait]) {
	c.lock.mu.Lock()
	var finish func()
	if c.waiters.remove(cw) {
		finish = c.reacquire(cw, false)
	}
	c.lock.mu.Unlock()
	if finish != nil {
		finish()
	}
}

// Notify implements Condition.
func (c *memCondition) Notify(o Owner, n int) error {
	if n < 0 {
		return errorf(ErrValue, "%s: notify(n) needs n >= 0, got %d", c.label(), n)
	}
	l := c.lock
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkHolder(o, "notify on"); err != nil {
		return err
	}
	for ; n > 0; n-- {
		cw := c.waiters.pop()
		if cw == nil {
			break
		}
		// The notifier holds the lock, so the waiter always queues for it.
		c.reacquire(cw, true)
	}
	return nil
}

// NotifyAll implements Condition.
func (c *memCondition) NotifyAll(o Owner) error { return c.Notify(o, math.MaxInt) }

// Status implements Object.
func (c *memCondition) Status() Status {
	c.lock.mu.Lock()
	s := Status{Kind: c.kind, Name: c.name, Waiters: c.waiters.n}
	c.lock.mu.Unlock()
	ls := c.lock.Status()
	s.Holders, s.Waiters = ls.Holders, s.Waiters+ls.Waiters
	if !c.ownLock {
		s.Detail = "lock " + c.lock.name
	}
	return s
}

func (c *memCondition) releaseOwner(o Owner) []string {
	c.lock.mu.Lock()
	out := releasedWaits(c.waiters.removeOwner(o), "waits", &c.base, o)
	c.lock.mu.Unlock()
	if c.ownLock {
		out = append(out, c.lock.releaseOwner(o)...)
	}
	return out
}

func (c *memCondition) shutdown() {
	c.lock.mu.Lock()
	ws := c.waiters.drain()
	c.lock.mu.Unlock()
	for _, w := range ws {
		w.v.done(false, errorf(ErrClosed, "%s: the store is closed", c.label()))
	}
	if c.ownLock {
		c.lock.shutdown()
	}
}
