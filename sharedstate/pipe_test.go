package sharedstate

import (
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"
)

func TestPipeDuplex(t *testing.T) {
	p := create[Pipe](t, KindPipe, "p", Params{})
	noErr(t, p.Send(0, raw(`"to 1"`)))
	noErr(t, p.Send(1, raw(`"to 0"`)))
	pch, pdone := cb[bool](t)
	p.Poll(1, nowait(o1), pdone)
	if !now(t, pch).v {
		t.Fatal("poll with a message buffered = false")
	}
	ch, done := cb[json.RawMessage](t)
	p.Recv(1, block(o1, 0), done)
	if r := now(t, ch); string(r.v) != `"to 1"` {
		t.Fatalf("end 1 got %s", r.v)
	}
	ch, done = cb[json.RawMessage](t)
	p.Recv(0, block(o1, 0), done)
	if r := now(t, ch); string(r.v) != `"to 0"` {
		t.Fatalf("end 0 got %s", r.v)
	}
	// poll(timeout) on an empty end returns False after the timeout.
	start := time.Now()
	pch, pdone = cb[bool](t)
	p.Poll(0, block(o1, 30*time.Millisecond), pdone)
	if got(t, pch).v {
		t.Fatal("poll on an empty end = true")
	}
	within(t, start, 30*time.Millisecond)
	// A parked recv gets the next message; a parked poll sees it too.
	ch, done = cb[json.RawMessage](t)
	p.Recv(0, block(o1, 0), done)
	noErr(t, p.Send(1, raw("1")))
	if r := now(t, ch); string(r.v) != "1" {
		t.Fatalf("parked recv got %s", r.v)
	}
	pch, pdone = cb[bool](t)
	p.Poll(0, block(o1, 0), pdone)
	noErr(t, p.Send(1, raw("2")))
	if !now(t, pch).v {
		t.Fatal("parked poll not woken")
	}
	// Closing end 1: what is buffered for 0 is still received, then EOF;
	// a parked recv on 0 gets EOF; sending to a closed end is ErrClosed.
	noErr(t, p.Close(1))
	noErr(t, p.Close(1)) // idempotent
	wantErr(t, p.Send(0, raw("3")), ErrClosed)
	wantErr(t, p.Send(1, raw("3")), ErrClosed)
	ch, done = cb[json.RawMessage](t)
	p.Recv(0, block(o1, 0), done)
	if r := now(t, ch); string(r.v) != "2" {
		t.Fatalf("buffered message after close: %s, %v", r.v, r.err)
	}
	ch, done = cb[json.RawMessage](t)
	p.Recv(0, block(o1, 0), done)
	wantErr(t, now(t, ch).err, ErrEOF)
	pch, pdone = cb[bool](t)
	p.Poll(0, nowait(o1), pdone)
	if !now(t, pch).v {
		t.Fatal("poll at EOF = false; Python reports True")
	}

	q := create[Pipe](t, KindPipe, "q", Params{})
	ch, done = cb[json.RawMessage](t)
	q.Recv(1, block(o1, 0), done)
	noErr(t, q.Close(0))
	wantErr(t, now(t, ch).err, ErrEOF)
	ch, done = cb[json.RawMessage](t)
	q.Recv(0, block(o1, 0), done)
	wantErr(t, now(t, ch).err, ErrClosed)
	start = time.Now()
	r := create[Pipe](t, KindPipe, "r", Params{})
	ch, done = cb[json.RawMessage](t)
	r.Recv(0, block(o1, 20*time.Millisecond), done)
	wantErr(t, got(t, ch).err, ErrTimeout)
	within(t, start, 20*time.Millisecond)
	wantErr(t, r.Send(2, raw("1")), ErrValue)
}

// Pipe(duplex=False) returns (reader, writer): end 0 receives, end 1 sends.
func TestPipeSimplex(t *testing.T) {
	p := create[Pipe](t, KindPipe, "p", Params{Simplex: true})
	if p.Duplex() {
		t.Fatal("simplex pipe reports duplex")
	}
	wantErr(t, p.Send(0, raw("1")), ErrDirection)
	ch, done := cb[json.RawMessage](t)
	p.Recv(1, block(o1, 0), done)
	wantErr(t, now(t, ch).err, ErrDirection)
	pch, pdone := cb[bool](t)
	p.Poll(1, nowait(o1), pdone)
	wantErr(t, now(t, pch).err, ErrDirection)
	noErr(t, p.Send(1, raw("1")))
	ch, done = cb[json.RawMessage](t)
	p.Recv(0, nowait(o1), done)
	if r := now(t, ch); string(r.v) != "1" {
		t.Fatalf("got %s, %v", r.v, r.err)
	}
}
