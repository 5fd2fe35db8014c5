package jsonrpc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type pipeCloser struct{ fs []*os.File }

func (p pipeCloser) Close() error {
	for _, f := range p.fs {
		f.Close()
	}
	return nil
}

// rawPeer is the far end of a Conn, driven line by line like a shell script.
type rawPeer struct {
	t  *testing.T
	w  *os.File
	r  *bufio.Reader
	rf *os.File
}

func (p *rawPeer) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.w, line+"\n"); err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

func (p *rawPeer) expect(want string) {
	p.t.Helper()
	p.rf.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Fatalf("expect %s: %v", want, err)
	}
	if strings.TrimSpace(got) != want {
		p.t.Fatalf("got  %s\nwant %s", strings.TrimSpace(got), want)
	}
}

func newPair(t *testing.T, h Handler, opts Options) (*Conn, *rawPeer) {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := NewConn(inR, outW, pipeCloser{[]*os.File{inR, outW}}, h, opts)
	c.Start()
	t.Cleanup(func() {
		inW.Close()
		c.Close()
		outR.Close()
	})
	return c, &rawPeer{t: t, w: inW, r: bufio.NewReader(outR), rf: outR}
}

var echo = HandlerFunc(func(ctx context.Context, c *Conn, req *Request) (any, error) {
	switch req.Method {
	case "echo":
		return req.Params, nil
	case "fail":
		return nil, &Error{Code: 7, Message: "boom", Data: json.RawMessage(`{"x":1}`)}
	case "oops":
		return nil, errors.New("plain error")
	}
	return nil, Errorf(CodeMethodNotFound, "method not found: %s", req.Method)
})

func TestServerTranscript(t *testing.T) {
	_, p := newPair(t, echo, Options{MaxLine: 200})
	steps := []struct{ send, want string }{
		{`{"jsonrpc":"2.0","id":1,"method":"echo","params":[1,"a"]}`, `{"jsonrpc":"2.0","id":1,"result":[1,"a"]}`},
		{`{"jsonrpc":"2.0","id":"s-1","method":"echo","params":{"k":null}}`, `{"jsonrpc":"2.0","id":"s-1","result":{"k":null}}`},
		{`{"jsonrpc":"2.0","id":2,"method":"echo"}`, `{"jsonrpc":"2.0","id":2,"result":null}`},
		{`{"jsonrpc":"2.0","id":3,"method":"fail"}`, `{"jsonrpc":"2.0","id":3,"error":{"code":7,"message":"boom","data":{"x":1}}}`},
		{`{"jsonrpc":"2.0","id":4,"method":"oops"}`, `{"jsonrpc":"2.0","id":4,"error":{"code":-32603,"message":"plain error"}}`},
		{`{"jsonrpc":"2.0","id":5,"method":"nope"}`, `{"jsonrpc":"2.0","id":5,"error":{"code":-32601,"message":"method not found: nope"}}`},
		{`{"jsonrpc":"2.0","id":6,"meth`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: the line is not valid JSON"}}`},
		{`hello there`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: the line is not valid JSON"}}`},
		{`[{"jsonrpc":"2.0","id":1,"method":"echo"}]`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: batches are not supported; send one request per line"}}`},
		{`42`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: a message must be a JSON object"}}`},
		{`{"jsonrpc":"1.0","id":8,"method":"echo"}`, `{"jsonrpc":"2.0","id":8,"error":{"code":-32600,"message":"invalid request: \"jsonrpc\" must be \"2.0\""}}`},
		{`{"jsonrpc":"2.0","id":{"a":1},"method":"echo"}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: id must be a string or a number"}}`},
		{`{"jsonrpc":"2.0","method":"echo","params":[1]}`, ``}, // a notification: no reply
		{`{"jsonrpc":"2.0","id":9,"method":"echo","params":"after"}`, `{"jsonrpc":"2.0","id":9,"result":"after"}`},
		{`{"jsonrpc":"2.0","id":10,"method":"echo","params":"` + strings.Repeat("x", 300) + `"}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32003,"message":"message too large: over the 200-byte limit; closing the connection"}}`},
	}
	for _, s := range steps {
		p.send(s.send)
		if s.want != "" {
			p.expect(s.want)
		}
	}
	// After an oversize line the connection is closed: EOF, not a hang.
	p.rf.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.r.ReadString('\n'); err != io.EOF {
		t.Fatalf("after oversize line: got %v, want EOF", err)
	}
}

func TestAsyncReplyAndOrdering(t *testing.T) {
	var mu sync.Mutex
	var parked []ID
	var conn *Conn
	h := HandlerFunc(func(ctx context.Context, c *Conn, req *Request) (any, error) {
		switch req.Method {
		case "park":
			mu.Lock()
			parked = append(parked, req.ID)
			conn = c
			mu.Unlock()
			return nil, ErrAsync
		case "release":
			mu.Lock()
			defer mu.Unlock()
			for _, id := range parked {
				c.Reply(id, "released", nil)
			}
			if err := c.Reply(parked[0], "again", nil); err == nil {
				t.Error("second reply to one id succeeded")
			}
			parked = nil
			return "ok", nil
		}
		return nil, Errorf(CodeMethodNotFound, "no")
	})
	_, p := newPair(t, h, Options{})
	p.send(`{"jsonrpc":"2.0","id":1,"method":"park"}`)
	p.send(`{"jsonrpc":"2.0","id":1,"method":"park"}`)
	p.expect(`{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"invalid request: id 1 is already in use by a request awaiting its reply"}}`)
	p.send(`{"jsonrpc":"2.0","id":2,"method":"release"}`)
	p.expect(`{"jsonrpc":"2.0","id":1,"result":"released"}`)
	p.expect(`{"jsonrpc":"2.0","id":2,"result":"ok"}`)
	_ = conn
}

func TestCallBothWays(t *testing.T) {
	aR, bW, _ := os.Pipe()
	bR, aW, _ := os.Pipe()
	a := NewConn(aR, aW, pipeCloser{[]*os.File{aR, aW}}, echo, Options{})
	b := NewConn(bR, bW, pipeCloser{[]*os.File{bR, bW}}, echo, Options{})
	a.Start()
	b.Start()
	ctx := context.Background()
	var got []int
	if err := a.Call(ctx, "echo", []int{1, 2}, &got); err != nil || len(got) != 2 {
		t.Fatalf("a→b echo = %v, %v", got, err)
	}
	var raw json.RawMessage
	if err := b.Call(ctx, "echo", json.RawMessage(`{"z":[true]}`), &raw); err != nil || string(raw) != `{"z":[true]}` {
		t.Fatalf("b→a echo = %s, %v", raw, err)
	}
	err := a.Call(ctx, "fail", nil, nil)
	var rerr *Error
	if !errors.As(err, &rerr) || rerr.Code != 7 || string(rerr.Data) != `{"x":1}` {
		t.Fatalf("fail: %v", err)
	}
	// Many concurrent calls are matched to their responses.
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int
			if err := a.Call(ctx, "echo", i, &n); err != nil || n != i {
				t.Errorf("echo %d = %d, %v", i, n, err)
			}
		}()
	}
	wg.Wait()
	// A call whose context ends returns promptly.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	h := HandlerFunc(func(context.Context, *Conn, *Request) (any, error) { return nil, ErrAsync })
	_ = h
	b.Close()
	if err := a.Call(cctx, "echo", 1, nil); err == nil {
		t.Fatal("call on a conn whose peer closed succeeded")
	}
	<-a.Done()
	if !errors.Is(a.Err(), io.EOF) && a.Err() == nil {
		t.Fatalf("a.Err() = %v", a.Err())
	}
}

func TestPendingCallFailsWhenPeerDies(t *testing.T) {
	aR, bW, _ := os.Pipe()
	bR, aW, _ := os.Pipe()
	never := HandlerFunc(func(context.Context, *Conn, *Request) (any, error) { return nil, ErrAsync })
	a := NewConn(aR, aW, pipeCloser{[]*os.File{aR, aW}}, echo, Options{})
	b := NewConn(bR, bW, pipeCloser{[]*os.File{bR, bW}}, never, Options{})
	a.Start()
	b.Start()
	errc := make(chan error, 1)
	go func() { errc <- a.Call(context.Background(), "x", nil, nil) }()
	time.Sleep(20 * time.Millisecond)
	b.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("got %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending call hung after the peer closed")
	}
	a.Close()
}

func TestNoiseLines(t *testing.T) {
	var mu sync.Mutex
	var noise []string
	_, p := newPair(t, echo, Options{Noise: func(l []byte) {
		mu.Lock()
		noise = append(noise, string(l))
		mu.Unlock()
	}})
	p.send(`progress: 10%`)
	p.send(`{"not":"rpc"}`)
	p.send(`{"jsonrpc":"2.0","id":1,"method":"echo","params":1}`)
	p.expect(`{"jsonrpc":"2.0","id":1,"result":1}`)
	mu.Lock()
	defer mu.Unlock()
	if len(noise) != 2 || noise[0] != "progress: 10%" || noise[1] != `{"not":"rpc"}` {
		t.Fatalf("noise = %q", noise)
	}
}

func TestNotifyWaitBackpressure(t *testing.T) {
	c, p := newPair(t, echo, Options{HighWater: 4096})
	sent := make(chan int, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		n := 0
		for ; n < 100000; n++ {
			if err := c.NotifyWait(ctx, "tick", strings.Repeat("y", 1000)); err != nil {
				break
			}
		}
		sent <- n
	}()
	// The peer reads nothing: the sender must stall near the pipe buffer
	// plus the high-water mark, far short of 100,000 messages.
	time.Sleep(200 * time.Millisecond)
	cancel()
	n := <-sent
	if n >= 1000 {
		t.Fatalf("sent %d notifications to a peer that reads nothing", n)
	}
	_ = p
}

func FuzzDispatch(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":1}`))
	f.Add([]byte(`[1,2`))
	f.Fuzz(func(t *testing.T, line []byte) {
		c := NewConn(strings.NewReader(""), io.Discard, nil, echo, Options{})
		c.dispatch(line)
		c.mu.Lock()
		n := len(c.parked)
		c.mu.Unlock()
		if n != 0 {
			t.Fatalf("request left without a reply: %s", line)
		}
	})
}

func TestReplyParked(t *testing.T) {
	park := HandlerFunc(func(context.Context, *Conn, *Request) (any, error) { return nil, ErrAsync })
	c, p := newPair(t, park, Options{})
	p.send(`{"jsonrpc":"2.0","id":1,"method":"wait"}`)
	p.send(`{"jsonrpc":"2.0","id":"two","method":"wait"}`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.parked)
		c.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("requests never parked")
		}
		time.Sleep(time.Millisecond)
	}
	if n := c.ReplyParked(&Error{Code: 9, Message: "bye"}); n != 2 {
		t.Fatalf("answered %d", n)
	}
	got := map[string]bool{}
	for range 2 {
		p.rf.SetReadDeadline(time.Now().Add(5 * time.Second))
		l, _ := p.r.ReadString('\n')
		got[strings.TrimSpace(l)] = true
	}
	if !got[`{"jsonrpc":"2.0","id":1,"error":{"code":9,"message":"bye"}}`] || !got[`{"jsonrpc":"2.0","id":"two","error":{"code":9,"message":"bye"}}`] {
		t.Fatalf("got %v", got)
	}
}

func TestCallAsync(t *testing.T) {
	aR, bW, _ := os.Pipe()
	bR, aW, _ := os.Pipe()
	never := HandlerFunc(func(ctx context.Context, c *Conn, req *Request) (any, error) {
		if req.Method == "hang" {
			return nil, ErrAsync
		}
		return echo(ctx, c, req)
	})
	a := NewConn(aR, aW, pipeCloser{[]*os.File{aR, aW}}, echo, Options{})
	b := NewConn(bR, bW, pipeCloser{[]*os.File{bR, bW}}, never, Options{})
	a.Start()
	b.Start()
	type out struct {
		res json.RawMessage
		err error
	}
	got := make(chan out, 3)
	done := func(res json.RawMessage, err error) { got <- out{res, err} }
	for _, m := range []string{"echo", "fail", "hang"} {
		if err := a.CallAsync(m, []int{1}, done); err != nil {
			t.Fatal(err)
		}
	}
	r1, r2 := <-got, <-got
	if string(r1.res) != "[1]" || r1.err != nil {
		t.Fatalf("echo: %s %v", r1.res, r1.err)
	}
	var e *Error
	if !errors.As(r2.err, &e) || e.Code != 7 {
		t.Fatalf("fail: %v", r2.err)
	}
	b.Close() // the hanging call gets ErrClosed, once
	if r3 := <-got; !errors.Is(r3.err, ErrClosed) {
		t.Fatalf("hang after close: %v", r3.err)
	}
	<-a.Done()
	if err := a.CallAsync("echo", nil, done); !errors.Is(err, ErrClosed) {
		t.Fatalf("CallAsync on a closed conn: %v", err)
	}
	select {
	case r := <-got:
		t.Fatalf("done called after an error return: %+v", r)
	case <-time.After(50 * time.Millisecond):
	}
	a.Close()
}
