package sharedstate

import (
	"sort"
	"sync"
	"testing"
	"time"
)

func acquire(t *testing.T, l interface {
	Acquire(Wait, func(bool, error)) func()
}, w Wait) bool {
	t.Helper()
	ch, done := cb[bool](t)
	l.Acquire(w, done)
	r := now(t, ch)
	noErr(t, r.err)
	return r.v
}

// As lock_tests.BaseLockTests and LockTests: acquire/release, non-blocking
// acquire of a held lock, timed acquire returning False after the timeout,
// and Lock being non-recursive.
func TestLock(t *testing.T) {
	l := create[Lock](t, KindLock, "db", Params{})
	if !acquire(t, l, nowait(o1)) || !l.Locked() {
		t.Fatal("acquire of a free lock failed")
	}
	if acquire(t, l, nowait(o2)) {
		t.Fatal("acquired a held lock")
	}
	if acquire(t, l, nowait(o1)) {
		t.Fatal("Lock is not recursive: its holder's second acquire must fail")
	}
	wantErr(t, l.Release(o2), ErrNotOwner)
	start := time.Now()
	ch, done := cb[bool](t)
	l.Acquire(block(o2, 50*time.Millisecond), done)
	if r := got(t, ch); r.v || r.err != nil {
		t.Fatalf("timed acquire = %v, %v", r.v, r.err)
	}
	within(t, start, 50*time.Millisecond)
	noErr(t, l.Release(o1))
	wantErr(t, l.Release(o1), ErrNotOwner) // release unlocked lock
	if l.Locked() {
		t.Fatal("still locked")
	}
	ch, done = cb[bool](t)
	l.Acquire(block(o1, -1), done)
	wantErr(t, now(t, ch).err, ErrValue)
}

// As RLockTests: recursion counts, release by a non-owner fails, and the
// lock is free only after as many releases as acquires.
func TestRLock(t *testing.T) {
	l := create[Lock](t, KindRLock, "r", Params{})
	wantErr(t, l.Release(o1), ErrNotOwner)
	for i := 1; i <= 3; i++ {
		if !acquire(t, l, nowait(o1)) {
			t.Fatal("recursive acquire failed")
		}
		if o, n := l.Holder(); o != o1 || n != i {
			t.Fatalf("holder %v x%d; want %v x%d", o, n, o1, i)
		}
	}
	wantErr(t, l.Release(o2), ErrNotOwner)
	ch, done := cb[bool](t)
	l.Acquire(block(o2, 0), done)
	for i := 0; i < 2; i++ {
		noErr(t, l.Release(o1))
	}
	pending(t, ch, 10*time.Millisecond)
	noErr(t, l.Release(o1))
	if r := now(t, ch); !r.v {
		t.Fatal("waiter not granted")
	}
	if o, n := l.Holder(); o != o2 || n != 1 {
		t.Fatalf("holder %v x%d", o, n)
	}
}

// Waiters get the lock in arrival order; no newcomer barges in.
func TestLockFairness(t *testing.T) {
	for _, kind := range []Kind{KindLock, KindRLock} {
		l := create[Lock](t, kind, "l", Params{})
		acquire(t, l, nowait(o1))
		const n = 30
		var mu sync.Mutex
		var order []int
		for i := 0; i < n; i++ {
			o := Owner{ID: uint64(100 + i)}
			l.Acquire(block(o, 0), func(ok bool, err error) {
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				// Release from another goroutine, as a client would.
				go l.Release(o)
			})
		}
		if acquire(t, l, nowait(o2)) {
			t.Fatal("newcomer barged ahead of waiters")
		}
		noErr(t, l.Release(o1))
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			k := len(order)
			mu.Unlock()
			if k == n || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		mu.Lock()
		if len(order) != n || !sort.IntsAreSorted(order) {
			t.Fatalf("%s: served %v", kind, order)
		}
		mu.Unlock()
		for l.Locked() {
			time.Sleep(time.Millisecond)
		}
	}
}

// Mutual exclusion under contention: a plain counter guarded by the lock
// ends exact.
func TestLockMutualExclusion(t *testing.T) {
	l := create[Lock](t, KindLock, "l", Params{})
	var counter, inside int
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := Owner{ID: uint64(g)}
			for i := 0; i < 500; i++ {
				got := make(chan struct{})
				l.Acquire(block(o, 0), func(bool, error) { close(got) })
				<-got
				inside++
				if inside != 1 {
					t.Error("two holders at once")
				}
				counter++
				inside--
				if err := l.Release(o); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if counter != 8*500 {
		t.Fatalf("counter = %d", counter)
	}
}

// As SemaphoreTests / BoundedSemaphoreTests.
func TestSemaphore(t *testing.T) {
	s := create[Semaphore](t, KindSemaphore, "s", Params{Value: intp(2)})
	if !acquire(t, s, nowait(o1)) || !acquire(t, s, nowait(o2)) {
		t.Fatal("acquire failed")
	}
	if acquire(t, s, nowait(o3)) || s.Value() != 0 {
		t.Fatal("acquired past the value")
	}
	start := time.Now()
	ch, done := cb[bool](t)
	s.Acquire(block(o3, 30*time.Millisecond), done)
	if r := got(t, ch); r.v {
		t.Fatal("timed acquire succeeded")
	}
	within(t, start, 30*time.Millisecond)
	// Any owner may release a plain semaphore, even past its value.
	for i := 0; i < 3; i++ {
		noErr(t, s.Release(o3))
	}
	if s.Value() != 3 {
		t.Fatalf("value %d", s.Value())
	}

	b := create[Semaphore](t, KindBoundedSemaphore, "b", Params{Value: intp(1)})
	wantErr(t, b.Release(o1), ErrValue)
	acquire(t, b, nowait(o1))
	noErr(t, b.Release(o1))
	wantErr(t, b.Release(o1), ErrValue)
	if b.Value() != 1 {
		t.Fatalf("value %d", b.Value())
	}
	def := create[Semaphore](t, KindSemaphore, "d", Params{})
	if def.Value() != 1 {
		t.Fatalf("default value %d; want 1", def.Value())
	}
}

func TestSemaphoreFairness(t *testing.T) {
	s := create[Semaphore](t, KindSemaphore, "s", Params{Value: intp(0)})
	const n = 20
	results := make(chan int, n)
	for i := 0; i < n; i++ {
		s.Acquire(block(Owner{ID: uint64(i)}, 0), func(bool, error) { results <- i })
	}
	for i := 0; i < n; i++ {
		noErr(t, s.Release(o1))
		if got := <-results; got != i {
			t.Fatalf("permit %d went to waiter %d", i, got)
		}
	}
}

// As EventTests: set/clear/is_set, wait returning the flag, timed wait
// returning False after the timeout, set waking every waiter.
func TestEvent(t *testing.T) {
	e := create[Event](t, KindEvent, "go", Params{})
	if e.IsSet() {
		t.Fatal("new event set")
	}
	ch, done := cb[bool](t)
	e.Wait(nowait(o1), done)
	if now(t, ch).v {
		t.Fatal("wait(0) on a clear event = true")
	}
	start := time.Now()
	ch, done = cb[bool](t)
	e.Wait(block(o1, 40*time.Millisecond), done)
	if got(t, ch).v {
		t.Fatal("timed wait = true")
	}
	within(t, start, 40*time.Millisecond)
	var chs []<-chan result[bool]
	for i := 0; i < 5; i++ {
		ch, done := cb[bool](t)
		e.Wait(block(o1, 0), done)
		chs = append(chs, ch)
	}
	e.Set()
	for _, ch := range chs {
		if !now(t, ch).v {
			t.Fatal("waiter not woken with true")
		}
	}
	ch, done = cb[bool](t)
	e.Wait(block(o1, 0), done)
	if !now(t, ch).v {
		t.Fatal("wait on a set event")
	}
	e.Clear()
	if e.IsSet() {
		t.Fatal("clear did not clear")
	}
}
