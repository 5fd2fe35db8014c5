package jsonrpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/internal/jsonx"
	"github.com/corralhq/corral/pipes"
)

// CodeTooLarge is sent, with id null, to a peer whose line exceeded the
// size limit, just before the connection is closed. corral's error table
// (spec/errors.json) lists it as too_large.
const CodeTooLarge = -32003

// ErrAsync is returned by a Handler that will answer the request later
// with Conn.Reply.
var ErrAsync = errors.New("jsonrpc: reply will be sent later")

// ErrClosed is returned by calls on a connection that has ended.
var ErrClosed = errors.New("jsonrpc: connection closed")

// Handler answers the peer's requests. Handle runs on the connection's read
// loop: it must not block. It returns the result (any JSON-marshalable value,
// or json.RawMessage to send bytes as they are) or an error (an *Error is
// sent as it is; any other error as an internal error), or ErrAsync after
// arranging for exactly one later call to Conn.Reply. For notifications the
// returned values are ignored.
type Handler interface {
	Handle(ctx context.Context, c *Conn, req *Request) (result any, err error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, c *Conn, req *Request) (any, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, c *Conn, req *Request) (any, error) {
	return f(ctx, c, req)
}

// Options tune a connection. The zero value suits a server facing clients.
type Options struct {
	// MaxLine is the largest message accepted, in bytes
	// (pipes.DefaultMaxLine when 0).
	MaxLine int
	// Noise, when set, receives every line that is not a JSON-RPC 2.0
	// message (a worker's stray output). When nil, such lines are answered
	// with a parse error or an invalid-request error, as a server must.
	Noise func(line []byte)
	// OnError hears of problems the peer is not told about: a response to an
	// unknown id, an error from a notification handler. May be nil.
	OnError func(err error)
	// HighWater is the number of queued outgoing bytes above which
	// NotifyWait waits (1 MiB when 0).
	HighWater int
	// DrainTimeout bounds how long Close waits for queued messages to be
	// written before it closes the stream (1 s when 0).
	DrainTimeout time.Duration
	// CallerReads lets a Call read its own reply instead of waiting for
	// the read loop to hand it over (see turn.go), when reads from the
	// stream can be stopped by a deadline. Clients making calls one after
	// another want it; a server answering requests gains nothing.
	CallerReads bool
}

// Conn is one JSON-RPC connection. Its goroutines (a reader and a writer)
// start with Start and end when the stream fails or Close is called; Done is
// closed once both have returned.
type Conn struct {
	r      *pipes.LineReader
	w      io.Writer
	closer io.Closer
	h      Handler
	opts   Options

	ctx    context.Context
	cancel context.CancelFunc

	seq atomic.Uint64

	mu      sync.Mutex
	pending map[ID]func(*wire) // our calls awaiting their response; nil: closed
	parked  map[ID]struct{}    // the peer's requests awaiting a reply
	err     error              // why the connection ended; nil while up
	failed  bool

	wmu     sync.Mutex
	wq      [][]byte
	wbytes  int
	wspace  chan struct{} // closed and replaced whenever the writer drains
	wstop   bool
	wsig    chan struct{}
	wclosed bool
	writing bool // a write is under way, by the writer or an enqueuer
	// corked holds writes back while the read loop handles lines that
	// came in one read: their replies then go out in one write, which the
	// peer reads in one wake-up instead of one per reply.
	corked bool
	// raw, when the writer is a non-blocking file or socket, lets enqueue
	// write at once without a hand-off to the writer goroutine, saving a
	// goroutine wake-up per message. It never blocks: what the kernel will
	// not take now is queued for the writer.
	raw syscall.RawConn

	// The read turn (turn.go), used when dl is set.
	dl        deadliner
	tmu       sync.Mutex
	turn      reader
	callerAt  time.Time // when the turn last went to or came from a call
	waiters   []*turnWaiter
	stopping  bool // a read deadline is set to stop the current read
	loopWaits bool // the read loop waits for a long call to pass the turn
	loopWake  chan struct{}
	readErr   error // the stream failed; nobody reads it again

	closeOnce sync.Once
	writeDone chan struct{}
	done      chan struct{}
}

// NewConn returns a connection reading messages from r and writing them to
// w; closer is closed when the connection ends (it should close both r and
// w, unblocking the reader). Call Start to begin.
func NewConn(r io.Reader, w io.Writer, closer io.Closer, h Handler, opts Options) *Conn {
	if opts.HighWater <= 0 {
		opts.HighWater = 1 << 20
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{
		r:         pipes.NewLineReader(r, opts.MaxLine),
		w:         w,
		closer:    closer,
		h:         h,
		opts:      opts,
		ctx:       ctx,
		cancel:    cancel,
		pending:   make(map[ID]func(*wire)),
		parked:    make(map[ID]struct{}),
		wspace:    make(chan struct{}),
		wsig:      make(chan struct{}, 1),
		writeDone: make(chan struct{}),
		done:      make(chan struct{}),
	}
	if opts.CallerReads {
		c.dl = readerDeadline(r)
		c.loopWake = make(chan struct{}, 1)
	}
	if sc, ok := w.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil && nonblocking(rc) {
			c.raw = rc
		}
	}
	return c
}

// Start launches the reader and writer goroutines.
func (c *Conn) Start() {
	go c.writeLoop()
	go c.readLoop()
}

// Done is closed when the connection has ended and its goroutines returned.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Context is cancelled when the connection ends.
func (c *Conn) Context() context.Context { return c.ctx }

// Err reports why the connection ended: io.EOF when the peer closed it,
// ErrClosed after Close, nil while it is up.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close writes what is queued (waiting at most Options.DrainTimeout), closes
// the stream and waits for the connection's goroutines to end. Requests still
// parked get no reply: their owners learn of it through Done.
func (c *Conn) Close() error {
	c.shutdown(ErrClosed)
	<-c.done
	return nil
}

// shutdown flushes the write queue (bounded by DrainTimeout), then fails the
// connection with cause.
func (c *Conn) shutdown(cause error) {
	c.closeOnce.Do(func() {
		c.wmu.Lock()
		c.wstop = true
		c.wmu.Unlock()
		c.signalWriter()
		t := time.NewTimer(c.opts.DrainTimeout)
		select {
		case <-c.writeDone:
		case <-t.C:
		}
		t.Stop()
		c.fail(cause)
	})
}

// fail ends the connection at once: pending calls return ErrClosed, the
// stream is closed so that the reader and writer return.
func (c *Conn) fail(cause error) {
	c.mu.Lock()
	if c.failed {
		c.mu.Unlock()
		return
	}
	c.failed = true
	c.err = cause
	waiting := make([]func(*wire), 0, len(c.pending))
	for id, deliver := range c.pending {
		waiting = append(waiting, deliver)
		delete(c.pending, id)
	}
	c.mu.Unlock()
	for _, deliver := range waiting {
		deliver(nil)
	}
	c.cancel()
	c.wmu.Lock()
	c.wclosed = true
	c.wmu.Unlock()
	c.signalWriter()
	if c.closer != nil {
		c.closer.Close()
	}
}

func (c *Conn) readLoop() {
	defer close(c.done)
	if c.dl != nil {
		c.turnLoop()
		return
	}
	for {
		line, err := c.r.ReadLine()
		if err != nil {
			c.readError(err)
			<-c.writeDone
			return
		}
		c.dispatchRead(line)
	}
}

// dispatchRead dispatches a line just read, corking the replies of lines
// that came in together so that they are written together.
func (c *Conn) dispatchRead(line []byte) {
	if c.raw == nil || c.dl != nil {
		// Without raw writes the writer goroutine writes, coalescing
		// what is queued. When calls read (turn.go), the reader may stop
		// after any line, so nothing would be sure to uncork.
		c.dispatch(line)
		return
	}
	more := c.r.Buffered()
	if more {
		c.wmu.Lock()
		c.corked = true
		c.wmu.Unlock()
	}
	c.dispatch(line)
	if !more {
		c.uncork()
	}
}

// uncork writes what was held back while corked, without waiting: what the
// kernel does not take now is left to the writer.
func (c *Conn) uncork() {
	c.wmu.Lock()
	if !c.corked {
		c.wmu.Unlock()
		return
	}
	c.corked = false
	if len(c.wq) == 0 {
		c.wmu.Unlock()
		return
	}
	if c.writing || c.wclosed {
		c.wmu.Unlock()
		c.signalWriter()
		return
	}
	// Out of the queue, into one write: the queue has room again.
	buf := slices.Concat(c.wq...)
	c.wq, c.wbytes = nil, 0
	close(c.wspace)
	c.wspace = make(chan struct{})
	c.writeNowLocked(buf)
}

// turnLoop is the read loop when calls may read too: it reads only while
// it holds the turn.
func (c *Conn) turnLoop() {
	for c.loopTurn() {
		line, err, ok := c.loopRead()
		if !ok {
			continue
		}
		if err != nil {
			c.tmu.Lock()
			c.readErr = err
			c.turn = readNone
			c.tmu.Unlock()
			c.readError(err)
			break
		}
		c.dispatchRead(line)
		c.loopDone()
	}
	<-c.writeDone
}

// readError ends the connection after the stream failed to give a line.
func (c *Conn) readError(err error) {
	var tooLong *pipes.LineTooLongError
	if errors.As(err, &tooLong) {
		c.enqueue(appendError(nil, NullID, &Error{
			Code:    CodeTooLarge,
			Message: fmt.Sprintf("message too large: over the %d-byte limit; closing the connection", tooLong.Limit),
		}))
	}
	c.shutdown(err)
}

func (c *Conn) dispatch(line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	if line[0] != '{' {
		c.reject(line, nil)
		return
	}
	m, err := parseEnvelope(line)
	if err != nil && !utf8.Valid(line) {
		// A message whose only fault is bytes that are not UTF-8 (a
		// worker printing raw bytes into a string) is taken with U+FFFD in
		// their place, as encoding/json decodes them, rather than lost:
		// a reply taken for noise would leave its task waiting forever.
		fixed := bytes.ToValidUTF8(line, []byte("\uFFFD"))
		if m2, err2 := parseEnvelope(fixed); err2 == nil {
			c.report(errors.New("jsonrpc: a message had bytes that are not UTF-8; they were replaced with U+FFFD"))
			line, m, err = fixed, m2, nil
		}
	}
	if err != nil {
		c.reject(line, m)
		return
	}
	if m.JSONRPC != "2.0" {
		c.reject(line, m)
		return
	}
	if m.Method != nil {
		if m.ID != nil && !validID(m.ID) {
			c.reject(line, m)
			return
		}
		c.handle(&Request{ID: ID(m.ID), Method: *m.Method, Params: m.Params})
		return
	}
	if m.ID != nil && (m.Result != nil || m.Error != nil) {
		c.mu.Lock()
		deliver, ok := c.pending[ID(m.ID)]
		delete(c.pending, ID(m.ID))
		c.mu.Unlock()
		if !ok {
			c.report(fmt.Errorf("jsonrpc: response to unknown request id %s", m.ID))
			return
		}
		deliver(m)
		return
	}
	c.reject(line, m)
}

// reject handles a line that is not a well-formed JSON-RPC 2.0 message.
func (c *Conn) reject(line []byte, m *wire) {
	if c.opts.Noise != nil {
		c.opts.Noise(line)
		return
	}
	id := NullID
	if m != nil && m.ID != nil && validID(m.ID) {
		id = ID(m.ID)
	}
	switch {
	case m == nil && !jsonx.Valid(line):
		c.enqueue(appendError(nil, NullID, &Error{Code: CodeParseError, Message: "parse error: the line is not valid JSON"}))
	case m != nil && m.bad != "":
		c.enqueue(appendError(nil, id, &Error{Code: CodeInvalidRequest, Message: "invalid request: " + m.bad}))
	case line[0] == '[':
		c.enqueue(appendError(nil, NullID, &Error{Code: CodeInvalidRequest, Message: "invalid request: batches are not supported; send one request per line"}))
	case m == nil:
		c.enqueue(appendError(nil, NullID, &Error{Code: CodeInvalidRequest, Message: "invalid request: a message must be a JSON object"}))
	case m.JSONRPC != "2.0":
		c.enqueue(appendError(nil, id, &Error{Code: CodeInvalidRequest, Message: `invalid request: "jsonrpc" must be "2.0"`}))
	case m.Method == nil && m.ID != nil && !validID(m.ID):
		c.enqueue(appendError(nil, NullID, &Error{Code: CodeInvalidRequest, Message: "invalid request: id must be a string or a number"}))
	case m.Method != nil:
		c.enqueue(appendError(nil, NullID, &Error{Code: CodeInvalidRequest, Message: "invalid request: id must be a string or a number"}))
	default:
		c.enqueue(appendError(nil, id, &Error{Code: CodeInvalidRequest, Message: `invalid request: a message needs "method" (a request) or "result"/"error" with "id" (a response)`}))
	}
}

func (c *Conn) handle(req *Request) {
	if req.IsNotification() {
		if _, err := c.h.Handle(c.ctx, c, req); err != nil && !errors.Is(err, ErrAsync) {
			c.report(fmt.Errorf("jsonrpc: notification %s: %w", req.Method, err))
		}
		return
	}
	c.mu.Lock()
	if _, dup := c.parked[req.ID]; dup {
		c.mu.Unlock()
		c.enqueue(appendError(nil, req.ID, &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("invalid request: id %s is already in use by a request awaiting its reply", req.ID)}))
		return
	}
	c.parked[req.ID] = struct{}{}
	c.mu.Unlock()
	res, err := c.h.Handle(c.ctx, c, req)
	if errors.Is(err, ErrAsync) {
		return
	}
	if rerr := c.Reply(req.ID, res, err); rerr != nil && !errors.Is(rerr, ErrClosed) {
		c.report(rerr)
	}
}

// Reply answers the peer's request id, once: with err when it is non-nil,
// otherwise with result. It never blocks on the peer.
func (c *Conn) Reply(id ID, result any, err error) error {
	c.mu.Lock()
	_, ok := c.parked[id]
	delete(c.parked, id)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("jsonrpc: request %s is not awaiting a reply (answered twice?)", id)
	}
	if err != nil {
		return c.enqueue(appendError(nil, id, asError(err)))
	}
	b, merr := encodeValue(result)
	if merr != nil {
		return c.enqueue(appendError(nil, id, &Error{Code: CodeInternalError, Message: "cannot encode result: " + merr.Error()}))
	}
	return c.enqueue(appendResult(make([]byte, 0, len(b)+40), id, b))
}

// ReplyParked answers every request still awaiting a reply with err, for a
// server that is going away: every request gets exactly one response. It
// returns how many were answered.
func (c *Conn) ReplyParked(err error) int {
	c.mu.Lock()
	ids := make([]ID, 0, len(c.parked))
	for id := range c.parked {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	n := 0
	for _, id := range ids {
		if c.Reply(id, nil, err) == nil {
			n++
		}
	}
	return n
}

// Call sends a request and waits for its response, decoding the result into
// result (a pointer; *json.RawMessage takes the bytes as they are; nil
// discards it). A remote error is returned as *Error.
func (c *Conn) Call(ctx context.Context, method string, params, result any) error {
	p, err := encodeParams(params)
	if err != nil {
		return fmt.Errorf("call %s: %w", method, err)
	}
	ch := make(chan *wire, 1)
	id, err := c.send(method, p, func(m *wire) { ch <- m })
	if err != nil {
		return err
	}
	var m *wire
	if c.dl != nil {
		m, err = c.await(ctx, ch)
	} else {
		select {
		case m = <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		c.forget(id)
		return err
	}
	if m == nil {
		return ErrClosed
	}
	if m.Error != nil {
		return m.Error
	}
	switch r := result.(type) {
	case nil:
		return nil
	case *json.RawMessage:
		*r = m.Result
		return nil
	}
	if err := json.Unmarshal(m.Result, result); err != nil {
		return fmt.Errorf("call %s: decode result: %w", method, err)
	}
	return nil
}

// CallAsync sends a request and returns at once; done is called with the
// result (raw) or the error when the response arrives, or with ErrClosed
// when the connection ends first. done runs on the connection's read loop
// (or in whoever ends the connection) and must not block. If CallAsync
// returns an error, done is never called.
func (c *Conn) CallAsync(method string, params any, done func(result json.RawMessage, err error)) error {
	p, err := encodeParams(params)
	if err != nil {
		return fmt.Errorf("call %s: %w", method, err)
	}
	_, err = c.send(method, p, func(m *wire) {
		switch {
		case m == nil:
			done(nil, ErrClosed)
		case m.Error != nil:
			done(nil, m.Error)
		default:
			done(m.Result, nil)
		}
	})
	return err
}

// send registers deliver for a new request id and writes the request.
func (c *Conn) send(method string, params []byte, deliver func(*wire)) (ID, error) {
	id := ID(strconv.FormatUint(c.seq.Add(1), 10))
	c.mu.Lock()
	if c.failed {
		c.mu.Unlock()
		return "", ErrClosed
	}
	c.pending[id] = deliver
	c.mu.Unlock()
	if err := c.enqueue(appendRequest(make([]byte, 0, len(params)+len(method)+48), id, method, params)); err != nil {
		if !c.forget(id) {
			// The connection failed meanwhile and has already delivered
			// ErrClosed to deliver: the caller hears of it that way.
			return id, nil
		}
		return "", err
	}
	return id, nil
}

// forget drops a pending call, reporting whether it was still pending.
func (c *Conn) forget(id ID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pending[id]
	delete(c.pending, id)
	return ok
}

// Notify sends a notification without waiting.
func (c *Conn) Notify(method string, params any) error {
	p, err := encodeParams(params)
	if err != nil {
		return fmt.Errorf("notify %s: %w", method, err)
	}
	return c.enqueue(appendRequest(make([]byte, 0, len(p)+len(method)+32), "", method, p))
}

// NotifyWait sends a notification, then waits while more than
// Options.HighWater bytes are queued for this peer: a stream of
// notifications goes no faster than the peer reads.
func (c *Conn) NotifyWait(ctx context.Context, method string, params any) error {
	if err := c.Notify(method, params); err != nil {
		return err
	}
	for {
		c.wmu.Lock()
		over, space, closed := c.wbytes > c.opts.HighWater, c.wspace, c.wclosed
		c.wmu.Unlock()
		if closed {
			return ErrClosed
		}
		if !over {
			return nil
		}
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.ctx.Done():
			return ErrClosed
		}
	}
}

func encodeParams(params any) ([]byte, error) {
	if params == nil {
		return nil, nil
	}
	return encodeValue(params)
}

func (c *Conn) report(err error) {
	if c.opts.OnError != nil {
		c.opts.OnError(err)
	}
}

func (c *Conn) signalWriter() {
	select {
	case c.wsig <- struct{}{}:
	default:
	}
}

func (c *Conn) enqueue(b []byte) error {
	c.wmu.Lock()
	if c.wclosed {
		c.wmu.Unlock()
		return ErrClosed
	}
	if c.corked {
		c.wq = append(c.wq, b)
		c.wbytes += len(b)
		c.wmu.Unlock()
		return nil
	}
	if c.raw != nil && !c.writing && len(c.wq) == 0 {
		return c.writeNowLocked(b)
	}
	c.wq = append(c.wq, b)
	c.wbytes += len(b)
	c.wmu.Unlock()
	c.signalWriter()
	return nil
}

// writeNowLocked writes b, which is not queued, from the calling goroutine
// without waiting; what the kernel does not take now is queued first, for
// the writer. c.wmu is held, nothing is being written, and it returns with
// c.wmu released.
func (c *Conn) writeNowLocked(b []byte) error {
	c.writing = true
	c.wmu.Unlock()
	n, err := tryWrite(c.raw, b)
	c.wmu.Lock()
	c.writing = false
	if err != nil {
		c.wmu.Unlock()
		c.fail(fmt.Errorf("write: %w", err))
		return ErrClosed
	}
	if n < len(b) {
		// The rest goes first: nothing else was written meanwhile.
		c.wq = append([][]byte{b[n:]}, c.wq...)
		c.wbytes += len(b) - n
	}
	pending := len(c.wq) > 0
	c.wmu.Unlock()
	if pending {
		c.signalWriter()
	}
	return nil
}

// tryWrite writes what the kernel takes now, without waiting.
func tryWrite(rc syscall.RawConn, b []byte) (int, error) {
	var n int
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), b)
			if werr != syscall.EINTR {
				break
			}
		}
		if werr == syscall.EAGAIN {
			n, werr = 0, nil
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	return max(n, 0), werr
}

// writeLoop drains the queue, coalescing small messages into one write.
func (c *Conn) writeLoop() {
	defer close(c.writeDone)
	var spare [][]byte
	var buf []byte
	for range c.wsig {
		for {
			c.wmu.Lock()
			batch, n, stop, closed, busy := c.wq, c.wbytes, c.wstop, c.wclosed, c.writing
			if busy {
				// An enqueuer is writing inline; it signals when done.
				batch = nil
			}
			if len(batch) > 0 {
				// Swap buffers: enqueuers fill spare while batch is written.
				c.wq = spare[:0]
				c.writing = true
			}
			c.wmu.Unlock()
			if closed {
				return
			}
			if len(batch) == 0 {
				if stop && !busy {
					return
				}
				break
			}
			err := c.writeBatch(batch, &buf)
			clear(batch)
			spare = batch
			c.wmu.Lock()
			c.writing = false
			c.wbytes -= n
			close(c.wspace)
			c.wspace = make(chan struct{})
			c.wmu.Unlock()
			if err != nil {
				c.fail(fmt.Errorf("write: %w", err))
				return
			}
		}
	}
}

const coalesceLimit = 64 << 10

func (c *Conn) writeBatch(batch [][]byte, buf *[]byte) error {
	b := (*buf)[:0]
	for _, m := range batch {
		if len(b) > 0 && len(b)+len(m) > coalesceLimit {
			if _, err := c.w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
		if len(b) == 0 && len(m) >= coalesceLimit {
			if _, err := c.w.Write(m); err != nil {
				return err
			}
			continue
		}
		b = append(b, m...)
	}
	if len(b) > 0 {
		if _, err := c.w.Write(b); err != nil {
			return err
		}
	}
	if cap(b) <= 4*coalesceLimit {
		*buf = b
	}
	return nil
}
