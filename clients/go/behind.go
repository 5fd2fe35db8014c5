package corral

import (
	"context"
	"errors"
	"fmt"
	"sync"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/jsonrpc"
)

// Requests sent without waiting.
//
// A few operations cannot wait at the supervisor and answer nothing the
// caller needs: a put to an unbounded queue (taken at once, as
// multiprocessing.Queue.put hands its item to a feeder thread and returns)
// and the release of a lock this Client holds (it cannot fail). They are
// sent without waiting for their replies, which saves a round trip each.
// Nothing about their effect changes: the supervisor handles one
// connection's requests in the order sent, so the next call on this Client
// sees them done, and other connections see them as soon as the
// supervisor has read them. Should one fail after all (the queue was
// deleted and re-made bounded, the connection broke), the error is
// returned by the next operation on the same handle, and by Flush.

// maxBehind bounds the requests sent without waiting and not yet answered;
// past it, a sender waits, as a bounded feeder would.
const maxBehind = 4096

type behind struct {
	mu   sync.Mutex
	n    int           // sent without waiting, not yet answered
	idle chan struct{} // closed when n drops to 0; nil while n is 0
	room chan struct{} // closed when n drops below maxBehind; nil below it
	late []*lateErr    // failures not yet reported, in order
}

// lateErr holds a handle's failures of requests sent without waiting.
type lateErr struct {
	mu  sync.Mutex
	err error
}

// take returns and clears the handle's pending failure.
func (l *lateErr) take() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.err
	l.err = nil
	return err
}

// callBehind is Call for an operation sent without waiting for its reply
// (params gets the object's name); a failure is kept in the handle's late.
func (o *Object) callBehind(ctx context.Context, op string, params map[string]any) error {
	if err := o.late.take(); err != nil {
		return err
	}
	if params == nil {
		params = make(map[string]any, 1)
	}
	params["name"] = o.name
	return o.c.sendBehind(ctx, o.family+"."+op, o.name, params, &o.late)
}

// sendBehind sends method without waiting for its reply; a failure is kept
// in late.
func (c *Client) sendBehind(ctx context.Context, method, name string, params any, late *lateErr) error {
	b := &c.behind
	b.mu.Lock()
	for b.n >= maxBehind {
		if b.room == nil {
			b.room = make(chan struct{})
		}
		room := b.room
		b.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.conn.Done():
			return c.explain(fromWire(jsonrpc.ErrClosed))
		}
		b.mu.Lock()
	}
	b.n++
	if b.idle == nil {
		b.idle = make(chan struct{})
	}
	b.mu.Unlock()
	err := c.conn.CallAsync(method, params, func(_ json.RawMessage, err error) {
		if err != nil {
			err = fmt.Errorf("%s %s (sent without waiting): %w", method, name, c.explain(fromWire(err)))
			late.mu.Lock()
			late.err = errors.Join(late.err, err)
			late.mu.Unlock()
		}
		b.mu.Lock()
		if err != nil {
			b.late = append(b.late, late)
		}
		b.answered()
		b.mu.Unlock()
	})
	if err != nil {
		b.mu.Lock()
		b.answered()
		b.mu.Unlock()
		return fmt.Errorf("%s %s: %w", method, name, c.explain(fromWire(err)))
	}
	return nil
}

// answered counts one reply in; b.mu is held.
func (b *behind) answered() {
	b.n--
	if b.n == maxBehind-1 && b.room != nil {
		close(b.room)
		b.room = nil
	}
	if b.n == 0 && b.idle != nil {
		close(b.idle)
		b.idle = nil
	}
}

// Flush waits until every request sent without waiting (puts to unbounded
// queues, releases of held locks) has been answered, and returns the
// failures among them not yet reported by their handles.
func (c *Client) Flush(ctx context.Context) error {
	b := &c.behind
	b.mu.Lock()
	idle := b.idle
	b.mu.Unlock()
	if idle != nil {
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.conn.Done():
		}
	}
	b.mu.Lock()
	late := b.late
	b.late = nil
	b.mu.Unlock()
	var errs []error
	for _, l := range late {
		if err := l.take(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// queueBound is what this Client knows of queue name's bound: its maxsize,
// learned from a put's answer, or -1 before any.
func (c *Client) queueBound(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.bounds[name]; ok {
		return n
	}
	return -1
}

func (c *Client) learnBound(name string, maxsize int) {
	c.mu.Lock()
	if c.bounds == nil {
		c.bounds = make(map[string]int)
	}
	c.bounds[name] = maxsize
	c.mu.Unlock()
}

// hold counts an acquire of lock name by this Client (delta 1) or a
// release (-1), reporting whether the release was of a lock it holds.
func (c *Client) hold(name string, delta int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held == nil {
		c.held = make(map[string]int)
	}
	n := c.held[name]
	if delta < 0 && n == 0 {
		return false
	}
	if n+delta == 0 {
		delete(c.held, name)
	} else {
		c.held[name] = n + delta
	}
	return true
}
