package jsonrpc

import (
	"context"
	"errors"
	"os"
	"time"
)

// Reading in the caller.
//
// A Call normally waits for its reply on a channel that the read loop fills.
// Handing the reply from the read loop's goroutine to the caller's costs a
// scheduler wake-up, and on small machines that wake-up (another OS thread
// woken to run the caller, spinning on the CPU its peer needs) is most of a
// round trip: a Go client made twice as many calls per second with one P as
// with two. With Options.CallerReads the caller reads instead: at most one
// goroutine holds the read turn at a time, and a Call whose request is out
// takes the turn, reads and dispatches lines until its own reply arrives,
// then passes the turn to the next waiting caller. The reply is then read by
// the goroutine that wants it, straight out of the poller.
//
// The read loop holds the turn only while no call has wanted it for a
// while (turnLinger): a caller that finds it reading stops its read with a
// read deadline in the past and waits for the turn. Between calls made back
// to back the read loop never re-takes the turn, so nothing has to be
// stopped, and it still reads within turnLinger of the last call, so
// messages nobody calls for (notifications, the peer's requests, the end of
// the stream) are never left unread for long.

// turnLinger is how long the read loop leaves the stream to callers after
// the last one finished before reading again itself.
const turnLinger = time.Millisecond

type reader uint8

const (
	readNone   reader = iota
	readLoop          // the read loop holds the turn
	readCaller        // a Call holds the turn
)

// deadliner is a stream whose reads can be stopped by a deadline.
type deadliner interface {
	SetReadDeadline(t time.Time) error
}

// turnWaiter is a Call waiting for its reply or for the turn.
type turnWaiter struct {
	turn chan struct{} // gets a token when the turn is handed to this call
	has  bool          // the turn was handed over (guarded by Conn.tmu)
}

// readerDeadline returns the stream's deadline setter when reads from r can
// be stopped by a deadline (a socket or a pollable pipe), nil otherwise.
func readerDeadline(r any) deadliner {
	d, ok := r.(deadliner)
	if !ok || d.SetReadDeadline(time.Time{}) != nil {
		return nil
	}
	return d
}

// loopTurn waits until the read loop may read: the turn is free and no
// call has wanted it for turnLinger. It reports false when the connection
// has ended.
func (c *Conn) loopTurn() bool {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		c.tmu.Lock()
		if c.readErr != nil {
			c.tmu.Unlock()
			return false
		}
		wait := time.Duration(0)
		switch {
		case c.turn == readCaller && time.Since(c.callerAt) >= turnLinger:
			// A long call (a blocking get): it hands the turn back itself.
			c.loopWaits = true
			wait = -1
		case c.turn != readNone || len(c.waiters) > 0:
			wait = turnLinger
		default:
			if idle := time.Since(c.callerAt); idle < turnLinger {
				wait = turnLinger - idle
			}
		}
		if wait == 0 {
			c.turn = readLoop
			c.tmu.Unlock()
			return true
		}
		c.tmu.Unlock()
		var expired <-chan time.Time
		if wait > 0 {
			if t == nil {
				t = time.NewTimer(wait)
			} else {
				t.Reset(wait)
			}
			expired = t.C
		}
		select {
		case <-c.loopWake:
		case <-expired:
		case <-c.ctx.Done():
			return false
		}
	}
}

// loopRead reads one line for the read loop, which holds the turn. It
// reports ok=false when a caller has asked for the turn, which the loop
// then no longer holds.
func (c *Conn) loopRead() (line []byte, err error, ok bool) {
	c.tmu.Lock()
	if c.stopping || len(c.waiters) > 0 {
		c.clearStopLocked()
		c.passTurnLocked()
		c.tmu.Unlock()
		return nil, nil, false
	}
	c.tmu.Unlock()
	line, err = c.r.ReadLine()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.tmu.Lock()
		c.clearStopLocked()
		c.passTurnLocked()
		c.tmu.Unlock()
		return nil, nil, false
	}
	return line, err, true
}

// loopDone gives the turn up after the read loop's line was dispatched.
func (c *Conn) loopDone() {
	c.tmu.Lock()
	if c.stopping || len(c.waiters) > 0 {
		c.clearStopLocked()
		c.passTurnLocked()
	} else {
		c.turn = readNone
	}
	c.tmu.Unlock()
}

// clearStop is clearStopLocked taking c.tmu.
func (c *Conn) clearStop() {
	c.tmu.Lock()
	c.clearStopLocked()
	c.tmu.Unlock()
}

// clearStopLocked lifts the deadline a caller set to stop a read.
func (c *Conn) clearStopLocked() {
	if c.stopping {
		c.dl.SetReadDeadline(time.Time{})
		c.stopping = false
	}
}

// passTurnLocked gives the turn to the first waiting call, or frees it.
func (c *Conn) passTurnLocked() {
	c.callerAt = time.Now()
	if c.readErr != nil || len(c.waiters) == 0 {
		// A failed stream is read no more (the failure delivers to every
		// pending call) and the read loop ends; otherwise it reads again
		// once callers stop wanting the turn.
		c.turn = readNone
		if c.readErr != nil || c.loopWaits {
			c.loopWaits = false
			select {
			case c.loopWake <- struct{}{}:
			default:
			}
		}
		return
	}
	w := c.waiters[0]
	c.waiters = c.waiters[1:]
	w.has = true
	c.turn = readCaller
	w.turn <- struct{}{}
}

// await waits for the reply of a call whose request is out, reading the
// stream itself when it gets the turn. got is the call's reply channel.
func (c *Conn) await(ctx context.Context, got chan *wire) (*wire, error) {
	select {
	case m := <-got:
		return m, nil
	default:
	}
	w := &turnWaiter{turn: make(chan struct{}, 1)}
	c.tmu.Lock()
	switch {
	case c.readErr != nil:
		c.tmu.Unlock()
		return c.awaitChannel(ctx, got)
	case c.turn == readNone:
		c.turn = readCaller
		c.callerAt = time.Now()
		w.has = true
	default:
		if c.turn == readLoop && !c.stopping {
			c.stopping = true
			c.dl.SetReadDeadline(time.Unix(1, 0))
		}
		c.waiters = append(c.waiters, w)
	}
	has := w.has // later changes come with a token on w.turn
	c.tmu.Unlock()
	if !has {
		select {
		case m := <-got:
			c.leave(w)
			return m, nil
		case <-w.turn:
		case <-ctx.Done():
			c.leave(w)
			return nil, ctx.Err()
		}
	}
	m, err, done := c.readFor(ctx, got)
	c.tmu.Lock()
	c.passTurnLocked()
	c.tmu.Unlock()
	if done {
		return m, err
	}
	// The stream failed under us: the failure delivers to every pending
	// call, this one included.
	return c.awaitChannel(ctx, got)
}

// awaitChannel waits for a reply delivered by whoever reads.
func (c *Conn) awaitChannel(ctx context.Context, got chan *wire) (*wire, error) {
	select {
	case m := <-got:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// leave takes a call that no longer needs the turn off the waiting list,
// passing the turn on if it had been handed over meanwhile.
func (c *Conn) leave(w *turnWaiter) {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	if w.has {
		c.passTurnLocked()
		return
	}
	for i, o := range c.waiters {
		if o == w {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			break
		}
	}
}

// readFor reads and dispatches lines, holding the turn, until the call's
// reply is in got (done, with the reply), ctx ends (done, with its error)
// or the stream fails (not done).
func (c *Conn) readFor(ctx context.Context, got chan *wire) (m *wire, err error, done bool) {
	stop := context.AfterFunc(ctx, func() {
		c.tmu.Lock()
		if c.turn == readCaller && !c.stopping {
			c.stopping = true
			c.dl.SetReadDeadline(time.Unix(1, 0))
		}
		c.tmu.Unlock()
	})
	defer stop()
	for {
		select {
		case m := <-got:
			return m, nil, true
		default:
		}
		if ctx.Err() != nil {
			c.clearStop()
			return nil, ctx.Err(), true
		}
		line, rerr := c.r.ReadLine()
		if errors.Is(rerr, os.ErrDeadlineExceeded) {
			c.clearStop()
			continue
		}
		if rerr != nil {
			c.readFailed(rerr)
			return nil, nil, false
		}
		c.dispatchRead(line)
	}
}

// readFailed ends the connection after a read error seen by a caller; the
// read loop, woken, finishes closing it.
func (c *Conn) readFailed(err error) {
	c.tmu.Lock()
	c.readErr = err
	c.tmu.Unlock()
	c.readError(err)
}
