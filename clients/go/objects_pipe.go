package corral

import (
	"context"

	json "github.com/segmentio/encoding/json"
)

// Pipe is a shared pipe (multiprocessing.Pipe): two ends, numbered 0 and
// 1, as the two Connections Pipe() returns. What is sent on one end is
// received on the other. A one-way pipe (created with CreateObject and
// Duplex false) receives on end 0 and sends on end 1, as Pipe(duplex=False)
// returns (r, w); the wrong end is ErrDirection.
type Pipe struct{ o *Object }

// Pipe is multiprocessing.Pipe: it returns the shared pipe name (made on
// demand as a duplex pipe).
func (c *Client) Pipe(name string) *Pipe { return &Pipe{c.Object("pipe", name)} }

// Send is Connection.send on end: msg is queued for the other end, never
// waiting. Sending on a closed end, or to a closed one (a broken pipe), is
// ErrClosed.
func (p *Pipe) Send(ctx context.Context, end int, msg any) error {
	return p.o.callRaw(ctx, "send", "", nil, "end", end, "msg", msg)
}

// Recv is Connection.recv on end: it waits for a message until ctx's
// deadline (ErrTimeout then: Python's recv has no timeout) and decodes it
// into out; ErrEOF when the other end is closed and nothing is buffered.
func (p *Pipe) Recv(ctx context.Context, end int, out any) error {
	var r struct {
		Msg json.RawMessage `json:"msg"`
	}
	if err := p.o.Call(ctx, "recv", map[string]any{"end": end}, &r); err != nil {
		return err
	}
	return decodeResult(r.Msg, out)
}

// Poll is Connection.poll on end: whether a message is waiting to be
// received (true also at EOF, as recv would not wait). With a deadline on
// ctx it waits for one until then, as poll(timeout); without one it
// answers at once, as poll().
func (p *Pipe) Poll(ctx context.Context, end int) (bool, error) {
	var r struct {
		Ready bool `json:"ready"`
	}
	err := p.o.Call(ctx, "poll", map[string]any{"end": end}, &r)
	return r.Ready, err
}

// Close is Connection.close on end: the other end then receives what was
// already sent, then ErrEOF.
func (p *Pipe) Close(ctx context.Context, end int) error {
	return p.o.Call(ctx, "close", map[string]any{"end": end}, nil)
}
