package corral

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
)

// Serve speaks the protocol with the supervisor that started this process:
// on stdin and stdout, or on fds 3 and 4 when CORRAL_PROTOCOL_FDS=3,4. It
// returns nil when the supervisor closes the connection (the program
// should then exit 0), after the tasks already started have replied, and
// ctx.Err() when ctx is cancelled (pass signal.NotifyContext's context to
// stop on SIGTERM).
//
// On stdio, Serve takes stdin and stdout for itself: from then on fd 0
// reads /dev/null and fd 1 writes to stderr, so what a handler prints goes
// to the supervisor's log instead of corrupting the protocol.
//
// Run by hand from a terminal, outside corral, it returns at once with an
// error that explains what the program is, instead of waiting for input.
func (w *Worker) Serve(ctx context.Context) error {
	s, err := openStreams(w.name, environ{})
	if err != nil {
		return err
	}
	return w.serve(ctx, s.r, s.w, s, os.Stderr)
}

// ServeConn speaks the protocol on r and w, for tests and custom
// transports. It returns nil at the end of r, once the tasks already
// started have replied. When ctx is cancelled it
// closes r and w (those that are io.Closers), waits for reading to stop
// and returns ctx.Err().
//
// Tasks run one at a time, in the order they came, on a goroutine of their
// own (the read loop goes on), with a context that ends with the
// connection; ServeConn returns once every task has returned.
func (w *Worker) ServeConn(ctx context.Context, r io.Reader, wr io.Writer) error {
	return w.serve(ctx, r, wr, closers{r, wr}, nil)
}

func (w *Worker) serve(ctx context.Context, r io.Reader, wr io.Writer, closer io.Closer, log io.Writer) error {
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer w.closeClient()
	s := &session{w: w, ctx: tctx, log: log}
	r = &holdEOF{r: r, s: s, ctx: ctx}
	conn := jsonrpc.NewConn(r, wr, closer, jsonrpc.HandlerFunc(s.handle), jsonrpc.Options{})
	conn.Start()
	select {
	case <-conn.Done():
	case <-ctx.Done():
		conn.Close()
	}
	cancel()
	s.tasks.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := conn.Err(); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, jsonrpc.ErrClosed) {
		return fmt.Errorf("worker %s: connection to the supervisor: %w", w.name, err)
	}
	return nil
}

// session is one connection's state. handle runs on the connection's read
// loop, one request at a time, so hello needs no lock.
type session struct {
	w     *Worker
	ctx   context.Context // tasks' context: ends with the connection
	log   io.Writer       // where to explain a refused hello; may be nil
	hello bool
	tasks sync.WaitGroup

	qmu     sync.Mutex
	queue   []queuedTask // tasks waiting for the runner, in arrival order
	running bool         // the runner goroutine is up
}

func (s *session) handle(_ context.Context, c *jsonrpc.Conn, req *jsonrpc.Request) (any, error) {
	if req.IsNotification() {
		// Nothing a worker serves makes sense without a reply.
		return nil, nil
	}
	if req.Method == protocol.MethodHello {
		return s.sayHello(req)
	}
	if !s.hello {
		return nil, protocol.Errorf(protocol.CodeNotInitialized,
			"not initialized: the first request must be %s", protocol.MethodHello)
	}
	switch req.Method {
	case protocol.MethodTaskRun:
		var p protocol.RunParams
		if err := parseParams(req.Params, &p); err != nil {
			return nil, err
		}
		if err := protocol.Required("fn", p.Fn == ""); err != nil {
			return nil, err
		}
		if len(p.Args) == 0 || isNull(p.Args) {
			p.Args = json.RawMessage("[]")
		} else if p.Args[0] != '[' {
			return nil, protocol.Errorf(protocol.CodeInvalidParams, `invalid params: field "args" must be an array, got %s`, abbrev(p.Args))
		}
		if len(p.Kwargs) > 0 && !isNull(p.Kwargs) && p.Kwargs[0] != '{' {
			return nil, protocol.Errorf(protocol.CodeInvalidParams, `invalid params: field "kwargs" must be an object, got %s`, abbrev(p.Kwargs))
		}
		f, err := s.lookup(p.Fn)
		if err != nil {
			return nil, err
		}
		return s.start(c, req.ID, func() (json.RawMessage, *jsonrpc.Error) {
			return f.run(s.ctx, p.Args, p.Kwargs)
		})
	case protocol.MethodTaskMap:
		h, err := peekMap(req.Params)
		if err != nil {
			return nil, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: %v", err)
		}
		if err := protocol.Required("fn", h.fn == ""); err != nil {
			return nil, err
		}
		if h.items != '[' {
			return nil, protocol.Errorf(protocol.CodeInvalidParams, `invalid params: field "items" must be an array`)
		}
		f, err := s.lookup(h.fn)
		if err != nil {
			return nil, err
		}
		return s.start(c, req.ID, func() (json.RawMessage, *jsonrpc.Error) {
			return f.runMap(s.ctx, req.Params, h.star)
		})
	}
	return nil, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "method not found: %s", req.Method)
}

func (s *session) sayHello(req *jsonrpc.Request) (any, error) {
	var p protocol.HelloParams
	if err := parseParams(req.Params, &p); err != nil {
		return nil, err
	}
	if err := protocol.CheckHello(p.Protocol); err != nil {
		if s.log != nil {
			fmt.Fprintf(s.log, "worker %s: refused corral.hello: %s\n", s.w.name, err.Message)
		}
		return nil, err
	}
	s.hello = true
	return protocol.HelloResult{
		Protocol:  protocol.Version,
		Role:      protocol.RoleWorker,
		Name:      s.w.name,
		Functions: s.w.Functions(),
		Batch:     true,
		InOrder:   true,
	}, nil
}

// start queues a task for the session's runner goroutine: the read loop
// must not block. Tasks run one at a time, in the order they came, as the
// hello's in_order promises; the supervisor then sends the next task ahead,
// and the runner goes from one to the next without waiting or a new
// goroutine.
func (s *session) start(c *jsonrpc.Conn, id jsonrpc.ID, run func() (json.RawMessage, *jsonrpc.Error)) (any, error) {
	s.tasks.Add(1)
	s.qmu.Lock()
	s.queue = append(s.queue, queuedTask{c: c, id: id, run: run})
	spawn := !s.running
	s.running = true
	s.qmu.Unlock()
	if spawn {
		go s.runQueue()
	}
	return nil, jsonrpc.ErrAsync
}

// queuedTask is a task waiting for the session's runner.
type queuedTask struct {
	c   *jsonrpc.Conn
	id  jsonrpc.ID
	run func() (json.RawMessage, *jsonrpc.Error)
}

// runQueue runs queued tasks until none is left.
func (s *session) runQueue() {
	for {
		s.qmu.Lock()
		if len(s.queue) == 0 {
			s.running = false
			s.queue = nil
			s.qmu.Unlock()
			return
		}
		t := s.queue[0]
		s.queue[0] = queuedTask{}
		s.queue = s.queue[1:]
		s.qmu.Unlock()
		res, jerr := t.run()
		var err error
		if jerr != nil {
			err = jerr
		}
		// An error here means the connection has ended: no one to tell.
		_ = t.c.Reply(t.id, res, err)
		s.tasks.Done()
	}
}

func (s *session) lookup(fn string) (*function, error) {
	if f, ok := s.w.funcs[fn]; ok {
		return f, nil
	}
	names := s.w.Functions()
	sort.Strings(names)
	serves := "nothing"
	if len(names) > 0 {
		serves = strings.Join(names, ", ")
	}
	return nil, protocol.Errorf(protocol.CodeUnknownFunction,
		"unknown function %q: worker %s serves %s", fn, s.w.name, serves)
}

// parseParams decodes params leniently (unknown fields are ignored, so a
// newer supervisor may add some); raw members keep pointing into the
// message, which the connection never reuses.
func parseParams(params json.RawMessage, v any) *jsonrpc.Error {
	if len(params) == 0 || params[0] != '{' {
		return protocol.Errorf(protocol.CodeInvalidParams, "invalid params: params must be an object")
	}
	if _, err := json.Parse(params, v, json.DontCopyRawMessage); err != nil {
		return protocol.Errorf(protocol.CodeInvalidParams, "invalid params: %v", err)
	}
	return nil
}

// holdEOF delays the end of the input until the tasks already started
// have replied: a peer that closes its end after its last request still
// gets every answer (the connection closes both ways at the end of input).
type holdEOF struct {
	r   io.Reader
	s   *session
	ctx context.Context
}

func (h *holdEOF) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if err == io.EOF && n == 0 {
		// No request can arrive any more, so no task starts while
		// this waits.
		idle := make(chan struct{})
		go func() {
			h.s.tasks.Wait()
			close(idle)
		}()
		select {
		case <-idle:
		case <-h.ctx.Done():
		}
	}
	return n, err
}

// closers closes each of its members that is an io.Closer.
type closers []any

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		if c, ok := c.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}
