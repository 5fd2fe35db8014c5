package sharedstate

import (
	"fmt"
	"sort"
	"sync"
)

// Semaphore is a counting semaphore, as multiprocessing.Semaphore; the
// BoundedSemaphore kind refuses a release that would raise the value above
// its initial value, with ErrValue, as Python's BoundedSemaphore.
//
// Any owner may release, as in Python (a semaphore also serves as a signal).
// The semaphore still counts the permits each owner acquired and has not
// released itself, so Store.ReleaseAll can return them when the owner's
// connection ends. ReleaseAll never raises the value above the initial
// value: in the signalling pattern (initial 0, one side releases, the other
// acquires) the consumer's permit is not a loan, and giving it back would
// send a signal nobody sent.
type Semaphore interface {
	Object
	// Acquire completes with true once w.Owner has taken a permit, or
	// false when none came within w.
	Acquire(w Wait, done func(ok bool, err error)) (cancel func())
	// Release returns a permit; it goes to the longest waiter if any.
	Release(o Owner) error
	// Value is the number of free permits.
	Value() int
	// Bounded reports whether this is a BoundedSemaphore.
	Bounded() bool
}

// memSemaphore implements Semaphore and BoundedSemaphore in memory.
type memSemaphore struct {
	base
	initial int
	bounded bool

	mu      sync.Mutex
	value   int
	held    map[Owner]int
	waiters waitq[func(bool, error)]
}

func newSemaphore(b base, value int, bounded bool) *memSemaphore {
	return &memSemaphore{base: b, initial: value, value: value, bounded: bounded, held: map[Owner]int{}}
}

// Acquire implements Semaphore.
func (s *memSemaphore) Acquire(w Wait, done func(bool, error)) func() {
	if err := w.check(); err != nil {
		done(false, err)
		return nop
	}
	s.mu.Lock()
	if s.value > 0 {
		s.value--
		s.held[w.Owner]++
		s.mu.Unlock()
		done(true, nil)
		return nop
	}
	if !w.Block {
		s.mu.Unlock()
		done(false, nil)
		return nop
	}
	sw := &waiter[func(bool, error)]{owner: w.Owner, v: done}
	s.waiters.push(sw, w.Timeout, s.expire)
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.waiters.remove(sw)
		s.mu.Unlock()
	}
}

func (s *memSemaphore) expire(sw *waiter[func(bool, error)]) {
	s.mu.Lock()
	ok := s.waiters.remove(sw)
	s.mu.Unlock()
	if ok {
		sw.v(false, nil)
	}
}

// Release implements Semaphore.
func (s *memSemaphore) Release(o Owner) error {
	s.mu.Lock()
	if s.bounded && s.value >= s.initial {
		s.mu.Unlock()
		return errorf(ErrValue, "%s released too many times", s.label())
	}
	if s.held[o] > 0 {
		s.unhold(o, 1)
	}
	next := s.give()
	s.mu.Unlock()
	next()
	return nil
}

// unhold forgets n permits of o; s.mu is held.
func (s *memSemaphore) unhold(o Owner, n int) {
	if s.held[o] -= n; s.held[o] <= 0 {
		delete(s.held, o)
	}
}

// give frees one permit: to the longest waiter, or to the count. s.mu is
// held; the returned function completes the waiter after unlock.
func (s *memSemaphore) give() func() {
	w := s.waiters.pop()
	if w == nil {
		s.value++
		return nop
	}
	s.held[w.owner]++
	return func() { w.v(true, nil) }
}

// Value implements Semaphore.
func (s *memSemaphore) Value() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.value
}

// Bounded implements Semaphore.
func (s *memSemaphore) Bounded() bool { return s.bounded }

// Status implements Object.
func (s *memSemaphore) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{Kind: s.kind, Name: s.name, Waiters: s.waiters.n,
		Detail: fmt.Sprintf("value=%d/%d", s.value, s.initial)}
	for o, n := range s.held {
		st.Holders = append(st.Holders, holding(o, n))
	}
	sort.Strings(st.Holders) // map order is random; status should be stable
	return st
}

func (s *memSemaphore) releaseOwner(o Owner) []string {
	s.mu.Lock()
	out := releasedWaits(s.waiters.removeOwner(o), "acquires", &s.base, o)
	n := s.held[o]
	delete(s.held, o)
	var wake []func()
	given := 0
	for ; given < n && (s.waiters.n > 0 || s.value < s.initial); given++ {
		wake = append(wake, s.give())
	}
	if given > 0 {
		out = append(out, fmt.Sprintf("released %d permits of %s held by %s", given, s.label(), o))
	}
	s.mu.Unlock()
	for _, f := range wake {
		f()
	}
	return out
}

func (s *memSemaphore) shutdown() {
	s.mu.Lock()
	ws := s.waiters.drain()
	s.mu.Unlock()
	for _, w := range ws {
		w.v(false, errorf(ErrClosed, "%s: the store is closed", s.label()))
	}
}
