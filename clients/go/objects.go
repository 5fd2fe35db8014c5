package corral

import (
	"context"
	"fmt"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/protocol"
)

// Errors of shared objects, for errors.Is.
var (
	// ErrEmpty: a get found the queue empty (non-blocking, or not within
	// the context's deadline), as queue.Empty.
	ErrEmpty = sentinel(protocol.CodeEmpty)
	// ErrFull: a put found no room, as queue.Full.
	ErrFull = sentinel(protocol.CodeFull)
	// ErrNotOwner: a release of a lock this connection does not hold.
	ErrNotOwner = sentinel(protocol.CodeNotOwner)
	// ErrBrokenBarrier: the barrier was aborted, timed out or lost a party.
	ErrBrokenBarrier = sentinel(protocol.CodeBrokenBarrier)
	// ErrValue: the operation is not valid for the object's state or
	// argument; Data.Type names the Python exception (KeyError, …).
	ErrValue = sentinel(protocol.CodeValueError)
	// ErrWrongKind: the name belongs to an object of another kind.
	ErrWrongKind = sentinel(protocol.CodeWrongKind)
	// ErrEOF: a pipe end received with its peer closed and nothing
	// buffered, as EOFError from Connection.recv.
	ErrEOF = sentinel(protocol.CodeEOF)
	// ErrDirection: the wrong end of a one-way pipe was used (end 0 only
	// receives, end 1 only sends), as Pipe(duplex=False) refuses.
	ErrDirection = sentinel(protocol.CodeDirection)
)

// Object is a shared object the supervisor hosts, named within its family
// (queue, lock, semaphore, event, condition, barrier, value, array, dict,
// list, namespace, pipe). Objects are created on first use unless the
// supervisor was configured otherwise, or with CreateObject. Locks and
// semaphore permits belong to the connection (this Client) that took them.
type Object struct {
	c      *Client
	family string
	name   string
	late   lateErr // failures of requests sent without waiting (behind.go)
}

// Object returns a handle on the shared object name of family; nothing is
// sent until it is used.
func (c *Client) Object(family, name string) *Object {
	return &Object{c: c, family: family, name: name}
}

// CreateObject creates a shared object of kind (queue, joinablequeue,
// simplequeue, lock, rlock, semaphore, boundedsemaphore, event, condition,
// barrier, value, array, dict, list, namespace, pipe) with params, or
// returns the existing one when kind and params match.
func (c *Client) CreateObject(ctx context.Context, kind, name string, params *protocol.ObjectParams) (*Object, error) {
	family, ok := protocol.ObjectFamilies[kind]
	if !ok {
		return nil, fmt.Errorf("create %s %s: unknown kind", kind, name)
	}
	if err := c.call(ctx, protocol.MethodObjectCreate, protocol.ObjectCreateParams{Kind: kind, Name: name, Params: params}, nil); err != nil {
		return nil, fmt.Errorf("create %s %s: %w", kind, name, err)
	}
	return c.Object(family, name), nil
}

// Name is the object's name.
func (o *Object) Name() string { return o.name }

// Call runs the operation op (as protocol.ObjectOps names it) with params
// (the object's name is added) and decodes the result object into out
// (nil discards it). An operation that can wait takes its timeout from
// ctx's deadline, as a task's Get does; the wait is the supervisor's, so
// this connection goes on serving other calls meanwhile.
func (o *Object) Call(ctx context.Context, op string, params map[string]any, out any) error {
	if err := o.late.take(); err != nil {
		return err
	}
	p := make(map[string]any, len(params)+2)
	for k, v := range params {
		p[k] = v
	}
	p["name"] = o.name
	method := o.family + "." + op
	var err error
	if waits(method) {
		if t := waitTimeout(ctx); t != nil {
			p["timeout"] = *t
		}
		err = o.c.callWait(ctx, method, p, out)
	} else {
		err = o.c.call(ctx, method, p, out)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, o.name, err)
	}
	return nil
}

// waits reports whether a method may wait, and so takes a timeout.
func waits(method string) bool {
	switch method {
	case "queue.put", "queue.get", "queue.join", "lock.acquire", "semaphore.acquire",
		"condition.acquire", "condition.wait", "event.wait", "barrier.wait", "pipe.recv", "pipe.poll":
		return true
	}
	return false
}

func rawJSON(v any) (json.RawMessage, error) {
	if r, ok := v.(json.RawMessage); ok {
		return r, nil
	}
	return json.Marshal(v)
}

// Queue is a shared FIFO queue (multiprocessing.Queue).
type Queue struct{ o *Object }

// Queue returns the shared queue name.
func (c *Client) Queue(name string) *Queue { return &Queue{c.Object("queue", name)} }

// Put adds item, waiting for room in a bounded queue until ctx's deadline
// (ErrFull then). Once this Client knows the queue is unbounded (from an
// earlier put's answer), Put returns as soon as the item is sent, as
// multiprocessing.Queue.put does: see Flush.
func (q *Queue) Put(ctx context.Context, item any) error {
	o := q.o
	p, err := o.rawParams("put", "item", item)
	if err != nil {
		return err
	}
	if o.c.queueBound(o.name) == 0 {
		return o.callBehind(ctx, "put", p)
	}
	var r struct {
		Maxsize *int `json:"maxsize"`
	}
	if err := o.Call(ctx, "put", p, &r); err != nil {
		return err
	}
	if r.Maxsize != nil {
		o.c.learnBound(o.name, *r.Maxsize)
	}
	return nil
}

// Get takes the oldest item into out, waiting until ctx's deadline for one
// (ErrEmpty then).
func (q *Queue) Get(ctx context.Context, out any) error {
	return q.o.callRaw(ctx, "get", "item", out)
}

// Len is the number of items queued (qsize).
func (q *Queue) Len(ctx context.Context) (n int, err error) {
	err = q.o.callRaw(ctx, "qsize", "size", &n)
	return n, err
}

// Lock is a shared lock (multiprocessing.Lock), held by this Client's
// connection; it is released if the connection ends. An rlock
// (multiprocessing.RLock) is used through Lock too: create it with
// CreateObject(ctx, "rlock", name, nil); the holder's Acquire then nests,
// each needing its Release.
type Lock struct{ o *Object }

// Lock returns the shared lock name.
func (c *Client) Lock(name string) *Lock { return &Lock{c.Object("lock", name)} }

// Acquire waits for the lock until ctx's deadline, reporting whether it
// was acquired (false on timeout, as acquire(timeout=…) returns).
func (l *Lock) Acquire(ctx context.Context) (ok bool, err error) {
	err = l.o.callRaw(ctx, "acquire", "acquired", &ok)
	if ok {
		l.o.c.hold(l.o.name, 1)
	}
	return ok, err
}

// Release releases the lock (ErrNotOwner when this connection does not
// hold it). The release of a lock this Client acquired cannot fail, so it
// returns as soon as it is sent: see Flush.
func (l *Lock) Release(ctx context.Context) error {
	o := l.o
	if o.c.hold(o.name, -1) {
		return o.callBehind(ctx, "release", nil)
	}
	return o.Call(ctx, "release", nil, nil)
}

// Event is a shared event flag (multiprocessing.Event).
type Event struct{ o *Object }

// Event returns the shared event name.
func (c *Client) Event(name string) *Event { return &Event{c.Object("event", name)} }

// Set sets the flag, waking every waiter.
func (e *Event) Set(ctx context.Context) error { return e.o.Call(ctx, "set", nil, nil) }

// Clear resets the flag.
func (e *Event) Clear(ctx context.Context) error { return e.o.Call(ctx, "clear", nil, nil) }

// Wait waits until the flag is set or ctx's deadline passes, reporting
// whether it is set.
func (e *Event) Wait(ctx context.Context) (set bool, err error) {
	err = e.o.callRaw(ctx, "wait", "set", &set)
	return set, err
}

// Value is a shared typed number (multiprocessing.Value) with atomic
// Add and CompareAndSwap.
type Value struct{ o *Object }

// Value returns the shared value name. A value needs a typecode, so it is
// not made on demand: create it with CreateObject or in the config.
func (c *Client) Value(name string) *Value { return &Value{c.Object("value", name)} }

// Get reads the value into out.
func (v *Value) Get(ctx context.Context, out any) error {
	return v.o.callRaw(ctx, "get", "value", out)
}

// Set stores x (range-checked against the typecode: ErrValue).
func (v *Value) Set(ctx context.Context, x any) error {
	return v.o.callRaw(ctx, "set", "", nil, "value", x)
}

// Add adds delta atomically and stores the new value in out (may be nil).
func (v *Value) Add(ctx context.Context, delta any, out any) error {
	return v.o.callRaw(ctx, "add", "value", out, "delta", delta)
}

// CompareAndSwap stores new if the value is old, reporting whether it did.
func (v *Value) CompareAndSwap(ctx context.Context, old, new any) (swapped bool, err error) {
	err = v.o.callRaw(ctx, "compare_and_swap", "swapped", &swapped, "old", old, "new", new)
	return swapped, err
}

// Dict is a shared dictionary (Manager().dict()): keys are JSON scalars or
// arrays and keep their types; insertion order is kept.
type Dict struct{ o *Object }

// Dict returns the shared dict name.
func (c *Client) Dict(name string) *Dict { return &Dict{c.Object("dict", name)} }

// Set stores value under key.
func (d *Dict) Set(ctx context.Context, key, value any) error {
	return d.o.callRaw(ctx, "set", "", nil, "key", key, "value", value)
}

// Get reads the value under key into out. A missing key reads as JSON
// null, as dict.get returns None (out is then left as it was).
func (d *Dict) Get(ctx context.Context, key, out any) error {
	return d.o.callRaw(ctx, "get", "value", out, "key", key)
}

// Len is the number of keys.
func (d *Dict) Len(ctx context.Context) (n int, err error) {
	err = d.o.callRaw(ctx, "len", "len", &n)
	return n, err
}
