package corral

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/protocol"
)

func TestSharedObjects(t *testing.T) {
	c := startClient(t)
	ctx := testCtx(t)
	// A second connection: what one puts, sets or releases, the other sees.
	d, err := Dial(ctx, c.Socket())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	q := c.Queue("jobs")
	got := make(chan string, 1)
	go func() {
		var s string
		if err := d.Queue("jobs").Get(ctx, &s); err != nil {
			t.Error(err)
		}
		got <- s
	}()
	if err := q.Put(ctx, "a b \"c\" $d"); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "a b \"c\" $d" {
		t.Fatalf("Get = %q", s)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	var s string
	if err := q.Get(short, &s); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Get on an empty queue with a deadline = %v, want ErrEmpty", err)
	}

	// A lock held by one connection: the other times out, then gets it
	// once the holder releases.
	if ok, err := c.Lock("db").Acquire(ctx); !ok || err != nil {
		t.Fatalf("Acquire = %v, %v", ok, err)
	}
	short2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if ok, err := d.Lock("db").Acquire(short2); ok || err != nil {
		t.Fatalf("Acquire of a held lock = %v, %v; want false", ok, err)
	}
	if err := d.Lock("db").Release(ctx); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("Release by a non-owner = %v", err)
	}
	if err := c.Lock("db").Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := d.Lock("db").Acquire(ctx); !ok || err != nil {
		t.Fatalf("Acquire after release = %v, %v", ok, err)
	}

	// Event.
	ev := make(chan bool, 1)
	go func() {
		ok, err := d.Event("go").Wait(ctx)
		if err != nil {
			t.Error(err)
		}
		ev <- ok
	}()
	time.Sleep(20 * time.Millisecond)
	if err := c.Event("go").Set(ctx); err != nil {
		t.Fatal(err)
	}
	if !<-ev {
		t.Fatal("Wait returned false after Set")
	}

	// An exact counter from many goroutines on two connections.
	if _, err := c.CreateObject(ctx, "value", "counter", &protocol.ObjectParams{Typecode: "i"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		cl := c
		if i%2 == 1 {
			cl = d
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if err := cl.Value("counter").Add(ctx, 1, nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var n int
	if err := c.Value("counter").Get(ctx, &n); err != nil || n != 800 {
		t.Fatalf("counter = %d, %v", n, err)
	}
	if err := c.Value("counter").Set(ctx, int64(1)<<40); !errors.Is(err, ErrValue) {
		t.Fatalf("2**40 into 'i' = %v, want ErrValue", err)
	}
	if ok, err := c.Value("counter").CompareAndSwap(ctx, 800, 5); !ok || err != nil {
		t.Fatalf("CompareAndSwap = %v, %v", ok, err)
	}

	// Dict keys keep their types.
	dict := c.Dict("cfg")
	for _, kv := range []struct{ k, v any }{{1, "int"}, {"1", "str"}, {0.25, "float"}} {
		if err := dict.Set(ctx, kv.k, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := dict.Len(ctx); n != 3 || err != nil {
		t.Fatalf("Len = %d, %v", n, err)
	}
	var v string
	if err := d.Dict("cfg").Get(ctx, "1", &v); err != nil || v != "str" {
		t.Fatalf(`Get("1") = %q, %v`, v, err)
	}

	// The wrong kind for a name is a clear error.
	if err := c.Object("queue", "cfg").Call(ctx, "qsize", nil, nil); !errors.Is(err, ErrWrongKind) {
		t.Fatalf("queue op on a dict = %v", err)
	}
}

// A queue passed to a task travels as a handle; the worker opens it with its
// own connection and takes what the driver put.
func TestObjectHandleInTaskArgs(t *testing.T) {
	c := startClient(t)
	ctx := testCtx(t)
	q := c.Queue("inbox")
	for _, s := range []string{"a", "b c", "d"} {
		if err := q.Put(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := json.Marshal(q)
	if err != nil || string(raw) != `{"$corral":"queue","name":"inbox"}` {
		t.Fatalf("handle = %s, %v", raw, err)
	}
	p := helperPool(t, c, "h", protocol.PoolSpec{Workers: 1})
	var got []string
	if err := p.Apply(ctx, &got, "drain", q); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "a|b c|d" {
		t.Fatalf("worker drained %q", got)
	}
	if n, err := q.Len(ctx); err != nil || n != 0 {
		t.Fatalf("queue after drain: %d, %v", n, err)
	}
}
