package supervisor

import (
	"fmt"
	"sync"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/internal/jsonx"
	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
)

// mapJob is one pool.map or pool.imap: the items split into chunks, each
// chunk a job for one worker. Items and results stay raw JSON throughout.
type mapJob struct {
	id     string
	pool   *Pool
	fn     string
	star   bool
	owner  *client
	reqID  jsonrpc.ID // pool.map: the request to answer
	stream bool       // pool.imap
	order  bool       // pool.imap ordered
	runs   [][]byte   // chunk i's items, as an array interior
	starts []int      // index of chunk i's first item
	counts []int
	total  int

	mu        sync.Mutex
	results   [][]byte // chunk i's results, a JSON array
	errs      []*jsonrpc.Error
	pending   int  // chunks not yet finished
	queued    int  // chunks handed to the pool so far
	failed    bool // pool.map answered with an error: the rest need not run
	anyFailed bool // some chunk failed, for the pool's counts
	parkKey   uint64
	abandoned bool
	ended     bool
	ready     chan int      // imap: finished chunk indices, for the sender
	cancel    chan struct{} // imap: closed by map.cancel
	cancelled bool
}

// defaultChunkBytes caps the size of a chunk when the client leaves the
// chunk size to the supervisor.
const defaultChunkBytes = 128 << 10

// linkPipeSize is the buffer asked for the pipes to and from a worker:
// room for a default chunk and its results in one write each.
const linkPipeSize = 256 << 10

// splitItems cuts items into chunks of size items or, when size is 0, the
// supervisor's choice: multiprocessing's, about `parts` chunks, but none
// over defaultChunkBytes, since smaller chunks keep every stage (supervisor,
// pipes, workers) busy at once. Large inputs are split by bytes in one
// pass; only inputs that make fewer than `parts` chunks that way are
// counted and split again.
func splitItems(items []byte, size, parts int) ([][]byte, []int, error) {
	if size > 0 {
		return jsonx.ChunksLimit(items, size, 0)
	}
	runs, counts, err := jsonx.ChunksLimit(items, len(items), defaultChunkBytes)
	if err != nil || len(runs) >= parts {
		return runs, counts, err
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return jsonx.ChunksLimit(items, max((n+parts-1)/parts, 1), 0)
}

// window is how many chunks of a stream may be dispatched and not yet
// delivered: it bounds the supervisor's memory when the client reads slowly.
func (m *mapJob) window() int {
	w := 2 * m.pool.spec.Workers
	if w < 4 {
		w = 4
	}
	return w
}

func (c *client) newMap(req *jsonrpc.Request, stream bool) (*mapJob, error) {
	var p protocol.MapParams
	items, derr := protocol.DecodeExcept(req.Params, &p, "items")
	if derr != nil {
		return nil, derr
	}
	p.Items = items
	if err := protocol.Required("fn", p.Fn == ""); err != nil {
		return nil, err
	}
	if len(p.Items) == 0 {
		return nil, protocol.Required("items", true)
	}
	if p.Chunksize < 0 {
		return nil, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: field \"chunksize\": must be positive, got %d", p.Chunksize)
	}
	if !stream && (p.Ordered || p.Map != "") {
		return nil, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: \"ordered\" and \"map\" belong to pool.imap")
	}
	pool, err := c.s.pool(p.Pool)
	if err != nil {
		return nil, err
	}
	runs, counts, err := splitItems(p.Items, p.Chunksize, 4*pool.spec.Workers)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: field \"items\": want an array")
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	if p.Star {
		if err := checkStarItems(runs); err != nil {
			return nil, err
		}
	}
	m := &mapJob{
		pool: pool, fn: p.Fn, star: p.Star, owner: c, reqID: req.ID,
		stream: stream, order: p.Ordered, runs: runs, total: n,
		results: make([][]byte, len(runs)), errs: make([]*jsonrpc.Error, len(runs)),
		pending: len(runs),
	}
	m.counts = counts
	m.starts = make([]int, len(runs))
	for i := 1; i < len(runs); i++ {
		m.starts[i] = m.starts[i-1] + counts[i-1]
	}
	m.id = p.Map
	if m.id == "" {
		m.id = fmt.Sprintf("m-%d", c.s.mapSeq.Add(1))
	}
	if n == 0 {
		// Nothing to run; still refuse it from a closed or broken pool.
		if err := pool.check(p.Fn); err != nil {
			return nil, err
		}
		return m, nil
	}
	if err := pool.admit(p.Fn); err != nil {
		return nil, err
	}
	return m, nil
}

// checkStarItems makes sure every item of a starmap is an argument array.
func checkStarItems(runs [][]byte) error {
	for _, r := range runs {
		items, _, err := jsonx.Chunks(append(append([]byte{'['}, r...), ']'), 1)
		if err != nil {
			return protocol.Errorf(protocol.CodeInvalidParams, "invalid params: field \"items\": %v", err)
		}
		for _, it := range items {
			if len(it) == 0 || it[0] != '[' {
				return protocol.Errorf(protocol.CodeInvalidParams, "invalid params: field \"items\": with star, every item must be an array of arguments, got %s", truncate(it, 40))
			}
		}
	}
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}

// handleMap: pool.map, answered when every chunk is done or one fails.
func (c *client) handleMap(req *jsonrpc.Request) (any, error) {
	m, err := c.newMap(req, false)
	if err != nil {
		return nil, err
	}
	if m.total == 0 {
		return protocol.MapResult{Results: json.RawMessage("[]")}, nil
	}
	m.parkKey = c.park(m.abandon)
	for i := range m.runs {
		m.queued++
		m.pool.enqueue(&job{m: m, chunk: i}, false)
	}
	return nil, jsonrpc.ErrAsync
}

// handleImap: pool.imap. The reply goes out before any map.results.
func (c *client) handleImap(req *jsonrpc.Request) (any, error) {
	m, err := c.newMap(req, true)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if _, dup := c.maps[m.id]; dup {
		c.mu.Unlock()
		if m.total > 0 {
			m.end()
		}
		return nil, protocol.Errorf(protocol.CodeConflict, "stream %q is already open on this connection", m.id)
	}
	if c.maps == nil {
		c.maps = make(map[string]*mapJob)
	}
	c.maps[m.id] = m
	c.mu.Unlock()
	started := protocol.ImapStarted{Map: m.id, Count: m.total, Chunks: len(m.runs)}
	c.reply(req.ID, started, nil)
	if m.total == 0 {
		c.mu.Lock()
		delete(c.maps, m.id)
		c.mu.Unlock()
		c.conn.Notify(protocol.NotifyMapDone, protocol.MapDone{Map: m.id})
		return nil, jsonrpc.ErrAsync
	}
	m.ready = make(chan int, len(m.runs)+1)
	m.cancel = make(chan struct{})
	m.mu.Lock()
	first := min(m.window(), len(m.runs))
	m.queued = first
	m.mu.Unlock()
	for i := range first {
		m.pool.enqueue(&job{m: m, chunk: i}, false)
	}
	c.s.goFunc(m.send)
	return nil, jsonrpc.ErrAsync
}

// chunkDone records chunk i's outcome.
func (m *mapJob) chunkDone(i int, results []byte, err *jsonrpc.Error) {
	m.mu.Lock()
	if m.results[i] != nil || m.errs[i] != nil {
		m.mu.Unlock()
		return
	}
	m.results[i], m.errs[i] = results, err
	m.pending--
	last := m.pending == 0
	if err != nil {
		m.anyFailed = true
	}
	if m.stream {
		m.mu.Unlock()
		m.ready <- i
		return
	}
	if m.failed || m.abandoned {
		m.mu.Unlock()
		if last {
			m.end()
		}
		return
	}
	if err != nil {
		// The client hears of the failure at once. Its chunks not started
		// are dropped (popLocked), but the map stays the pool's work until
		// those running have ended, so pool.join waits for them, as
		// multiprocessing's join does.
		m.failed = true
		m.mu.Unlock()
		m.owner.reply(m.reqID, nil, err)
		if last {
			m.end()
		}
		return
	}
	m.mu.Unlock()
	if last {
		runs := make([][]byte, len(m.results))
		for k, r := range m.results {
			runs[k], _ = jsonx.Inner(r)
		}
		// protocol.MapResult, encoded by hand: the results are the bulk of
		// the message and are copied once, here.
		m.owner.reply(m.reqID, json.RawMessage(jsonx.JoinWith(`{"results":`, runs, `}`)), nil)
		m.end()
	}
}

// end marks the map finished for the pool's accounting, once.
func (m *mapJob) end() {
	m.mu.Lock()
	if m.ended {
		m.mu.Unlock()
		return
	}
	m.ended = true
	failed := m.anyFailed
	m.mu.Unlock()
	if m.parkKey != 0 {
		m.owner.unpark(m.parkKey)
	}
	m.pool.workEnded(failed)
}

// dropLocked settles chunk i of a map that will not run it (failed or
// abandoned meanwhile), ending the map if it was the last; p.mu is held.
func (m *mapJob) dropLocked(i int) {
	m.mu.Lock()
	if m.stream || m.ended || m.results[i] != nil || m.errs[i] != nil {
		m.mu.Unlock()
		return
	}
	m.errs[i] = dropped
	m.pending--
	last := m.pending == 0
	if last {
		m.ended = true
	}
	failed := m.anyFailed || m.failed
	m.mu.Unlock()
	if last {
		m.pool.workEndedLocked(failed)
	}
}

// dropped marks a chunk that was not run.
var dropped = &jsonrpc.Error{Code: protocol.CodeCancelled, Message: "not run: the map had failed or its client had gone"}

// dead reports whether the map's remaining chunks need not run.
func (m *mapJob) dead() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.failed || m.abandoned
}

// abandon stops a map whose client has gone.
func (m *mapJob) abandon() {
	m.mu.Lock()
	m.abandoned = true
	m.mu.Unlock()
	if !m.stream {
		m.end()
	}
}

// send delivers a stream's chunks as map.results notifications, in order
// when asked, and tops the pool up by one chunk for each delivered, so at
// most window() chunks are ever held for a slow reader.
func (m *mapJob) send() {
	conn := m.owner.conn
	ctx := conn.Context()
	next := 0 // ordered: the next chunk to deliver
	done := make([]bool, len(m.runs))
	delivered := 0
	deliver := func(i int) bool {
		m.mu.Lock()
		res, err := m.results[i], m.errs[i]
		m.results[i], m.errs[i] = nil, nil // the reader has it now
		m.mu.Unlock()
		note := protocol.MapResults{Map: m.id, Index: m.starts[i], Count: m.counts[i], Results: res, Error: err}
		if nerr := conn.NotifyWait(ctx, protocol.NotifyMapResults, note); nerr != nil {
			return false
		}
		delivered++
		m.mu.Lock()
		more := m.queued < len(m.runs) && !m.abandoned
		k := m.queued
		if more {
			m.queued++
		}
		m.mu.Unlock()
		if more {
			m.pool.enqueue(&job{m: m, chunk: k}, false)
		}
		return true
	}
	// The stream's name is free again before map.done goes out, so a
	// client may reuse it as soon as it reads map.done.
	release := func() {
		m.owner.mu.Lock()
		delete(m.owner.maps, m.id)
		m.owner.mu.Unlock()
	}
	sendDone := func() {
		release()
		if err := conn.Notify(protocol.NotifyMapDone, protocol.MapDone{Map: m.id}); err != nil {
			m.owner.log.Debug().Err(err).Msg("map.done not sent")
		}
	}
	defer func() {
		release()
		m.abandonStream(delivered)
	}()
	for delivered < len(m.runs) {
		var i int
		select {
		case i = <-m.ready:
		case <-ctx.Done():
			return
		case <-m.cancel:
			// map.cancel: nothing more is sent but the end of the stream.
			sendDone()
			return
		}
		if !m.order {
			if !deliver(i) {
				return
			}
			continue
		}
		done[i] = true
		for next < len(m.runs) && done[next] {
			if !deliver(next) {
				return
			}
			next++
		}
	}
	sendDone()
}

// handleMapCancel: map.cancel. Chunks not yet started are dropped, running
// ones finish unobserved, and the stream ends with map.done.
func (c *client) handleMapCancel(req *jsonrpc.Request) (any, error) {
	var p protocol.MapRef
	if err := protocol.Decode(req.Params, &p); err != nil {
		return nil, err
	}
	if err := protocol.Required("map", p.Map == ""); err != nil {
		return nil, err
	}
	c.mu.Lock()
	m, ok := c.maps[p.Map]
	c.mu.Unlock()
	if !ok {
		return nil, protocol.Errorf(protocol.CodeNotFound, "no open stream %q on this connection", p.Map)
	}
	m.mu.Lock()
	if !m.cancelled {
		m.cancelled, m.abandoned = true, true
		close(m.cancel)
	}
	m.mu.Unlock()
	return struct{}{}, nil
}

// abandonStream settles the pool's accounting when a stream ends early.
func (m *mapJob) abandonStream(delivered int) {
	m.mu.Lock()
	if delivered < len(m.runs) {
		m.abandoned = true
	}
	m.mu.Unlock()
	m.end()
}
