package supervisor

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
	"github.com/corralhq/corral/sharedstate"
)

// client is one connection that can call the supervisor: a driver on stdio
// or the socket, or a worker calling back on its own connection.
type client struct {
	s    *Supervisor
	conn *jsonrpc.Conn
	via  string
	log  zerolog.Logger

	// worker is set for a worker's connection, whose handshake is the
	// supervisor's hello to it rather than the other way round.
	worker *worker

	mu      sync.Mutex
	hello   bool
	name    string
	gone    bool
	tasks   map[string]*task   // submitted here and not yet collected
	maps    map[string]*mapJob // open pool.imap streams, by stream id
	onGone  map[uint64]func()  // parked waiters to drop when the connection ends
	parkSeq uint64
	// owner is the connection as a holder of shared objects (objOwner),
	// fixed at first use.
	owner    sharedstate.Owner
	ownerSet bool
}

type method func(c *client, req *jsonrpc.Request) (any, error)

// methods are what clients (and workers) may call on the supervisor.
var methods = map[string]method{
	protocol.MethodStatus:           (*client).handleStatus,
	protocol.MethodPoolCreate:       (*client).handlePoolCreate,
	protocol.MethodPoolSubmit:       (*client).handleSubmit,
	protocol.MethodPoolApply:        (*client).handleApply,
	protocol.MethodTaskWait:         (*client).handleWait,
	protocol.MethodPoolMap:          (*client).handleMap,
	protocol.MethodPoolImap:         (*client).handleImap,
	protocol.MethodMapCancel:        (*client).handleMapCancel,
	protocol.MethodPoolClose:        (*client).handlePoolClose,
	protocol.MethodPoolJoin:         (*client).handlePoolJoin,
	protocol.MethodPoolTerminate:    (*client).handlePoolTerminate,
	protocol.MethodPoolStats:        (*client).handlePoolStats,
	protocol.MethodProcessStart:     (*client).handleProcessStart,
	protocol.MethodProcessJoin:      (*client).handleProcessJoin,
	protocol.MethodProcessStatus:    (*client).handleProcessStatus,
	protocol.MethodProcessTerminate: (*client).handleProcessTerminate,
	protocol.MethodProcessKill:      (*client).handleProcessKill,
	protocol.MethodProcessList:      (*client).handleProcessList,
}

// Handle dispatches one request. It runs on the connection's read loop, so
// everything that waits parks the request and returns jsonrpc.ErrAsync.
func (c *client) Handle(_ context.Context, conn *jsonrpc.Conn, req *jsonrpc.Request) (any, error) {
	if req.IsNotification() {
		// Every corral method answers; a notification would run work
		// nobody can follow, so it is dropped.
		c.log.Warn().Str("method", req.Method).Msg("notification ignored: corral methods must be sent as requests, with an id")
		return nil, nil
	}
	if req.Method == protocol.MethodHello {
		return c.handleHello(req)
	}
	c.mu.Lock()
	ready := c.hello || c.worker != nil
	c.mu.Unlock()
	m, ok := methods[req.Method]
	if !ok {
		return nil, protocol.Errorf(protocol.CodeMethodNotFound, "method not found: %q", req.Method)
	}
	if !ready {
		return nil, protocol.Errorf(protocol.CodeNotInitialized, "not initialized: send corral.hello first (protocol %q)", protocol.Version)
	}
	return m(c, req)
}

func (c *client) handleHello(req *jsonrpc.Request) (any, error) {
	var p protocol.HelloParams
	if err := protocol.Decode(req.Params, &p); err != nil {
		return nil, err
	}
	if err := protocol.CheckHello(p.Protocol); err != nil {
		return nil, err
	}
	if p.Role != "" && p.Role != protocol.RoleClient && p.Role != protocol.RoleWorker {
		return nil, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: field \"role\": want \"client\" or \"worker\", got %q", p.Role)
	}
	c.mu.Lock()
	c.hello = true
	c.name = p.Name
	c.mu.Unlock()
	if p.Name != "" {
		c.log = c.log.With().Str("client", p.Name).Logger()
	}
	c.log.Debug().Msg("client said hello")
	return protocol.HelloResult{
		Protocol: protocol.Version,
		Role:     protocol.RoleSupervisor,
		Name:     "corral",
		Version:  c.s.version,
		Socket:   c.s.socket,
	}, nil
}

// park registers cleanup to run if the connection ends before the parked
// request is answered; unpark forgets it once answered. The key is 0 when
// the connection is already gone.
func (c *client) park(f func()) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		return 0
	}
	if c.onGone == nil {
		c.onGone = make(map[uint64]func())
	}
	c.parkSeq++
	c.onGone[c.parkSeq] = f
	return c.parkSeq
}

func (c *client) unpark(key uint64) {
	c.mu.Lock()
	delete(c.onGone, key)
	c.mu.Unlock()
}

// closed runs when the connection has ended: parked waiters are dropped,
// tasks nobody will collect are cancelled or forgotten, streams stop.
func (c *client) closed() {
	c.mu.Lock()
	c.gone = true
	fs := c.onGone
	c.onGone = nil
	tasks := c.tasks
	c.tasks = nil
	maps := c.maps
	c.maps = nil
	c.mu.Unlock()
	for _, f := range fs {
		f()
	}
	for _, t := range tasks {
		t.abandon()
	}
	for _, m := range maps {
		m.abandon()
	}
	c.releaseObjects()
}

func (c *client) addTask(t *task) {
	c.mu.Lock()
	if c.tasks == nil {
		c.tasks = make(map[string]*task)
	}
	c.tasks[t.id] = t
	c.mu.Unlock()
}

func (c *client) dropTask(id string) {
	c.mu.Lock()
	delete(c.tasks, id)
	c.mu.Unlock()
}

func (c *client) handleStatus(req *jsonrpc.Request) (any, error) {
	return c.s.status(), nil
}

// awaitThen parks a request until done is closed or the timeout (if any)
// passes, then calls settle on a goroutine of the supervisor's; settle is
// not called if the connection ends first.
func (c *client) awaitThen(done <-chan struct{}, timeout *protocol.Seconds, settle func(timedOut bool)) {
	c.s.goFunc(func() {
		var expired <-chan time.Time
		if timeout != nil {
			t := time.NewTimer(timeout.Duration())
			defer t.Stop()
			expired = t.C
		}
		select {
		case <-done:
			settle(false)
		case <-expired:
			settle(true)
		case <-c.conn.Done():
		}
	})
}

// reply answers a parked request; a connection that has gone is not an
// error worth more than a debug line.
func (c *client) reply(id jsonrpc.ID, result any, err error) {
	if rerr := c.conn.Reply(id, result, err); rerr != nil {
		c.log.Debug().Err(rerr).Msg("reply not sent")
	}
}

func rawOrNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}
