package sharedstate

import (
	"sync/atomic"
	"testing"
	"time"
)

// parkWaiters makes owners each acquire c's lock and wait on c, and returns
// how many were woken; a woken waiter holds the lock and releases it.
func parkWaiters(t *testing.T, c Condition, owners []Owner) *atomic.Int32 {
	t.Helper()
	var woken atomic.Int32
	for _, o := range owners {
		if !acquire(t, c, nowait(o)) {
			t.Fatalf("%v could not acquire", o)
		}
		c.Wait(block(o, 0), func(ok bool, err error) {
			if !ok || err != nil {
				t.Errorf("wait = %v, %v", ok, err)
			}
			if h, _ := c.Lock().Holder(); h != o {
				t.Errorf("woken waiter %v does not hold the lock (%v does)", o, h)
			}
			woken.Add(1)
			go c.Release(o)
		})
	}
	return &woken
}

func settle(t *testing.T, c Condition, woken *atomic.Int32, want int32) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for woken.Load() < want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // and no more than want
	if n := woken.Load(); n != want {
		t.Fatalf("woken %d; want %d", n, want)
	}
	for c.Lock().Locked() {
		time.Sleep(time.Millisecond)
	}
}

// As ConditionTests.test_notify: notify(n) wakes exactly n, notify_all the
// rest, and each waiter returns holding the lock.
func TestConditionNotify(t *testing.T) {
	for _, lockKind := range []Kind{"", KindLock, KindRLock} {
		s := newStore(t, Options{})
		p := Params{}
		if lockKind != "" {
			createIn[Lock](t, s, lockKind, "l", Params{})
			p.Lock = "l"
		}
		c := createIn[Condition](t, s, KindCondition, "c", p)
		var owners []Owner
		for i := 0; i < 6; i++ {
			owners = append(owners, Owner{ID: uint64(10 + i)})
		}
		woken := parkWaiters(t, c, owners)
		if err := c.Notify(o1, 1); err == nil {
			t.Fatal("notify without the lock succeeded")
		}
		acquire(t, c, nowait(o1))
		noErr(t, c.Notify(o1, 2))
		noErr(t, c.Release(o1))
		settle(t, c, woken, 2)
		acquire(t, c, nowait(o1))
		noErr(t, c.Notify(o1, 1))
		noErr(t, c.Release(o1))
		settle(t, c, woken, 3)
		acquire(t, c, nowait(o1))
		noErr(t, c.NotifyAll(o1))
		noErr(t, c.Release(o1))
		settle(t, c, woken, 6)
	}
}

func TestConditionNotOwner(t *testing.T) {
	c := create[Condition](t, KindCondition, "c", Params{})
	ch, done := cb[bool](t)
	c.Wait(block(o1, 0), done)
	wantErr(t, now(t, ch).err, ErrNotOwner)
	wantErr(t, c.Notify(o1, 1), ErrNotOwner)
	wantErr(t, c.NotifyAll(o1), ErrNotOwner)
	acquire(t, c, nowait(o2))
	wantErr(t, c.Notify(o1, 1), ErrNotOwner)
	wantErr(t, c.Notify(o2, -1), ErrValue)
}

// A timed wait returns False after the timeout, holding the lock again at
// the RLock level it had.
func TestConditionTimeoutRestoresLevel(t *testing.T) {
	c := create[Condition](t, KindCondition, "c", Params{})
	for i := 0; i < 3; i++ {
		acquire(t, c, nowait(o1))
	}
	start := time.Now()
	ch, done := cb[bool](t)
	c.Wait(block(o1, 50*time.Millisecond), done)
	if h, n := c.Lock().Holder(); n != 0 {
		t.Fatalf("lock still held by %v x%d during wait", h, n)
	}
	r := got(t, ch)
	within(t, start, 50*time.Millisecond)
	if r.v || r.err != nil {
		t.Fatalf("timed-out wait = %v, %v", r.v, r.err)
	}
	if h, n := c.Lock().Holder(); h != o1 || n != 3 {
		t.Fatalf("after wait: %v x%d; want %v x3", h, n, o1)
	}
	// wait(0) releases and re-acquires at once.
	ch, done = cb[bool](t)
	c.Wait(nowait(o1), done)
	if r := now(t, ch); r.v || r.err != nil {
		t.Fatalf("wait(0) = %v, %v", r.v, r.err)
	}
	if h, n := c.Lock().Holder(); h != o1 || n != 3 {
		t.Fatalf("after wait(0): %v x%d", h, n)
	}
}

// A waiter whose timeout passes while another holds the lock completes
// only once it has the lock back.
func TestConditionTimeoutWaitsForLock(t *testing.T) {
	c := create[Condition](t, KindCondition, "c", Params{})
	acquire(t, c, nowait(o1))
	ch, done := cb[bool](t)
	c.Wait(block(o1, 10*time.Millisecond), done)
	acquire(t, c, nowait(o2))
	pending(t, ch, 40*time.Millisecond)
	noErr(t, c.Release(o2))
	if r := now(t, ch); r.v {
		t.Fatal("timed-out wait reported notified")
	}
	if h, _ := c.Lock().Holder(); h != o1 {
		t.Fatalf("holder %v", h)
	}
}

// cancel() in either phase (waiting for notify, or re-acquiring) means no
// callback, and a cancelled waiter is never given the lock.
func TestConditionCancel(t *testing.T) {
	c := create[Condition](t, KindCondition, "c", Params{})
	acquire(t, c, nowait(o1))
	ch1, d1 := cb[bool](t)
	cancel1 := c.Wait(block(o1, 0), d1)
	acquire(t, c, nowait(o2))
	ch2, d2 := cb[bool](t)
	cancel2 := c.Wait(block(o2, 0), d2)
	cancel1()
	acquire(t, c, nowait(o3))
	noErr(t, c.NotifyAll(o3)) // o2 now queues for the lock
	cancel2()
	noErr(t, c.Release(o3))
	pending(t, ch1, 20*time.Millisecond)
	pending(t, ch2, 0)
	if c.Lock().Locked() {
		t.Fatal("a cancelled waiter got the lock")
	}
}

// As BarrierTests.test_barrier: indices are distinct, in range, the first to
// arrive gets 0 as CPython's; the barrier is reusable.
func TestBarrierIndices(t *testing.T) {
	const parties = 5
	b := create[Barrier](t, KindBarrier, "b", Params{Parties: parties})
	for round := 0; round < 3; round++ {
		var chs []<-chan result[int]
		for i := 0; i < parties; i++ {
			ch, done := cb[int](t)
			b.Wait(block(Owner{ID: uint64(i)}, 0), done)
			chs = append(chs, ch)
			if i < parties-1 && b.NWaiting() != i+1 {
				t.Fatalf("n_waiting %d; want %d", b.NWaiting(), i+1)
			}
		}
		for i, ch := range chs {
			r := now(t, ch)
			noErr(t, r.err)
			if r.v != i {
				t.Fatalf("arrival %d got index %d", i, r.v)
			}
		}
		if b.NWaiting() != 0 || b.Broken() {
			t.Fatal("barrier not ready for the next round")
		}
	}
}

func TestBarrierConcurrent(t *testing.T) {
	const parties = 8
	b := create[Barrier](t, KindBarrier, "b", Params{Parties: parties})
	idx := make(chan int, parties)
	for i := 0; i < parties; i++ {
		go b.Wait(block(Owner{ID: uint64(i)}, 0), func(i int, err error) {
			if err != nil {
				t.Error(err)
			}
			idx <- i
		})
	}
	seen := map[int]bool{}
	for i := 0; i < parties; i++ {
		k := <-idx
		if k < 0 || k >= parties || seen[k] {
			t.Fatalf("index %d repeated or out of range", k)
		}
		seen[k] = true
	}
}

// As test_timeout / test_default_timeout / test_abort / test_reset: a
// timeout breaks the barrier for every waiter.
func TestBarrierBreak(t *testing.T) {
	b := create[Barrier](t, KindBarrier, "b", Params{Parties: 3})
	ch1, d1 := cb[int](t)
	b.Wait(block(o1, 0), d1)
	start := time.Now()
	ch2, d2 := cb[int](t)
	b.Wait(block(o2, 50*time.Millisecond), d2)
	wantErr(t, got(t, ch2).err, ErrBrokenBarrier)
	within(t, start, 50*time.Millisecond)
	wantErr(t, now(t, ch1).err, ErrBrokenBarrier)
	if !b.Broken() {
		t.Fatal("not broken")
	}
	ch3, d3 := cb[int](t)
	b.Wait(block(o3, 0), d3)
	wantErr(t, now(t, ch3).err, ErrBrokenBarrier)
	b.Reset()
	if b.Broken() {
		t.Fatal("reset did not mend")
	}

	// The default timeout applies to a Wait without one.
	d := create[Barrier](t, KindBarrier, "d", Params{Parties: 2, Timeout: 30 * time.Millisecond})
	start = time.Now()
	ch, done := cb[int](t)
	d.Wait(block(o1, 0), done)
	wantErr(t, got(t, ch).err, ErrBrokenBarrier)
	within(t, start, 30*time.Millisecond)

	// Abort breaks; reset with waiters fails them but leaves it whole.
	ch, done = cb[int](t)
	b.Wait(block(o1, 0), done)
	b.Abort()
	wantErr(t, now(t, ch).err, ErrBrokenBarrier)
	b.Reset()
	ch, done = cb[int](t)
	b.Wait(block(o1, 0), done)
	b.Reset()
	wantErr(t, now(t, ch).err, ErrBrokenBarrier)
	if b.Broken() || b.NWaiting() != 0 {
		t.Fatal("reset left the barrier broken or occupied")
	}

	// wait(0) from a party that is not the last breaks the barrier.
	ch, done = cb[int](t)
	b.Wait(nowait(o1), done)
	wantErr(t, now(t, ch).err, ErrBrokenBarrier)
	if !b.Broken() {
		t.Fatal("wait(0) did not break")
	}
	b.Reset()

	// A party that goes away (cancel) breaks it for the others, silently
	// for itself.
	ch1, d1 = cb[int](t)
	b.Wait(block(o1, 0), d1)
	ch2, d2 = cb[int](t)
	cancel := b.Wait(block(o2, 0), d2)
	cancel()
	wantErr(t, now(t, ch1).err, ErrBrokenBarrier)
	pending(t, ch2, 10*time.Millisecond)
}
