package corral

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/protocol"
)

// Puts to an unbounded queue, once the Client knows it is unbounded, are
// sent without waiting: another connection sees every item, in order, and
// Flush reports nothing amiss.
func TestPutsToUnboundedQueueSentWithoutWaiting(t *testing.T) {
	c, d, ctx := twoClients(t)
	q := c.Queue("stream")
	if got := c.queueBound("stream"); got != -1 {
		t.Fatalf("bound before any put = %d, want -1 (unknown)", got)
	}
	const n = maxBehind + 500 // more than may be in flight at once
	for i := range n {
		if err := q.Put(ctx, i); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	if got := c.queueBound("stream"); got != 0 {
		t.Fatalf("bound after a put = %d, want 0 (unbounded)", got)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if size, err := d.Queue("stream").Len(ctx); err != nil || size != n {
		t.Fatalf("qsize seen by another connection after Flush = %d, %v; want %d", size, err, n)
	}
	for i := range n {
		var v int
		if err := d.Queue("stream").Get(ctx, &v); err != nil || v != i {
			t.Fatalf("get %d = %d, %v", i, v, err)
		}
	}
	// The same connection sees its own puts at once: requests are handled
	// in the order sent.
	if err := q.Put(ctx, "mine"); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := q.GetNowait(ctx, &s); err != nil || s != "mine" {
		t.Fatalf("get_nowait after a put sent without waiting = %q, %v", s, err)
	}
}

// A bounded queue's puts wait for their answers: a full queue says so at
// once, not later.
func TestPutsToBoundedQueueWait(t *testing.T) {
	c := startClient(t)
	ctx := testCtx(t)
	if _, err := c.CreateObject(ctx, "queue", "small", &protocol.ObjectParams{Maxsize: 1}); err != nil {
		t.Fatal(err)
	}
	q := c.Queue("small")
	if err := q.Put(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got := c.queueBound("small"); got != 1 {
		t.Fatalf("bound = %d, want 1", got)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := q.Put(short, 2); !errors.Is(err, ErrFull) {
		t.Fatalf("put to a full bounded queue = %v, want ErrFull", err)
	}
}

// A put sent without waiting that fails after all (the queue was replaced
// by a lock meanwhile) is reported: by the next operation on the handle,
// or by Flush when that comes first; never twice, never lost.
func TestPutSentWithoutWaitingFailsLate(t *testing.T) {
	for _, reportedBy := range []string{"handle", "flush"} {
		t.Run(reportedBy, func(t *testing.T) {
			c, d, ctx := twoClients(t)
			q := c.Queue("q")
			if err := q.Put(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if err := d.call(ctx, protocol.MethodObjectDelete, map[string]string{"name": "q"}, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := d.CreateObject(ctx, "lock", "q", nil); err != nil {
				t.Fatal(err)
			}
			if err := q.Put(ctx, 1); err != nil {
				t.Fatalf("a put sent without waiting failed at once: %v", err)
			}
			var late error
			switch reportedBy {
			case "handle":
				// Wait for the reply to come in, then use the handle.
				waitUntil(t, func() bool {
					c.behind.mu.Lock()
					defer c.behind.mu.Unlock()
					return c.behind.n == 0
				})
				_, late = q.Len(ctx)
				if err := c.Flush(ctx); err != nil {
					t.Fatalf("Flush after the handle reported the failure = %v, want nil", err)
				}
			case "flush":
				late = c.Flush(ctx)
				if _, err := q.Len(ctx); err == nil || errors.Is(err, ErrWrongKind) && strings.Contains(err.Error(), "without waiting") {
					t.Fatalf("the handle reported a failure Flush already returned: %v", err)
				}
			}
			if !errors.Is(late, ErrWrongKind) || !strings.Contains(late.Error(), "sent without waiting") {
				t.Fatalf("late failure = %v, want ErrWrongKind naming a put sent without waiting", late)
			}
		})
	}
}

// The release of a lock this Client holds is sent without waiting; the
// release of one it does not hold still fails at once.
func TestReleaseOfHeldLockSentWithoutWaiting(t *testing.T) {
	c, d, ctx := twoClients(t)
	l := c.Lock("m")
	for range 200 {
		if ok, err := l.Acquire(ctx); !ok || err != nil {
			t.Fatalf("acquire = %v, %v", ok, err)
		}
		if err := l.Release(ctx); err != nil {
			t.Fatalf("release = %v", err)
		}
	}
	if err := l.Release(ctx); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("release of a lock not held = %v, want ErrNotOwner at once", err)
	}
	// The other connection gets the lock: the last release went through.
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if ok, err := d.Lock("m").Acquire(short); !ok || err != nil {
		t.Fatalf("acquire by another connection after the releases = %v, %v", ok, err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	// An rlock nests: each level's release is counted.
	if _, err := c.CreateObject(ctx, "rlock", "r", nil); err != nil {
		t.Fatal(err)
	}
	r := c.Lock("r")
	for range 3 {
		if ok, err := r.Acquire(ctx); !ok || err != nil {
			t.Fatalf("rlock acquire = %v, %v", ok, err)
		}
	}
	for range 3 {
		if err := r.Release(ctx); err != nil {
			t.Fatalf("rlock release = %v", err)
		}
	}
	if err := r.Release(ctx); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("rlock release past its levels = %v, want ErrNotOwner", err)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
