package sharedstate

import (
	"fmt"
	"sync"
)

// Lock is a mutual-exclusion lock held by one Owner at a time: the Lock kind
// (multiprocessing.Lock) or, recursive, the RLock kind (multiprocessing.RLock),
// which its holder may acquire again, counting levels, and must release as
// many times.
//
// Release follows ownership strictly for both kinds: releasing a lock that is
// not held, or that another owner holds, is ErrNotOwner. (threading.Lock lets
// any thread release; multiprocessing.Lock raises when it is not held. A
// shared lock needs a known holder so that Store.ReleaseAll can give it back
// when the holder's connection ends, so corral follows RLock's rule for both.)
// A Lock acquired again by its own holder waits, as Python's does: it is not
// recursive.
type Lock interface {
	Object
	// Acquire completes with true once w.Owner holds the lock, or false
	// when it could not within w (acquire(False) or a timeout).
	Acquire(w Wait, done func(ok bool, err error)) (cancel func())
	// Release gives up one level; the lock passes to the longest waiter
	// when the last level goes.
	Release(o Owner) error
	// Locked reports whether anyone holds the lock.
	Locked() bool
	// Holder returns who holds the lock and at what recursion level
	// (1 for a held Lock); count is 0 when the lock is free.
	Holder() (o Owner, count int)
	// Recursive reports whether this is an RLock.
	Recursive() bool
}

// lockWait is a parked acquire: the levels to hold once granted (1, or what
// a Condition wait restores).
type lockWait struct {
	levels int
	done   func(bool, error)
}

// memLock implements Lock and RLock in memory.
type memLock struct {
	base
	recursive bool

	mu      sync.Mutex
	holder  Owner
	count   int // 0: free
	waiters waitq[lockWait]
}

func newLock(b base, recursive bool) *memLock {
	return &memLock{base: b, recursive: recursive}
}

// Acquire implements Lock.
func (l *memLock) Acquire(w Wait, done func(bool, error)) func() {
	if err := w.check(); err != nil {
		done(false, err)
		return nop
	}
	return l.acquire(w, 1, done)
}

// acquire takes the lock at the given level, waiting as w says.
func (l *memLock) acquire(w Wait, levels int, done func(bool, error)) func() {
	l.mu.Lock()
	switch {
	case l.count == 0:
		l.holder, l.count = w.Owner, levels
	case l.recursive && l.holder == w.Owner:
		l.count += levels
	case !w.Block:
		l.mu.Unlock()
		done(false, nil)
		return nop
	default:
		lw := &waiter[lockWait]{owner: w.Owner, v: lockWait{levels, done}}
		l.waiters.push(lw, w.Timeout, l.expire)
		l.mu.Unlock()
		return func() {
			l.mu.Lock()
			l.waiters.remove(lw)
			l.mu.Unlock()
		}
	}
	l.mu.Unlock()
	done(true, nil)
	return nop
}

func (l *memLock) expire(lw *waiter[lockWait]) {
	l.mu.Lock()
	ok := l.waiters.remove(lw)
	l.mu.Unlock()
	if ok {
		lw.v.done(false, nil)
	}
}

// Release implements Lock.
func (l *memLock) Release(o Owner) error {
	l.mu.Lock()
	if err := l.checkHolder(o, "release"); err != nil {
		l.mu.Unlock()
		return err
	}
	l.count--
	next := l.handOff()
	l.mu.Unlock()
	next()
	return nil
}

// checkHolder fails unless o holds the lock; l.mu is held.
func (l *memLock) checkHolder(o Owner, op string) error {
	if l.count == 0 {
		return errorf(ErrNotOwner, "cannot %s un-acquired %s", op, l.label())
	}
	if l.holder != o {
		return errorf(ErrNotOwner, "cannot %s %s: held by %s, not %s", op, l.label(), l.holder, o)
	}
	return nil
}

// handOff passes a free lock to the longest waiter. l.mu is held; the
// returned function completes the waiter and must be called after unlock.
func (l *memLock) handOff() func() {
	if l.count > 0 {
		return nop
	}
	l.holder = Owner{}
	next := l.waiters.pop()
	if next == nil {
		return nop
	}
	l.holder, l.count = next.owner, next.v.levels
	return func() { next.v.done(true, nil) }
}

// Locked implements Lock.
func (l *memLock) Locked() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count > 0
}

// Holder implements Lock.
func (l *memLock) Holder() (Owner, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.holder, l.count
}

// Recursive implements Lock.
func (l *memLock) Recursive() bool { return l.recursive }

// Status implements Object.
func (l *memLock) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Status{Kind: l.kind, Name: l.name, Waiters: l.waiters.n}
	if l.count > 0 {
		s.Holders = []string{holding(l.holder, l.count)}
	}
	return s
}

// holding names an owner and, above one, its count.
func holding(o Owner, n int) string {
	if n == 1 {
		return o.String()
	}
	return fmt.Sprintf("%s x%d", o, n)
}

func (l *memLock) releaseOwner(o Owner) []string {
	l.mu.Lock()
	out := releasedWaits(l.waiters.removeOwner(o), "acquires", &l.base, o)
	next := nop
	if l.count > 0 && l.holder == o {
		what := fmt.Sprintf("released %s held by %s", l.label(), o)
		if l.recursive {
			what += fmt.Sprintf(" (%d levels)", l.count)
		}
		out = append(out, what)
		l.count = 0
		next = l.handOff()
	}
	l.mu.Unlock()
	next()
	return out
}

func (l *memLock) shutdown() {
	l.mu.Lock()
	ws := l.waiters.drain()
	l.mu.Unlock()
	for _, w := range ws {
		w.v.done(false, errorf(ErrClosed, "%s: the store is closed", l.label()))
	}
}
