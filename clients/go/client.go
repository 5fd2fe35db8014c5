package corral

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/child"
	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
)

// Client is a connection to a corral supervisor: one this program started
// (Start) or one it dialed (Dial). Its methods are safe for concurrent use.
type Client struct {
	conn  *jsonrpc.Conn
	hello protocol.HelloResult

	// Set by Start: the sidecar, and what feeds its log to Stderr.
	spawner *child.Spawner
	proc    *child.Proc
	errPipe *os.File
	errDone chan struct{}

	closed   sync.Once
	closeErr error

	seq     atomic.Uint64
	mu      sync.Mutex
	streams map[string]*stream
	bounds  map[string]int // queue name → maxsize, learned from puts
	held    map[string]int // lock name → levels this Client holds

	behind behind // requests sent without waiting (behind.go)
}

func newClient() *Client {
	return &Client{streams: make(map[string]*stream)}
}

// Dial connects to the supervisor listening on the Unix socket path
// ($CORRAL_SOCKET when empty) and greets it.
func Dial(ctx context.Context, socket string) (*Client, error) {
	if socket == "" {
		socket = os.Getenv(protocol.EnvSocket)
	}
	if socket == "" {
		return nil, fmt.Errorf("dial corral: no socket given and %s is not set", protocol.EnvSocket)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("dial corral: %w", err)
	}
	c := newClient()
	c.conn = jsonrpc.NewConn(nc, nc, nc, jsonrpc.HandlerFunc(c.handle), jsonrpc.Options{CallerReads: true})
	c.conn.Start()
	if err := c.greet(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("dial corral at %s: %w", socket, err)
	}
	return c, nil
}

func (c *Client) greet(ctx context.Context) error {
	err := c.call(ctx, protocol.MethodHello, protocol.HelloParams{
		Protocol: protocol.Version,
		Role:     protocol.RoleClient,
		Name:     workerName(),
	}, &c.hello)
	if err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	if c.hello.Role != protocol.RoleSupervisor {
		return fmt.Errorf("hello: the peer is not a corral supervisor (it says it is a %q)", c.hello.Role)
	}
	if c.hello.Protocol != protocol.Version {
		return fmt.Errorf("hello: the supervisor speaks %q, this client %q", c.hello.Protocol, protocol.Version)
	}
	return nil
}

// explain adds how a sidecar that went away ended to err.
func (c *Client) explain(err error) error {
	if c.proc == nil || !errors.Is(err, ErrClosed) {
		return err
	}
	select {
	case <-c.proc.Done():
		return fmt.Errorf("%w; corral %s (see its stderr)", err, c.proc.Exit())
	default:
		return err
	}
}

// Socket is the supervisor's Unix socket, which workers and other clients
// can dial.
func (c *Client) Socket() string { return c.hello.Socket }

// Version is the supervisor's software version.
func (c *Client) Version() string { return c.hello.Version }

// Close ends the connection. A sidecar started by Start sees its stdin
// close and exits, stopping its workers; Close waits for it and reaps it
// (stopping it with SIGTERM, then SIGKILL, if it lingers), and reports an
// unclean exit as an error. Calls still waiting fail with ErrClosed. Writes
// sent without waiting are flushed first (for at most closeFlush), and
// their failures reported.
func (c *Client) Close() error {
	c.closed.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeFlush)
		flushErr := c.Flush(ctx)
		cancel()
		c.conn.Close()
		c.closeErr = flushErr
		if c.proc != nil {
			c.closeErr = errors.Join(flushErr, c.reapSidecar())
		}
	})
	return c.closeErr
}

// closeFlush bounds how long Close waits for writes sent without waiting
// to be answered.
const closeFlush = 5 * time.Second

// call makes a request, turning errors into this package's.
func (c *Client) call(ctx context.Context, method string, params, result any) error {
	return c.explain(fromWire(c.conn.Call(ctx, method, params, result)))
}

// handle serves what the supervisor sends unasked: notifications of map
// streams. It runs on the read loop and never blocks.
func (c *Client) handle(_ context.Context, _ *jsonrpc.Conn, req *jsonrpc.Request) (any, error) {
	switch req.Method {
	case protocol.NotifyMapResults:
		var m protocol.MapResults
		if _, err := json.Parse(req.Params, &m, json.DontCopyRawMessage); err != nil {
			return nil, err
		}
		if s := c.stream(m.Map); s != nil {
			s.push(m)
		}
		return nil, nil
	case protocol.NotifyMapDone:
		var m protocol.MapDone
		if err := json.Unmarshal(req.Params, &m); err != nil {
			return nil, err
		}
		if s := c.stream(m.Map); s != nil {
			s.finish()
		}
		return nil, nil
	case protocol.NotifyTaskDone:
		// Tasks are awaited with task.wait; this client never asks for
		// task.done.
		return nil, nil
	}
	return nil, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "method not found: %s (this is a client)", req.Method)
}

// openStream registers a new map stream under a fresh id; notifications
// for it are queued from now on.
func (c *Client) openStream() (string, *stream) {
	id := "m" + strconv.FormatUint(c.seq.Add(1), 10)
	s := newStream()
	c.mu.Lock()
	c.streams[id] = s
	c.mu.Unlock()
	return id, s
}

func (c *Client) closeStream(id string) {
	c.mu.Lock()
	delete(c.streams, id)
	c.mu.Unlock()
}

func (c *Client) stream(id string) *stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[id]
}

// cancelStream asks the supervisor to stop a pool.imap stream, without
// waiting: the caller has stopped listening, and an error (the stream
// ended meanwhile) changes nothing for it.
func (c *Client) cancelStream(id string) {
	c.conn.CallAsync(protocol.MethodMapCancel, protocol.MapRef{Map: id}, func(json.RawMessage, error) {})
}

// Status reports the supervisor's pools and processes (corral.status).
func (c *Client) Status(ctx context.Context) (protocol.Status, error) {
	var st protocol.Status
	if err := c.call(ctx, protocol.MethodStatus, struct{}{}, &st); err != nil {
		return st, fmt.Errorf("status: %w", err)
	}
	return st, nil
}
