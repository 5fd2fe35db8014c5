package sharedstate

import (
	"fmt"
	"strings"
	"sync"

	json "github.com/segmentio/encoding/json"
)

// Pipe is a pair of connection ends, 0 and 1, as multiprocessing.Pipe: what
// one end sends, the other receives, in order. A simplex pipe
// (Pipe(duplex=False)) returns (reader, writer) in Python, so here end 0
// only receives and end 1 only sends; the wrong direction is ErrDirection.
//
// Ends are not owned: any holder of the handle may use either end. Close is
// per end and idempotent. Sending or receiving on a closed end is ErrClosed;
// sending to an end that is closed is ErrClosed ("broken pipe"); receiving
// when the other end is closed and nothing is buffered is ErrEOF, and Poll
// then reports true, as Python's poll does at EOF (recv would not block).
// Python's recv has no timeout; here a Recv that finds nothing within w
// fails with ErrTimeout.
type Pipe interface {
	Object
	// Send sends msg from end to the other end. It never waits: a pipe
	// buffers without bound (bounded by the item size limit per message).
	Send(end int, msg json.RawMessage) error
	// Recv receives the oldest message sent to end.
	Recv(end int, w Wait, done func(msg json.RawMessage, err error)) (cancel func())
	// Poll reports whether Recv on end would complete at once, waiting as
	// w says for it to become so (Python's poll(timeout)).
	Poll(end int, w Wait, done func(ready bool, err error)) (cancel func())
	// Close closes end.
	Close(end int) error
	// Duplex reports whether both ends send and receive.
	Duplex() bool
}

// pipeEnd is one end: the messages sent to it and who waits on it.
type pipeEnd struct {
	closed bool
	inbox  []json.RawMessage
	recvs  waitq[func(json.RawMessage, error)]
	polls  waitq[func(bool, error)]
}

// memPipe implements Pipe in memory.
type memPipe struct {
	base
	duplex bool
	mu     sync.Mutex
	ends   [2]pipeEnd
}

func newPipe(b base, duplex bool) *memPipe { return &memPipe{base: b, duplex: duplex} }

// Duplex implements Pipe.
func (p *memPipe) Duplex() bool { return p.duplex }

// checkEnd validates an end for sending or receiving.
func (p *memPipe) checkEnd(end int, send bool) error {
	if end != 0 && end != 1 {
		return errorf(ErrValue, "%s has ends 0 and 1, not %d", p.label(), end)
	}
	if !p.duplex && send != (end == 1) {
		if send {
			return errorf(ErrDirection, "%s is simplex: end 0 only receives", p.label())
		}
		return errorf(ErrDirection, "%s is simplex: end 1 only sends", p.label())
	}
	return nil
}

// Send implements Pipe.
func (p *memPipe) Send(end int, msg json.RawMessage) error {
	if err := p.checkEnd(end, true); err != nil {
		return err
	}
	if err := p.checkItem(msg); err != nil {
		return err
	}
	p.mu.Lock()
	me, peer := &p.ends[end], &p.ends[1-end]
	if me.closed {
		p.mu.Unlock()
		return errorf(ErrClosed, "%s: end %d is closed", p.label(), end)
	}
	if peer.closed {
		p.mu.Unlock()
		return errorf(ErrClosed, "%s: broken pipe, end %d is closed", p.label(), 1-end)
	}
	if r := peer.recvs.pop(); r != nil {
		p.mu.Unlock()
		r.v(msg, nil)
		return nil
	}
	peer.inbox = append(peer.inbox, msg)
	polls := peer.polls.drain()
	p.mu.Unlock()
	for _, w := range polls {
		w.v(true, nil)
	}
	return nil
}

// Recv implements Pipe.
func (p *memPipe) Recv(end int, w Wait, done func(json.RawMessage, error)) func() {
	if err := w.check(); err != nil {
		done(nil, err)
		return nop
	}
	if err := p.checkEnd(end, false); err != nil {
		done(nil, err)
		return nop
	}
	p.mu.Lock()
	me := &p.ends[end]
	var msg json.RawMessage
	var err error
	switch {
	case me.closed:
		err = errorf(ErrClosed, "%s: end %d is closed", p.label(), end)
	case len(me.inbox) > 0:
		msg = me.inbox[0]
		me.inbox[0] = nil
		me.inbox = me.inbox[1:]
	case p.ends[1-end].closed:
		err = errorf(ErrEOF, "%s: end %d is closed", p.label(), 1-end)
	case !w.Block:
		err = errorf(ErrTimeout, "%s: nothing to receive on end %d", p.label(), end)
	default:
		rw := &waiter[func(json.RawMessage, error)]{owner: w.Owner, v: done}
		me.recvs.push(rw, w.Timeout, func(rw *waiter[func(json.RawMessage, error)]) {
			p.mu.Lock()
			ok := me.recvs.remove(rw)
			p.mu.Unlock()
			if ok {
				rw.v(nil, errorf(ErrTimeout, "%s: nothing to receive on end %d", p.label(), end))
			}
		})
		p.mu.Unlock()
		return func() {
			p.mu.Lock()
			me.recvs.remove(rw)
			p.mu.Unlock()
		}
	}
	p.mu.Unlock()
	done(msg, err)
	return nop
}

// Poll implements Pipe.
func (p *memPipe) Poll(end int, w Wait, done func(bool, error)) func() {
	if err := w.check(); err != nil {
		done(false, err)
		return nop
	}
	if err := p.checkEnd(end, false); err != nil {
		done(false, err)
		return nop
	}
	p.mu.Lock()
	me := &p.ends[end]
	if me.closed {
		p.mu.Unlock()
		done(false, errorf(ErrClosed, "%s: end %d is closed", p.label(), end))
		return nop
	}
	if ready := len(me.inbox) > 0 || p.ends[1-end].closed; ready || !w.Block {
		p.mu.Unlock()
		done(ready, nil)
		return nop
	}
	pw := &waiter[func(bool, error)]{owner: w.Owner, v: done}
	me.polls.push(pw, w.Timeout, func(pw *waiter[func(bool, error)]) {
		p.mu.Lock()
		ok := me.polls.remove(pw)
		p.mu.Unlock()
		if ok {
			pw.v(false, nil)
		}
	})
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		me.polls.remove(pw)
		p.mu.Unlock()
	}
}

// Close implements Pipe.
func (p *memPipe) Close(end int) error {
	if end != 0 && end != 1 {
		return errorf(ErrValue, "%s has ends 0 and 1, not %d", p.label(), end)
	}
	p.mu.Lock()
	me, peer := &p.ends[end], &p.ends[1-end]
	if me.closed {
		p.mu.Unlock()
		return nil
	}
	me.closed = true
	me.inbox = nil
	myRecvs, myPolls := me.recvs.drain(), me.polls.drain()
	// The peer's waiters wait only while its inbox is empty: they see EOF.
	peerRecvs, peerPolls := peer.recvs.drain(), peer.polls.drain()
	p.mu.Unlock()
	closed := errorf(ErrClosed, "%s: end %d is closed", p.label(), end)
	for _, w := range myRecvs {
		w.v(nil, closed)
	}
	for _, w := range myPolls {
		w.v(false, closed)
	}
	for _, w := range peerRecvs {
		w.v(nil, errorf(ErrEOF, "%s: end %d is closed", p.label(), end))
	}
	for _, w := range peerPolls {
		w.v(true, nil)
	}
	return nil
}

// Status implements Object.
func (p *memPipe) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Status{Kind: p.kind, Name: p.name}
	var notes []string
	for i := range p.ends {
		e := &p.ends[i]
		s.Depth += len(e.inbox)
		s.Waiters += e.recvs.n + e.polls.n
		if e.closed {
			notes = append(notes, fmt.Sprintf("end %d closed", i))
		}
	}
	if !p.duplex {
		notes = append(notes, "simplex")
	}
	s.Detail = strings.Join(notes, ", ")
	return s
}

func (p *memPipe) releaseOwner(o Owner) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for i := range p.ends {
		n += p.ends[i].recvs.removeOwner(o) + p.ends[i].polls.removeOwner(o)
	}
	return releasedWaits(n, "waits", &p.base, o)
}

func (p *memPipe) shutdown() {
	p.mu.Lock()
	var recvs []*waiter[func(json.RawMessage, error)]
	var polls []*waiter[func(bool, error)]
	for i := range p.ends {
		recvs = append(recvs, p.ends[i].recvs.drain()...)
		polls = append(polls, p.ends[i].polls.drain()...)
	}
	p.mu.Unlock()
	err := errorf(ErrClosed, "%s: the store is closed", p.label())
	for _, w := range recvs {
		w.v(nil, err)
	}
	for _, w := range polls {
		w.v(false, err)
	}
}
