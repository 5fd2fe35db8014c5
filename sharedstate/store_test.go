package sharedstate

import (
	"strings"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"
)

func TestStoreCreate(t *testing.T) {
	s := newStore(t, Options{})
	q, err := s.Create(KindQueue, "jobs", Params{Maxsize: 100})
	noErr(t, err)
	q2, err := s.Create(KindQueue, "jobs", Params{Maxsize: 100})
	if err != nil || q2 != q {
		t.Fatalf("same create = %v, %v; want the existing queue", q2, err)
	}
	_, err = s.Create(KindQueue, "jobs", Params{Maxsize: 5})
	wantErr(t, err, ErrConflict)
	_, err = s.Create(KindLock, "jobs", Params{})
	wantErr(t, err, ErrConflict)
	// Defaults and spelling do not make a conflict.
	_, err = s.Create(KindSemaphore, "s", Params{})
	noErr(t, err)
	_, err = s.Create(KindSemaphore, "s", Params{Value: intp(1)})
	noErr(t, err)
	_, err = s.Create(KindValue, "v", Params{Typecode: "d", Initial: raw("1")})
	noErr(t, err)
	_, err = s.Create(KindValue, "v", Params{Typecode: "d", Initial: raw("1.0")})
	noErr(t, err)
	_, err = s.Create(KindDict, "d", Params{Initial: raw(`{"a": 1, "b": 2}`)})
	noErr(t, err)
	_, err = s.Create(KindDict, "d", Params{Initial: raw(`{"b":2,"a":1}`)})
	noErr(t, err)

	for _, tt := range []struct {
		kind Kind
		name string
		p    Params
		err  error
	}{
		{KindQueue, strings.Repeat("x", 256), Params{}, ErrName},
		{KindQueue, "a\nb", Params{}, ErrName},
		{KindQueue, "a\x7fb", Params{}, ErrName},
		{KindQueue, "", Params{}, ErrName},
		{KindQueue, "bad\xff", Params{}, ErrName},
		{"frob", "x", Params{}, ErrWrongKind},
		{KindQueue, "x", Params{Maxsize: -1}, ErrValue},
		{KindLock, "x", Params{Maxsize: 1}, ErrValue},
		{KindBarrier, "x", Params{}, ErrValue},
		{KindSemaphore, "x", Params{Value: intp(-1)}, ErrValue},
		{KindValue, "x", Params{}, ErrValue},
		{KindValue, "x", Params{Typecode: "i", Initial: raw("1099511627776")}, ErrRange},
		{KindCondition, "x", Params{Lock: "nope"}, ErrNotFound},
		{KindCondition, "x", Params{Lock: "jobs"}, ErrWrongKind},
	} {
		_, err := s.Create(tt.kind, tt.name, tt.p)
		if !errorIs(err, tt.err) {
			t.Errorf("Create(%s, %.20q, %+v) = %v; want %v", tt.kind, tt.name, tt.p, err, tt.err)
		}
	}
	if _, err := s.Create(KindQueue, strings.Repeat("é", 127), Params{}); err != nil {
		t.Errorf("254-byte name: %v", err)
	}
}

func TestStoreOpen(t *testing.T) {
	s := newStore(t, Options{})
	_, err := s.Open(KindQueue, "jobs")
	wantErr(t, err, ErrNotFound)
	createIn[Queue](t, s, KindJoinableQueue, "jq", Params{})
	createIn[Lock](t, s, KindRLock, "r", Params{})
	createIn[Lock](t, s, KindLock, "l", Params{})
	if _, err := Open[Queue](s, KindQueue, "jq"); err != nil {
		t.Fatalf("joinable queue as a queue: %v", err)
	}
	if _, err := Open[JoinableQueue](s, KindJoinableQueue, "jq"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open[Lock](s, KindLock, "r"); err != nil {
		t.Fatalf("rlock as a lock: %v", err)
	}
	_, err = Open[Queue](s, KindQueue, "l") // queue.put on a lock
	wantErr(t, err, ErrWrongKind)
	_, err = s.Open(KindRLock, "l")
	wantErr(t, err, ErrWrongKind)

	a := newStore(t, Options{AutoCreate: true})
	q, err := Open[Queue](a, KindQueue, "new")
	if err != nil || q.Maxsize() != 0 {
		t.Fatalf("auto-create: %v", err)
	}
	q2, _ := Open[Queue](a, KindQueue, "new")
	if q2 != q {
		t.Fatal("second open made another queue")
	}
	_, err = a.Open(KindBarrier, "b")
	wantErr(t, err, ErrNotFound) // a barrier needs parties
	_, err = a.Open(KindQueue, "bad\x00")
	wantErr(t, err, ErrName)
}

func TestStoreTooLarge(t *testing.T) {
	s := newStore(t, Options{AutoCreate: true, MaxItemSize: 16})
	q, _ := Open[Queue](s, KindQueue, "q")
	big := raw(`"` + strings.Repeat("x", 20) + `"`)
	ch, done := cbErr(t)
	q.Put(big, nowait(o1), done)
	wantErr(t, now(t, ch).err, ErrTooLarge)
	if q.Qsize() != 0 {
		t.Fatal("oversize item stored")
	}
	d, _ := Open[Dict](s, KindDict, "d")
	wantErr(t, d.Set(raw("1"), big), ErrTooLarge)
	wantErr(t, d.Set(big, raw("1")), ErrTooLarge)
	l, _ := Open[List](s, KindList, "l")
	wantErr(t, l.Append(big), ErrTooLarge)
	p, _ := Open[Pipe](s, KindPipe, "p")
	wantErr(t, p.Send(0, big), ErrTooLarge)
	n, _ := Open[Namespace](s, KindNamespace, "n")
	wantErr(t, n.SetAttr("a", big), ErrTooLarge)
}

// ReleaseAll gives back locks, RLocks and permits, wakes the next waiters,
// cancels the owner's parked waits silently and breaks its barriers.
func TestReleaseAll(t *testing.T) {
	s := newStore(t, Options{})
	l := createIn[Lock](t, s, KindLock, "db", Params{})
	r := createIn[Lock](t, s, KindRLock, "r", Params{})
	sem := createIn[Semaphore](t, s, KindSemaphore, "gpu", Params{Value: intp(2)})
	sig := createIn[Semaphore](t, s, KindSemaphore, "sig", Params{Value: intp(0)})
	q := createIn[Queue](t, s, KindQueue, "q", Params{})
	b := createIn[Barrier](t, s, KindBarrier, "b", Params{Parties: 3})
	c := createIn[Condition](t, s, KindCondition, "c", Params{Lock: "r"})
	v := createIn[Value](t, s, KindValue, "v", Params{Typecode: "i"})

	if !acquire(t, c, nowait(o3)) {
		t.Fatal("o3 could not acquire")
	}
	cch, cdone := cb[bool](t)
	c.Wait(block(o3, 0), cdone) // o3 waits on c, bound to r, which o1 takes
	acquire(t, l, nowait(o1))
	acquire(t, r, nowait(o1))
	acquire(t, r, nowait(o1))
	acquire(t, sem, nowait(o1))
	acquire(t, sem, nowait(o1))
	acquire(t, v.GetLock(), nowait(o1))
	noErr(t, sig.Release(o2))
	acquire(t, sig, nowait(o1)) // a signal consumed, not a loan
	lch, ldone := cb[bool](t)
	l.Acquire(block(o2, 0), ldone)
	sch, sdone := cb[bool](t)
	sem.Acquire(block(o2, 0), sdone)
	qch, qdone := cb[json.RawMessage](t)
	q.Get(block(o1, 50*time.Millisecond), qdone)
	bch, bdone := cb[int](t)
	b.Wait(block(o2, 0), bdone)
	b1ch, b1done := cb[int](t)
	b.Wait(block(o1, 0), b1done)

	log := s.ReleaseAll(o1)
	joined := strings.Join(log, "\n")
	for _, want := range []string{"released lock db held by w-1", "released rlock r held by w-1 (2 levels)",
		"released 2 permits of semaphore gpu held by w-1", "cancelled 1 parked waits on queue q for w-1",
		"broke barrier b: w-1 left while waiting", "released rlock v.lock held by w-1"} {
		if !strings.Contains(joined, want) {
			t.Errorf("log lacks %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "sig") {
		t.Errorf("a consumed signal was given back:\n%s", joined)
	}
	if r := now(t, lch); !r.v {
		t.Fatal("lock waiter not granted")
	}
	if h, _ := l.Holder(); h != o2 {
		t.Fatalf("db held by %v", h)
	}
	if r := now(t, sch); !r.v || sem.Value() != 1 {
		t.Fatalf("semaphore waiter: %v, value %d", r.v, sem.Value())
	}
	if sig.Value() != 0 {
		t.Fatalf("sig value %d", sig.Value())
	}
	wantErr(t, now(t, bch).err, ErrBrokenBarrier)
	pending(t, b1ch, 0)
	pending(t, qch, 80*time.Millisecond) // cancelled: not even the timeout fires
	if r.Locked() || v.GetLock().Locked() {
		t.Fatal("rlock still held")
	}
	pending(t, cch, 0)
	acquire(t, c, nowait(o2))
	noErr(t, c.Notify(o2, 1))
	noErr(t, c.Release(o2))
	if r := now(t, cch); !r.v {
		t.Fatal("other condition waiter disturbed")
	}
	noErr(t, c.Release(o3))
}

// A condition waiter that goes away is removed; the lock is not given to it.
func TestReleaseAllCondition(t *testing.T) {
	s := newStore(t, Options{})
	c := createIn[Condition](t, s, KindCondition, "c", Params{})
	acquire(t, c, nowait(o1))
	ch, done := cb[bool](t)
	c.Wait(block(o1, 0), done)
	s.ReleaseAll(o1)
	acquire(t, c, nowait(o2))
	noErr(t, c.NotifyAll(o2))
	noErr(t, c.Release(o2))
	pending(t, ch, 10*time.Millisecond)
	if c.Lock().Locked() {
		t.Fatal("departed waiter got the lock")
	}
}

func TestStoreStatusAndClose(t *testing.T) {
	s := NewMemStore(Options{})
	q := createIn[Queue](t, s, KindQueue, "jobs", Params{})
	l := createIn[Lock](t, s, KindLock, "db", Params{})
	createIn[Event](t, s, KindEvent, "go", Params{})
	ch, done := cbErr(t)
	q.Put(raw("1"), nowait(o1), done)
	now(t, ch)
	acquire(t, l, nowait(Owner{ID: 3, Name: "w-3"}))
	lch, ldone := cb[bool](t)
	l.Acquire(block(o2, time.Hour), ldone) // a long timer Close must end
	st := s.List()
	if len(st) != 3 || st[0].Name != "db" || st[0].Holders[0] != "w-3" || st[0].Waiters != 1 ||
		st[2].Name != "jobs" || st[2].Depth != 1 || st[1].Detail != "clear" {
		t.Fatalf("status %+v", st)
	}
	noErr(t, s.Close())
	wantErr(t, got(t, lch).err, ErrClosed)
	_, err := s.Open(KindQueue, "jobs")
	wantErr(t, err, ErrClosed)
	_, err = s.Create(KindQueue, "x", Params{})
	wantErr(t, err, ErrClosed)
	noErr(t, s.Delete("jobs"))
	wantErr(t, s.Delete("jobs"), ErrNotFound)
}
