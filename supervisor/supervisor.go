// Package supervisor owns corral's runtime: pools of worker processes, the
// tasks routed to them, processes started on request, and every connection
// (clients on stdio or the Unix socket, workers on their stdio).
//
// Lock order: Supervisor.mu before Pool.mu before task.mu. No lock is held
// while writing to a connection (writes are queued) or waiting on a process.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/corralhq/corral/child"
	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/pipes"
	"github.com/corralhq/corral/protocol"
	"github.com/corralhq/corral/sharedstate"
)

// Options configure a Supervisor.
type Options struct {
	Config  *Config
	Log     zerolog.Logger
	Version string
	// Socket is the Unix socket path; empty means a new private directory
	// (0700) under the system temp dir.
	Socket string
	// Stdout and Stderr are the files that workers and processes with
	// output "inherit" write to; nil: os.Stdout and os.Stderr. A
	// supervisor whose stdout carries a client's protocol (serve --stdio)
	// sets Stdout to its stderr.
	Stdout, Stderr *os.File
	// Adapter is the corral binary, which runs each worker of a lines or
	// exec pool behind a small protocol adapter (`corral adapter`). Empty:
	// such pools are refused.
	Adapter string
}

// Supervisor is one corral instance.
type Supervisor struct {
	cfg     Config
	log     zerolog.Logger
	version string
	spawner *child.Spawner
	// childOut and childErr: where "inherit" output goes (Options).
	childOut, childErr *os.File
	adapter            string

	socket    string
	socketDir string // created by us, removed at Close
	ln        net.Listener

	taskSeq   atomic.Int64
	mapSeq    atomic.Int64
	workerSeq atomic.Int64
	ownerSeq  atomic.Uint64

	// store holds the shared objects (objects.go).
	store *sharedstate.MemStore

	mu       sync.Mutex
	pools    map[string]*Pool
	procs    map[string]*Process
	procSeq  int
	tasks    map[string]*task
	conns    map[*client]struct{}
	closing  bool
	draining bool

	wg   sync.WaitGroup // every goroutine the supervisor starts
	done chan struct{}
}

// New prepares a supervisor: it validates the config and opens the socket,
// but starts no worker until Start.
func New(opts Options) (*Supervisor, error) {
	cfg := Config{}
	if opts.Config != nil {
		cfg = *opts.Config
	}
	s := &Supervisor{
		cfg:     cfg,
		log:     opts.Log,
		version: opts.Version,
		pools:   make(map[string]*Pool),
		procs:   make(map[string]*Process),
		tasks:   make(map[string]*task),
		conns:   make(map[*client]struct{}),
		done:    make(chan struct{}),
	}
	if s.version == "" {
		s.version = "dev"
	}
	s.childOut, s.childErr = opts.Stdout, opts.Stderr
	s.adapter = opts.Adapter
	if s.childOut == nil {
		s.childOut = os.Stdout
	}
	if s.childErr == nil {
		s.childErr = os.Stderr
	}
	path := opts.Socket
	if path == "" {
		path = cfg.Socket
	}
	if err := s.listen(path); err != nil {
		return nil, err
	}
	maxItem := cfg.MaxMessage
	if maxItem <= 0 {
		maxItem = pipes.DefaultMaxLine
	}
	s.store = sharedstate.NewMemStore(sharedstate.Options{AutoCreate: cfg.autoCreate(), MaxItemSize: maxItem})
	s.spawner = child.NewSpawner()
	return s, nil
}

func (s *Supervisor) listen(path string) error {
	if path == "" {
		dir, err := os.MkdirTemp("", "corral-")
		if err != nil {
			return fmt.Errorf("create socket directory: %w", err)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("create socket directory: %w", err)
		}
		s.socketDir = dir
		path = filepath.Join(dir, "corral.sock")
	} else if _, err := os.Lstat(path); err == nil {
		// A socket left by a crashed supervisor: remove it only if nobody
		// answers on it.
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return fmt.Errorf("listen on %s: another supervisor is serving there", path)
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		if s.socketDir != "" {
			os.RemoveAll(s.socketDir)
		}
		return fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("listen on %s: %w", path, err)
	}
	s.socket, s.ln = path, ln
	return nil
}

// SocketPath is the Unix socket clients and workers connect to.
func (s *Supervisor) SocketPath() string { return s.socket }

// Start starts the pools declared in the config, waiting for each worker's
// hello, and begins accepting connections on the socket. An error leaves
// nothing running.
func (s *Supervisor) Start(ctx context.Context) error {
	for _, d := range s.cfg.objects() {
		if d.err != nil {
			s.Close()
			return fmt.Errorf("create %s %s: initial: %w", d.kind, d.name, d.err)
		}
		if err := s.createObject(d.kind, d.name, &d.params); err != nil {
			s.Close()
			return fmt.Errorf("create %s %s: %s", d.kind, d.name, err.Message)
		}
	}
	names := make([]string, 0, len(s.cfg.Pools))
	for name := range s.cfg.Pools {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		spec := s.cfg.Pools[name]
		p, err := s.createPool(spec)
		if err != nil {
			s.Close()
			return fmt.Errorf("start pool %s: %w", name, err)
		}
		if err := p.waitReady(ctx); err != nil {
			s.Close()
			return fmt.Errorf("start pool %s: %w", name, err)
		}
	}
	s.goFunc(s.acceptLoop)
	return nil
}

// goFunc runs f on a goroutine the supervisor waits for at Close.
func (s *Supervisor) goFunc(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

func (s *Supervisor) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Error().Err(err).Msg("accept failed; no more socket connections")
			}
			return
		}
		s.ServeConn(c, c, c, "socket")
	}
}

// ServeConn serves one client connection (the sidecar's stdio, or a socket
// connection) until it ends. It returns at once; the returned channel is
// closed when the connection has ended and been cleaned up.
func (s *Supervisor) ServeConn(r io.Reader, w io.Writer, closer io.Closer, via string) <-chan struct{} {
	cl := &client{s: s, via: via, log: s.log.With().Str("conn", via).Logger()}
	cl.conn = jsonrpc.NewConn(r, w, closer, cl, jsonrpc.Options{
		MaxLine: s.cfg.MaxMessage,
		OnError: func(err error) { cl.log.Warn().Err(err).Msg("protocol problem") },
	})
	ended := make(chan struct{})
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		closer.Close()
		close(ended)
		return ended
	}
	s.conns[cl] = struct{}{}
	s.mu.Unlock()
	cl.conn.Start()
	s.goFunc(func() {
		<-cl.conn.Done()
		if err := cl.conn.Err(); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, jsonrpc.ErrClosed) {
			cl.log.Warn().Err(err).Str("client", cl.name).Msg("connection ended")
		}
		cl.closed()
		s.mu.Lock()
		delete(s.conns, cl)
		s.mu.Unlock()
		close(ended)
	})
	return ended
}

// Drain stops accepting new tasks everywhere and waits, until ctx ends, for
// the tasks already accepted to finish. Close follows it.
func (s *Supervisor) Drain(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	pools := s.poolList()
	s.mu.Unlock()
	for _, p := range pools {
		p.close()
	}
	for _, p := range pools {
		if err := p.join(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Close stops everything: it stops accepting connections, terminates every
// pool (workers get SIGTERM, then SIGKILL after their grace period),
// terminates processes, closes connections and removes the socket. It
// returns when every goroutine and child has ended.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closing = true
	pools := s.poolList()
	procs := make([]*Process, 0, len(s.procs))
	for _, p := range s.procs {
		procs = append(procs, p)
	}
	conns := make([]*client, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	s.ln.Close()
	var wg sync.WaitGroup
	for _, p := range pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.terminate("the supervisor is shutting down")
		}()
	}
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop()
		}()
	}
	wg.Wait()
	gone := protocol.Errorf(protocol.CodeTerminated, "the supervisor is shutting down")
	for _, c := range conns {
		if n := c.conn.ReplyParked(gone); n > 0 {
			c.log.Debug().Int("requests", n).Msg("answered parked requests at shutdown")
		}
		c.conn.Close()
	}
	s.wg.Wait()
	// Every connection has ended and released what it held: what still
	// waits (nothing, normally) fails with closed, and timers stop.
	s.store.Close()
	s.spawner.Close()
	if s.socketDir != "" {
		os.RemoveAll(s.socketDir)
	} else {
		os.Remove(s.socket)
	}
	close(s.done)
	s.log.Debug().Msg("supervisor stopped")
	return nil
}

func (s *Supervisor) poolList() []*Pool {
	pools := make([]*Pool, 0, len(s.pools))
	for _, p := range s.pools {
		pools = append(pools, p)
	}
	sort.Slice(pools, func(i, j int) bool { return pools[i].spec.Name < pools[j].spec.Name })
	return pools
}

func (s *Supervisor) pool(name string) (*Pool, error) {
	if name == "" {
		return nil, protocol.Required("pool", true)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pools[name]
	if !ok {
		return nil, protocol.Errorf(protocol.CodeNotFound, "no pool named %q", name)
	}
	return p, nil
}

// createPool registers and starts a pool; the caller waits for readiness.
func (s *Supervisor) createPool(spec protocol.PoolSpec) (*Pool, error) {
	if err := ValidatePool(&spec); err != nil {
		return nil, err
	}
	if spec.Mode != protocol.ModeRPC && s.adapter == "" {
		return nil, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: field \"mode\": this supervisor cannot run %s pools (it was started without the corral binary as its adapter)", spec.Mode)
	}
	s.mu.Lock()
	if s.closing || s.draining {
		s.mu.Unlock()
		return nil, protocol.Errorf(protocol.CodeClosed, "the supervisor is shutting down")
	}
	if _, ok := s.pools[spec.Name]; ok {
		s.mu.Unlock()
		return nil, protocol.Errorf(protocol.CodeConflict, "a pool named %q already exists", spec.Name)
	}
	p := newPool(s, spec)
	s.pools[spec.Name] = p
	s.mu.Unlock()
	if err := p.start(); err != nil {
		s.mu.Lock()
		delete(s.pools, spec.Name)
		s.mu.Unlock()
		p.terminate("its start failed")
		return nil, err
	}
	return p, nil
}

func (s *Supervisor) status() protocol.Status {
	s.mu.Lock()
	pools := s.poolList()
	procs := make([]*Process, 0, len(s.procs))
	for _, p := range s.procs {
		procs = append(procs, p)
	}
	s.mu.Unlock()
	st := protocol.Status{Version: s.version, Pid: os.Getpid(), Socket: s.socket,
		Pools: []protocol.PoolStats{}, Processes: []protocol.ProcessInfo{}, Objects: s.objectList()}
	for _, p := range pools {
		st.Pools = append(st.Pools, p.stats())
	}
	sort.Slice(procs, func(i, j int) bool { return procs[i].seq < procs[j].seq })
	for _, p := range procs {
		st.Processes = append(st.Processes, p.info())
	}
	return st
}

// workerEnv is the environment every child gets on top of the
// supervisor's own.
func (s *Supervisor) childEnv(extra map[string]string, vars ...string) []string {
	env := os.Environ()
	env = append(env, protocol.EnvSocket+"="+s.socket)
	env = append(env, vars...)
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+extra[k])
	}
	return env
}
