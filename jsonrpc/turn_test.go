package jsonrpc

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"
)

// streamPair connects two Conns over a socket pair or over two pipes; both
// support read deadlines, so CallerReads is in effect on the side that asks.
func streamPair(t *testing.T, kind string, ha, hb Handler, oa, ob Options) (a, b *Conn) {
	t.Helper()
	switch kind {
	case "socket":
		ln, err := net.Listen("unix", t.TempDir()+"/s")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, _ := ln.Accept()
			accepted <- c
		}()
		x, err := net.Dial("unix", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		y := <-accepted
		a = NewConn(x, x, x, ha, oa)
		b = NewConn(y, y, y, hb, ob)
	default:
		aR, bW, _ := os.Pipe()
		bR, aW, _ := os.Pipe()
		a = NewConn(aR, aW, pipeCloser{[]*os.File{aR, aW}}, ha, oa)
		b = NewConn(bR, bW, pipeCloser{[]*os.File{bR, bW}}, hb, ob)
	}
	a.Start()
	b.Start()
	t.Cleanup(func() {
		a.Close()
		b.Close()
	})
	return a, b
}

func TestCallerReadsTakesTheTurn(t *testing.T) {
	for _, kind := range []string{"socket", "pipe"} {
		t.Run(kind, func(t *testing.T) {
			a, _ := streamPair(t, kind, echo, echo, Options{CallerReads: true}, Options{})
			if a.dl == nil {
				t.Fatalf("%s: CallerReads not in effect: the stream takes no read deadline", kind)
			}
			ctx := context.Background()
			for i := range 50 {
				var n int
				if err := a.Call(ctx, "echo", i, &n); err != nil || n != i {
					t.Fatalf("echo %d = %d, %v", i, n, err)
				}
			}
		})
	}
}

// Calls both ways at once, many goroutines each side: every reply finds its
// caller, and the peer's requests are answered by whichever goroutine holds
// the turn.
func TestCallerReadsConcurrentBothWays(t *testing.T) {
	for _, callerReads := range []bool{false, true} {
		a, b := streamPair(t, "socket", echo, echo, Options{CallerReads: callerReads}, Options{CallerReads: callerReads})
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := range 100 {
			for _, c := range []*Conn{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range 20 {
						want := i*100 + j
						var n int
						if err := c.Call(ctx, "echo", want, &n); err != nil || n != want {
							t.Errorf("callerReads=%v: echo %d = %d, %v", callerReads, want, n, err)
							return
						}
					}
				}()
			}
		}
		wg.Wait()
	}
}

// While nobody calls, the read loop reads: a notification from the peer is
// handled without any call to carry it in.
func TestCallerReadsIdleNotification(t *testing.T) {
	got := make(chan string, 4)
	h := HandlerFunc(func(_ context.Context, _ *Conn, req *Request) (any, error) {
		if req.Method == "note" {
			got <- string(req.Params)
			return nil, nil
		}
		return echo(context.Background(), nil, req)
	})
	a, b := streamPair(t, "socket", h, echo, Options{CallerReads: true}, Options{})
	// A call first, so that the turn has been with a caller and must come
	// back to the read loop.
	if err := a.Call(context.Background(), "echo", 1, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := b.Notify("note", []int{7}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "[7]" {
			t.Fatalf("notification params %s", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a notification sent while nobody called was never read")
	}
}

// A call whose reply is slow holds the turn; calls made meanwhile get their
// replies (read by the slow call's goroutine), and the slow call gets its own.
func TestCallerReadsSlowCallServesOthers(t *testing.T) {
	var mu sync.Mutex
	var slow []ID
	var bconn *Conn
	h := HandlerFunc(func(ctx context.Context, c *Conn, req *Request) (any, error) {
		if req.Method == "slow" {
			mu.Lock()
			slow = append(slow, req.ID)
			bconn = c
			mu.Unlock()
			return nil, ErrAsync
		}
		return echo(ctx, c, req)
	})
	a, _ := streamPair(t, "socket", echo, h, Options{CallerReads: true}, Options{})
	ctx := context.Background()
	slowDone := make(chan error, 1)
	go func() {
		var s string
		err := a.Call(ctx, "slow", nil, &s)
		if err == nil && s != "late" {
			err = errors.New("slow call got " + s)
		}
		slowDone <- err
	}()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(slow) == 1 })
	for i := range 20 {
		var n int
		if err := a.Call(ctx, "echo", i, &n); err != nil || n != i {
			t.Fatalf("echo %d beside a slow call = %d, %v", i, n, err)
		}
	}
	mu.Lock()
	id, c := slow[0], bconn
	mu.Unlock()
	if err := c.Reply(id, "late", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-slowDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the slow call never got its reply")
	}
}

// A call holding the turn whose context ends returns promptly, and the
// connection goes on: the turn passes on and a late reply is dropped.
func TestCallerReadsContextEnds(t *testing.T) {
	never := HandlerFunc(func(ctx context.Context, c *Conn, req *Request) (any, error) {
		if req.Method == "never" {
			return nil, ErrAsync
		}
		return echo(ctx, c, req)
	})
	a, _ := streamPair(t, "socket", echo, never, Options{CallerReads: true}, Options{})
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		start := time.Now()
		err := a.Call(ctx, "never", nil, nil)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("the call returned %v after its context ended", d)
		}
		var n int
		if err := a.Call(context.Background(), "echo", 5, &n); err != nil || n != 5 {
			t.Fatalf("echo after a cancelled call = %d, %v", n, err)
		}
	}
}

// The peer going away while a caller holds the turn fails that call and
// every other pending one with ErrClosed, and the connection ends.
func TestCallerReadsPeerCloses(t *testing.T) {
	never := HandlerFunc(func(context.Context, *Conn, *Request) (any, error) { return nil, ErrAsync })
	a, b := streamPair(t, "socket", echo, never, Options{CallerReads: true}, Options{})
	errc := make(chan error, 3)
	for range 3 {
		go func() { errc <- a.Call(context.Background(), "x", nil, nil) }()
	}
	time.Sleep(20 * time.Millisecond)
	b.Close()
	for range 3 {
		select {
		case err := <-errc:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("got %v, want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a pending call hung after the peer closed")
		}
	}
	select {
	case <-a.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection did not end after its peer closed")
	}
}

// An oversize reply read by a caller ends the connection as it does when
// the read loop reads it.
func TestCallerReadsOversizeReply(t *testing.T) {
	big := HandlerFunc(func(context.Context, *Conn, *Request) (any, error) {
		return strings.Repeat("x", 500), nil
	})
	a, _ := streamPair(t, "socket", echo, big, Options{CallerReads: true, MaxLine: 200}, Options{})
	var raw json.RawMessage
	err := a.Call(context.Background(), "big", nil, &raw)
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
	select {
	case <-a.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection did not end after an oversize reply")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// Requests that arrive in one read are answered in one write: the reply to
// the first is held back while the second is handled.
func TestRepliesToOneReadGoOutTogether(t *testing.T) {
	var peer *rawPeer
	heldBack := make(chan bool, 1)
	h := HandlerFunc(func(ctx context.Context, c *Conn, req *Request) (any, error) {
		if req.Method == "second" {
			// The first reply must not be readable yet.
			peer.rf.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			_, err := peer.r.Peek(1)
			heldBack <- errors.Is(err, os.ErrDeadlineExceeded)
		}
		return req.Method, nil
	})
	_, peer = newPair(t, h, Options{})
	peer.send(`{"jsonrpc":"2.0","id":1,"method":"first"}` + "\n" + `{"jsonrpc":"2.0","id":2,"method":"second"}`)
	if !<-heldBack {
		t.Fatal("the reply to the first request was written before the second, read with it, was handled")
	}
	peer.expect(`{"jsonrpc":"2.0","id":1,"result":"first"}`)
	peer.expect(`{"jsonrpc":"2.0","id":2,"result":"second"}`)
}
