package corral

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/protocol"
)

// twoClients starts a supervisor and dials a second connection to it.
func twoClients(t *testing.T) (c, d *Client, ctx context.Context) {
	t.Helper()
	c = startClient(t)
	ctx = testCtx(t)
	d, err := Dial(ctx, c.Socket())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return c, d, ctx
}

// short is ctx with a 50ms deadline.
func short(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	s, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	t.Cleanup(cancel)
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func intp(n int) *int { return &n }

func TestSemaphoreAndLockMore(t *testing.T) {
	c, d, ctx := twoClients(t)

	_, err := c.CreateObject(ctx, "semaphore", "slots", &protocol.ObjectParams{Value: intp(2)})
	must(t, err)
	s := c.Semaphore("slots")
	for i := 0; i < 2; i++ {
		if ok, err := s.Acquire(ctx); !ok || err != nil {
			t.Fatalf("Acquire %d = %v, %v", i, ok, err)
		}
	}
	if n, err := s.Value(ctx); n != 0 || err != nil {
		t.Fatalf("Value = %d, %v", n, err)
	}
	if ok, err := d.Semaphore("slots").Acquire(short(t, ctx)); ok || err != nil {
		t.Fatalf("Acquire of an exhausted semaphore = %v, %v; want false", ok, err)
	}
	// A waiter on the other connection is answered by a release here.
	got := make(chan bool, 1)
	go func() {
		ok, err := d.Semaphore("slots").Acquire(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- ok
	}()
	time.Sleep(20 * time.Millisecond)
	must(t, s.Release(ctx))
	if !<-got {
		t.Fatal("waiting Acquire = false after Release")
	}

	_, err = c.CreateObject(ctx, "boundedsemaphore", "bounded", &protocol.ObjectParams{Value: intp(1)})
	must(t, err)
	if err := c.Semaphore("bounded").Release(ctx); !errors.Is(err, ErrValue) {
		t.Fatalf("Release past the bound = %v, want ErrValue", err)
	}

	// Lock.Locked, and an rlock through Lock.
	if ok, err := c.Lock("l").Locked(ctx); ok || err != nil {
		t.Fatalf("Locked = %v, %v", ok, err)
	}
	if ok, err := c.Lock("l").Acquire(ctx); !ok || err != nil {
		t.Fatalf("Acquire = %v, %v", ok, err)
	}
	if ok, err := d.Lock("l").Locked(ctx); !ok || err != nil {
		t.Fatalf("Locked from the other connection = %v, %v", ok, err)
	}
	_, err = c.CreateObject(ctx, "rlock", "r", nil)
	must(t, err)
	r := c.Lock("r")
	for i := 0; i < 2; i++ {
		if ok, err := r.Acquire(ctx); !ok || err != nil {
			t.Fatalf("rlock Acquire %d = %v, %v", i, ok, err)
		}
	}
	must(t, r.Release(ctx))
	if ok, err := d.Lock("r").Acquire(short(t, ctx)); ok || err != nil {
		t.Fatalf("Acquire of an rlock held once more = %v, %v; want false", ok, err)
	}
	must(t, r.Release(ctx))
	if ok, err := d.Lock("r").Acquire(ctx); !ok || err != nil {
		t.Fatalf("Acquire of a released rlock = %v, %v", ok, err)
	}

	// Event.IsSet.
	e := c.Event("e")
	if ok, err := e.IsSet(ctx); ok || err != nil {
		t.Fatalf("IsSet = %v, %v", ok, err)
	}
	if ok, err := e.Wait(short(t, ctx)); ok || err != nil {
		t.Fatalf("Wait on a clear event = %v, %v; want false", ok, err)
	}
	must(t, d.Event("e").Set(ctx))
	if ok, err := e.IsSet(ctx); !ok || err != nil {
		t.Fatalf("IsSet after Set = %v, %v", ok, err)
	}
}

func TestCondition(t *testing.T) {
	c, d, ctx := twoClients(t)
	cv := c.Condition("cv")

	if err := cv.Notify(ctx, 1); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("Notify without the lock = %v, want ErrNotOwner", err)
	}
	// A Wait that is not notified times out with false.
	if ok, err := cv.Acquire(ctx); !ok || err != nil {
		t.Fatalf("Acquire = %v, %v", ok, err)
	}
	if ok, err := cv.Wait(short(t, ctx)); ok || err != nil {
		t.Fatalf("Wait without Notify = %v, %v; want false", ok, err)
	}
	must(t, cv.Release(ctx))

	// d waits; c takes the lock Wait gave up, notifies and releases.
	acquired := make(chan struct{})
	notified := make(chan bool, 1)
	go func() {
		dv := d.Condition("cv")
		if ok, err := dv.Acquire(ctx); !ok || err != nil {
			t.Errorf("d Acquire = %v, %v", ok, err)
		}
		close(acquired)
		ok, err := dv.Wait(ctx)
		if err != nil {
			t.Error(err)
		}
		if err := dv.Release(ctx); err != nil {
			t.Error(err)
		}
		notified <- ok
	}()
	<-acquired
	if ok, err := cv.Acquire(ctx); !ok || err != nil { // only once d waits
		t.Fatalf("Acquire = %v, %v", ok, err)
	}
	must(t, cv.Notify(ctx, 1))
	must(t, cv.Release(ctx))
	if !<-notified {
		t.Fatal("Wait = false after Notify")
	}

	// NotifyAll, the other way round: c waits, d notifies.
	acquired = make(chan struct{})
	go func() {
		if ok, err := cv.Acquire(ctx); !ok || err != nil {
			t.Errorf("Acquire = %v, %v", ok, err)
		}
		close(acquired)
		ok, err := cv.Wait(ctx)
		if err != nil {
			t.Error(err)
		}
		if err := cv.Release(ctx); err != nil {
			t.Error(err)
		}
		notified <- ok
	}()
	<-acquired
	dv := d.Condition("cv")
	if ok, err := dv.Acquire(ctx); !ok || err != nil {
		t.Fatalf("d Acquire = %v, %v", ok, err)
	}
	must(t, dv.NotifyAll(ctx))
	must(t, dv.Release(ctx))
	if !<-notified {
		t.Fatal("Wait = false after NotifyAll")
	}
}

func TestBarrier(t *testing.T) {
	c, d, ctx := twoClients(t)
	_, err := c.CreateObject(ctx, "barrier", "b", &protocol.ObjectParams{Parties: 2})
	must(t, err)
	b := c.Barrier("b")
	if n, err := b.Parties(ctx); n != 2 || err != nil {
		t.Fatalf("Parties = %d, %v", n, err)
	}

	idx := make(chan int, 1)
	go func() {
		i, err := d.Barrier("b").Wait(ctx)
		if err != nil {
			t.Error(err)
		}
		idx <- i
	}()
	for {
		n, err := b.NWaiting(ctx)
		must(t, err)
		if n == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	i, err := b.Wait(ctx)
	must(t, err)
	if got := []int{i, <-idx}; !(got[0] == 0 && got[1] == 1 || got[0] == 1 && got[1] == 0) {
		t.Fatalf("indexes = %v, want 0 and 1", got)
	}

	// A wait past its deadline breaks the barrier.
	if _, err := b.Wait(short(t, ctx)); !errors.Is(err, ErrBrokenBarrier) {
		t.Fatalf("Wait alone past the deadline = %v, want ErrBrokenBarrier", err)
	}
	if ok, err := d.Barrier("b").Broken(ctx); !ok || err != nil {
		t.Fatalf("Broken = %v, %v", ok, err)
	}
	must(t, b.Reset(ctx))
	if ok, err := b.Broken(ctx); ok || err != nil {
		t.Fatalf("Broken after Reset = %v, %v", ok, err)
	}
	must(t, b.Abort(ctx))
	if _, err := d.Barrier("b").Wait(ctx); !errors.Is(err, ErrBrokenBarrier) {
		t.Fatalf("Wait after Abort = %v, want ErrBrokenBarrier", err)
	}
}

func TestQueueMore(t *testing.T) {
	c, d, ctx := twoClients(t)

	_, err := c.CreateObject(ctx, "queue", "small", &protocol.ObjectParams{Maxsize: 1})
	must(t, err)
	q := c.Queue("small")
	if ok, err := q.Empty(ctx); !ok || err != nil {
		t.Fatalf("Empty = %v, %v", ok, err)
	}
	must(t, q.PutNowait(ctx, 7))
	if err := q.PutNowait(ctx, 8); !errors.Is(err, ErrFull) {
		t.Fatalf("PutNowait on a full queue = %v, want ErrFull", err)
	}
	if err := q.Put(short(t, ctx), 8); !errors.Is(err, ErrFull) {
		t.Fatalf("Put on a full queue past the deadline = %v, want ErrFull", err)
	}
	if ok, err := q.Full(ctx); !ok || err != nil {
		t.Fatalf("Full = %v, %v", ok, err)
	}
	// A Put waiting for room is answered by a Get on the other connection.
	put := make(chan error, 1)
	go func() { put <- q.Put(ctx, 9) }()
	time.Sleep(20 * time.Millisecond)
	var n int
	must(t, d.Queue("small").GetNowait(ctx, &n))
	if n != 7 {
		t.Fatalf("GetNowait = %d", n)
	}
	must(t, <-put)
	must(t, q.GetNowait(ctx, &n))
	if n != 9 {
		t.Fatalf("GetNowait = %d", n)
	}
	if err := q.GetNowait(ctx, &n); !errors.Is(err, ErrEmpty) {
		t.Fatalf("GetNowait on an empty queue = %v, want ErrEmpty", err)
	}
	must(t, q.Close(ctx))
	if err := q.PutNowait(ctx, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("PutNowait after Close = %v, want ErrClosed", err)
	}

	// JoinableQueue: Join waits for a TaskDone per item.
	_, err = c.CreateObject(ctx, "joinablequeue", "jobs", nil)
	must(t, err)
	jq := c.Queue("jobs")
	must(t, jq.Put(ctx, "a"))
	must(t, jq.Put(ctx, "b"))
	if err := jq.Join(short(t, ctx)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Join with tasks left past the deadline = %v, want ErrTimeout", err)
	}
	go func() {
		dq := d.Queue("jobs")
		for i := 0; i < 2; i++ {
			var s string
			if err := dq.Get(ctx, &s); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(10 * time.Millisecond)
			if err := dq.TaskDone(ctx); err != nil {
				t.Error(err)
			}
		}
	}()
	must(t, jq.Join(ctx))
	if err := jq.TaskDone(ctx); !errors.Is(err, ErrValue) {
		t.Fatalf("TaskDone too many times = %v, want ErrValue", err)
	}
	if err := c.Queue("plain").TaskDone(ctx); !errors.Is(err, ErrWrongKind) {
		t.Fatalf("TaskDone on a plain queue = %v, want ErrWrongKind", err)
	}
}

func TestDictMore(t *testing.T) {
	c, d, ctx := twoClients(t)
	m := c.Dict("m")
	must(t, m.Update(ctx, [][2]any{{1, "one"}, {"1", "str one"}}))
	must(t, m.Update(ctx, map[string]int{"two": 2}))
	if ok, err := d.Dict("m").Contains(ctx, 1); !ok || err != nil {
		t.Fatalf("Contains(1) = %v, %v", ok, err)
	}
	if ok, err := m.Contains(ctx, 2); ok || err != nil {
		t.Fatalf("Contains(2) = %v, %v", ok, err)
	}
	var keys []any
	must(t, m.Keys(ctx, &keys))
	if !reflect.DeepEqual(keys, []any{1.0, "1", "two"}) {
		t.Fatalf("Keys = %#v", keys)
	}
	var values []any
	must(t, m.Values(ctx, &values))
	if !reflect.DeepEqual(values, []any{"one", "str one", 2.0}) {
		t.Fatalf("Values = %#v", values)
	}
	var items [][2]any
	must(t, m.Items(ctx, &items))
	if len(items) != 3 || items[2] != [2]any{"two", 2.0} {
		t.Fatalf("Items = %#v", items)
	}
	var cp [][]json.RawMessage
	must(t, m.Copy(ctx, &cp))
	if len(cp) != 3 || string(cp[0][0]) != "1" {
		t.Fatalf("Copy = %s", cp)
	}

	var s string
	must(t, m.Pop(ctx, "1", &s))
	if s != "str one" {
		t.Fatalf("Pop = %q", s)
	}
	if err := m.Pop(ctx, "1", &s); !errors.Is(err, ErrValue) {
		t.Fatalf("Pop of a missing key = %v, want ErrValue", err)
	} else {
		var e *Error
		if !errors.As(err, &e) || e.Data.Type != "KeyError" {
			t.Fatalf("Pop of a missing key: %#v, want KeyError", e)
		}
	}
	must(t, m.PopDefault(ctx, "1", "dflt", &s))
	if s != "dflt" {
		t.Fatalf("PopDefault = %q", s)
	}
	var n int
	must(t, m.Setdefault(ctx, "three", 3, &n))
	must(t, m.Setdefault(ctx, "three", 33, &n))
	if n != 3 {
		t.Fatalf("Setdefault = %d", n)
	}
	var k string
	must(t, m.Popitem(ctx, &k, &n))
	if k != "three" || n != 3 {
		t.Fatalf("Popitem = %q, %d", k, n)
	}
	must(t, m.Delete(ctx, 1))
	if err := m.Delete(ctx, 1); !errors.Is(err, ErrValue) {
		t.Fatalf("Delete of a missing key = %v, want ErrValue", err)
	}
	must(t, d.Dict("m").Clear(ctx))
	if n, err := m.Len(ctx); n != 0 || err != nil {
		t.Fatalf("Len after Clear = %d, %v", n, err)
	}
	if err := m.Popitem(ctx, &k, &n); !errors.Is(err, ErrValue) {
		t.Fatalf("Popitem of an empty dict = %v, want ErrValue", err)
	}
	if err := c.List("m").Append(ctx, 1); !errors.Is(err, ErrWrongKind) {
		t.Fatalf("list op on a dict = %v, want ErrWrongKind", err)
	}
}

func TestArrayListNamespace(t *testing.T) {
	c, d, ctx := twoClients(t)

	_, err := c.CreateObject(ctx, "array", "a", &protocol.ObjectParams{Typecode: "i", Size: 4})
	must(t, err)
	a := c.Array("a")
	if n, err := a.Len(ctx); n != 4 || err != nil {
		t.Fatalf("Len = %d, %v", n, err)
	}
	must(t, a.Set(ctx, -1, 40))
	must(t, d.Array("a").SetSlice(ctx, 0, 2, []int{10, 20}))
	var vs []int
	must(t, a.Values(ctx, &vs))
	if !reflect.DeepEqual(vs, []int{10, 20, 0, 40}) {
		t.Fatalf("Values = %v", vs)
	}
	must(t, a.Slice(ctx, 1, 3, &vs))
	if !reflect.DeepEqual(vs, []int{20, 0}) {
		t.Fatalf("Slice(1, 3) = %v", vs)
	}
	var x int
	must(t, a.Get(ctx, 3, &x))
	if x != 40 {
		t.Fatalf("Get(3) = %d", x)
	}
	if err := a.Get(ctx, 4, &x); !errors.Is(err, ErrValue) {
		t.Fatalf("Get(4) = %v, want ErrValue", err)
	}
	if err := a.Set(ctx, 0, int64(1)<<40); !errors.Is(err, ErrValue) {
		t.Fatalf("Set of 2**40 into 'i' = %v, want ErrValue", err)
	}
	if err := a.SetSlice(ctx, 0, 2, []int{1}); !errors.Is(err, ErrValue) {
		t.Fatalf("SetSlice of the wrong length = %v, want ErrValue", err)
	}

	l := c.List("l")
	must(t, l.Append(ctx, "b"))
	must(t, l.Extend(ctx, []string{"d", "a", "c"}))
	must(t, d.List("l").Insert(ctx, 0, "e"))
	var items []string
	must(t, l.Items(ctx, &items))
	if !reflect.DeepEqual(items, []string{"e", "b", "d", "a", "c"}) {
		t.Fatalf("Items = %v", items)
	}
	must(t, l.Sort(ctx, false))
	must(t, l.Slice(ctx, 0, 2, &items))
	if !reflect.DeepEqual(items, []string{"a", "b"}) {
		t.Fatalf("Slice(0, 2) after Sort = %v", items)
	}
	must(t, l.Reverse(ctx))
	var s string
	must(t, l.Get(ctx, 0, &s))
	if s != "e" {
		t.Fatalf("Get(0) after Reverse = %q", s)
	}
	must(t, l.Set(ctx, 0, "z"))
	if i, err := l.Index(ctx, "c"); i != 2 || err != nil {
		t.Fatalf("Index(c) = %d, %v", i, err)
	}
	if _, err := l.Index(ctx, "q"); !errors.Is(err, ErrValue) {
		t.Fatalf("Index of a missing item = %v, want ErrValue", err)
	}
	must(t, l.Append(ctx, "z"))
	if n, err := l.Count(ctx, "z"); n != 2 || err != nil {
		t.Fatalf("Count(z) = %d, %v", n, err)
	}
	must(t, l.Pop(ctx, -1, &s))
	if s != "z" {
		t.Fatalf("Pop(-1) = %q", s)
	}
	must(t, l.Remove(ctx, "z"))
	if err := l.Remove(ctx, "z"); !errors.Is(err, ErrValue) {
		t.Fatalf("Remove of a missing item = %v, want ErrValue", err)
	}
	must(t, l.Delete(ctx, 0))
	must(t, l.DeleteSlice(ctx, 1, 3))
	must(t, l.Items(ctx, &items))
	if !reflect.DeepEqual(items, []string{"c"}) {
		t.Fatalf("Items after Delete and DeleteSlice = %v", items)
	}
	if n, err := l.Len(ctx); n != 1 || err != nil {
		t.Fatalf("Len = %d, %v", n, err)
	}
	if err := l.Pop(ctx, 5, &s); !errors.Is(err, ErrValue) {
		t.Fatalf("Pop(5) = %v, want ErrValue", err)
	}

	ns := c.Namespace("ns")
	must(t, ns.Set(ctx, "x", 1))
	must(t, d.Namespace("ns").Set(ctx, "y", []int{2}))
	var attrs map[string]any
	must(t, ns.Attrs(ctx, &attrs))
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !reflect.DeepEqual(keys, []string{"x", "y"}) {
		t.Fatalf("Attrs = %v", attrs)
	}
	must(t, ns.Get(ctx, "x", &x))
	if x != 1 {
		t.Fatalf("Get(x) = %d", x)
	}
	must(t, ns.Delete(ctx, "x"))
	if err := ns.Get(ctx, "x", &x); !errors.Is(err, ErrValue) {
		t.Fatalf("Get of a deleted attribute = %v, want ErrValue", err)
	}
	if err := ns.Delete(ctx, "x"); !errors.Is(err, ErrValue) {
		t.Fatalf("Delete of a missing attribute = %v, want ErrValue", err)
	}
}

func TestPipe(t *testing.T) {
	c, d, ctx := twoClients(t)
	p := c.Pipe("p")

	// Poll without a deadline answers at once; with one it waits.
	if ok, err := p.Poll(context.Background(), 1); ok || err != nil {
		t.Fatalf("Poll on an empty end = %v, %v", ok, err)
	}
	if ok, err := p.Poll(short(t, ctx), 1); ok || err != nil {
		t.Fatalf("Poll with a deadline on an empty end = %v, %v", ok, err)
	}
	if err := p.Recv(short(t, ctx), 1, nil); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Recv past the deadline = %v, want ErrTimeout", err)
	}

	// A Recv on one connection is answered by a Send on the other.
	got := make(chan map[string]int, 1)
	go func() {
		var m map[string]int
		if err := d.Pipe("p").Recv(ctx, 1, &m); err != nil {
			t.Error(err)
		}
		got <- m
	}()
	time.Sleep(20 * time.Millisecond)
	must(t, p.Send(ctx, 0, map[string]int{"a": 1}))
	if m := <-got; m["a"] != 1 {
		t.Fatalf("Recv = %v", m)
	}
	// Duplex: end 1 sends to end 0.
	must(t, d.Pipe("p").Send(ctx, 1, "back"))
	if ok, err := p.Poll(ctx, 0); !ok || err != nil {
		t.Fatalf("Poll with a message = %v, %v", ok, err)
	}
	var s string
	must(t, p.Recv(ctx, 0, &s))
	if s != "back" {
		t.Fatalf("Recv = %q", s)
	}

	// What was sent before Close is still received, then EOF.
	must(t, p.Send(ctx, 0, "last"))
	must(t, p.Close(ctx, 0))
	must(t, d.Pipe("p").Recv(ctx, 1, &s))
	if s != "last" {
		t.Fatalf("Recv after the peer closed = %q", s)
	}
	if err := d.Pipe("p").Recv(ctx, 1, &s); !errors.Is(err, ErrEOF) {
		t.Fatalf("Recv at EOF = %v, want ErrEOF", err)
	}
	if err := d.Pipe("p").Send(ctx, 1, "x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send to a closed end = %v, want ErrClosed", err)
	}

	// One way: end 0 receives, end 1 sends.
	f := false
	_, err := c.CreateObject(ctx, "pipe", "oneway", &protocol.ObjectParams{Duplex: &f})
	must(t, err)
	w := c.Pipe("oneway")
	if err := w.Send(ctx, 0, "x"); !errors.Is(err, ErrDirection) {
		t.Fatalf("Send on the read end = %v, want ErrDirection", err)
	}
	must(t, w.Send(ctx, 1, "x"))
	must(t, d.Pipe("oneway").Recv(ctx, 0, &s))
	if s != "x" {
		t.Fatalf("Recv = %q", s)
	}
}
