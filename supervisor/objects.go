package supervisor

import (
	"errors"
	"strings"
	"sync"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/internal/jsonx"
	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
	ss "github.com/corralhq/corral/sharedstate"
)

// Shared objects (issue 3): the supervisor's sharedstate.Store, exposed as
// object.create/delete/list and one method per operation (FAMILY.OP). Every
// operation that may wait parks its request (jsonrpc.ErrAsync) and is
// answered from the object's completion callback, so the read loop never
// blocks; the cancel function of a parked wait is registered with
// client.park, so a connection that ends cancels its waits, and
// client.closed gives back what it held (Store.ReleaseAll).

func init() {
	methods[protocol.MethodObjectCreate] = (*client).handleObjectCreate
	methods[protocol.MethodObjectDelete] = (*client).handleObjectDelete
	methods[protocol.MethodObjectList] = (*client).handleObjectList
	for name, h := range objectOps {
		methods[name] = h
	}
}

// objOwner is the connection as a holder of locks and permits. It is fixed
// at first use (after the handshake, so it carries the hello name): an
// Owner is compared as a whole, so it must not change once something is
// held under it.
func (c *client) objOwner() ss.Owner {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ownerSet {
		name := c.name
		switch {
		case c.worker != nil:
			name = c.worker.name
		case name == "":
			name = c.via
		}
		c.owner = ss.Owner{ID: c.s.ownerSeq.Add(1), Name: name}
		c.ownerSet = true
	}
	return c.owner
}

// releaseObjects gives back what the ended connection held in the store and
// logs each thing released with the holder's name.
func (c *client) releaseObjects() {
	c.mu.Lock()
	o, ok := c.owner, c.ownerSet
	c.mu.Unlock()
	if !ok || c.s.store == nil {
		return
	}
	for _, what := range c.s.store.ReleaseAll(o) {
		c.log.Info().Str("holder", o.String()).Msg(what)
	}
}

// sentinels are the sharedstate errors, whose text sharedstate appends to
// its messages ("queue q is empty: empty"); the code says it already.
var sentinels = []error{ss.ErrEmpty, ss.ErrFull, ss.ErrTimeout, ss.ErrClosed, ss.ErrNotOwner,
	ss.ErrBrokenBarrier, ss.ErrValue, ss.ErrKey, ss.ErrIndex, ss.ErrType, ss.ErrRange,
	ss.ErrAttribute, ss.ErrEOF, ss.ErrDirection, ss.ErrConflict, ss.ErrNotFound,
	ss.ErrWrongKind, ss.ErrName, ss.ErrTooLarge}

// message is err's text without the sentinels' suffixes.
func message(err error) string {
	msg := err.Error()
	for trimmed := true; trimmed; {
		trimmed = false
		for _, s := range sentinels {
			if t := strings.TrimSuffix(msg, ": "+s.Error()); t != msg {
				msg, trimmed = t, true
			}
		}
	}
	return msg
}

// objectError maps a sharedstate error to its protocol error.
func objectError(err error) *jsonrpc.Error {
	var je *jsonrpc.Error
	if errors.As(err, &je) {
		return je
	}
	msg := message(err)
	with := func(code int64, typ string) *jsonrpc.Error {
		if typ == "" {
			return protocol.Errorf(code, "%s", msg)
		}
		return protocol.ErrorWith(code, msg, protocol.ObjectErrorData{Type: typ})
	}
	switch {
	case errors.Is(err, ss.ErrEmpty):
		return with(protocol.CodeEmpty, "Empty")
	case errors.Is(err, ss.ErrFull):
		return with(protocol.CodeFull, "Full")
	case errors.Is(err, ss.ErrTimeout):
		return with(protocol.CodeTimeout, "TimeoutError")
	case errors.Is(err, ss.ErrClosed):
		return with(protocol.CodeClosed, "")
	case errors.Is(err, ss.ErrNotFound):
		return with(protocol.CodeNotFound, "")
	case errors.Is(err, ss.ErrConflict):
		return with(protocol.CodeConflict, "")
	case errors.Is(err, ss.ErrNotOwner):
		return with(protocol.CodeNotOwner, "RuntimeError")
	case errors.Is(err, ss.ErrBrokenBarrier):
		return with(protocol.CodeBrokenBarrier, "BrokenBarrierError")
	case errors.Is(err, ss.ErrWrongKind):
		return with(protocol.CodeWrongKind, "")
	case errors.Is(err, ss.ErrEOF):
		return with(protocol.CodeEOF, "EOFError")
	case errors.Is(err, ss.ErrDirection):
		return with(protocol.CodeDirection, "")
	case errors.Is(err, ss.ErrName):
		return protocol.Errorf(protocol.CodeInvalidParams, "invalid params: field \"name\": %s", msg)
	case errors.Is(err, ss.ErrKey):
		return with(protocol.CodeValueError, "KeyError")
	case errors.Is(err, ss.ErrIndex):
		return with(protocol.CodeValueError, "IndexError")
	case errors.Is(err, ss.ErrType):
		return with(protocol.CodeValueError, "TypeError")
	case errors.Is(err, ss.ErrRange):
		return with(protocol.CodeValueError, "OverflowError")
	case errors.Is(err, ss.ErrAttribute):
		return with(protocol.CodeValueError, "AttributeError")
	case errors.Is(err, ss.ErrValue), errors.Is(err, ss.ErrTooLarge):
		// An item over the size limit is a ValueError on this request
		// only: unlike too_large (-32003), the connection stays open.
		return with(protocol.CodeValueError, "ValueError")
	}
	return protocol.Errorf(protocol.CodeInternalError, "%s", msg)
}

// checkName validates an object name as §2.8 does pool names.
func checkName(name string) *jsonrpc.Error {
	if name == "" {
		return protocol.Required("name", true)
	}
	if err := ss.CheckName(name); err != nil {
		return objectError(err)
	}
	return nil
}

// open returns the object name as the interface T of family's operations.
func open[T ss.Object](c *client, family ss.Kind, name string) (T, *jsonrpc.Error) {
	var zero T
	if err := checkName(name); err != nil {
		return zero, err
	}
	obj, err := c.s.store.Open(family, name)
	if err != nil {
		return zero, objectError(err)
	}
	t, ok := obj.(T)
	if !ok {
		return zero, protocol.Errorf(protocol.CodeWrongKind, "%s is a %s, which has no %s operations", name, obj.Kind(), family)
	}
	return t, nil
}

// waitOf converts a request's block and timeout into a sharedstate.Wait. A
// timeout of 0 does not wait, as Python's get(timeout=0) or acquire(timeout=0).
func (c *client) waitOf(w protocol.ObjectWait) ss.Wait {
	block := w.Block == nil || *w.Block
	var d time.Duration
	if block && w.Timeout != nil {
		d = w.Timeout.Duration()
		if d <= 0 {
			if *w.Timeout > 0 {
				d = time.Nanosecond // below 1ns: still a (very short) wait, never "no limit"
			} else {
				block = false
			}
		}
	}
	return ss.Wait{Block: block, Timeout: d, Owner: c.objOwner()}
}

// await runs an operation that may complete later. op starts it with a
// done callback and returns its cancel function. An answer known at once is
// returned; otherwise the request is parked (ErrAsync), answered from done,
// and cancelled if the connection ends first.
func (c *client) await(req *jsonrpc.Request, op func(done func(any, error)) (cancel func())) (any, error) {
	var (
		mu      sync.Mutex
		inline  = true
		settled bool
		res     any
		rerr    error
		key     uint64
	)
	done := func(r any, err error) {
		if err != nil {
			err = objectError(err)
		}
		mu.Lock()
		settled = true
		if inline {
			res, rerr = r, err
			mu.Unlock()
			return
		}
		k := key
		mu.Unlock()
		if k != 0 {
			c.unpark(k)
		}
		c.reply(req.ID, r, err)
	}
	cancel := op(done)
	mu.Lock()
	inline = false
	if settled {
		mu.Unlock()
		return res, rerr
	}
	mu.Unlock()
	k := c.park(cancel)
	if k == 0 {
		// The connection ended meanwhile: nobody will read the answer.
		cancel()
		return nil, jsonrpc.ErrAsync
	}
	mu.Lock()
	if settled {
		mu.Unlock()
		c.unpark(k)
	} else {
		key = k
		mu.Unlock()
	}
	return nil, jsonrpc.ErrAsync
}

// bound converts an optional slice bound.
func bound(p *int) int {
	if p == nil {
		return ss.Omit
	}
	return *p
}

// toParams converts wire (or config) parameters to the store's.
func toParams(p *protocol.ObjectParams) ss.Params {
	if p == nil {
		return ss.Params{}
	}
	return ss.Params{
		Maxsize:  p.Maxsize,
		Value:    p.Value,
		Parties:  p.Parties,
		Timeout:  p.Timeout.Duration(),
		Typecode: p.Typecode,
		Initial:  p.Initial,
		Size:     p.Size,
		Lock:     p.Lock,
		Simplex:  p.Duplex != nil && !*p.Duplex,
	}
}

func validKind(k string) bool {
	_, ok := protocol.ObjectFamilies[k]
	return ok
}

// createObject is object.create, and the creation of declared objects.
// Bad parameters are invalid_params.
func (s *Supervisor) createObject(kind, name string, p *protocol.ObjectParams) *jsonrpc.Error {
	if err := protocol.Required("kind", kind == ""); err != nil {
		return err
	}
	if !validKind(kind) {
		return protocol.Errorf(protocol.CodeInvalidParams, "invalid params: field \"kind\": unknown kind %q (want one of %v)", kind, ss.Kinds)
	}
	if err := checkName(name); err != nil {
		return err
	}
	_, err := s.store.Create(ss.Kind(kind), name, toParams(p))
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, ss.ErrValue), errors.Is(err, ss.ErrType), errors.Is(err, ss.ErrRange), errors.Is(err, ss.ErrTooLarge):
		return protocol.Errorf(protocol.CodeInvalidParams, "invalid params: field \"params\": %s", message(err))
	}
	return objectError(err)
}

func (c *client) handleObjectCreate(req *jsonrpc.Request) (any, error) {
	var p protocol.ObjectCreateParams
	if err := protocol.Decode(req.Params, &p); err != nil {
		return nil, err
	}
	if err := c.s.createObject(p.Kind, p.Name, p.Params); err != nil {
		return nil, err
	}
	return protocol.ObjectRef{Kind: p.Kind, Name: p.Name}, nil
}

func (c *client) handleObjectDelete(req *jsonrpc.Request) (any, error) {
	var p protocol.NameParams
	if err := protocol.Decode(req.Params, &p); err != nil {
		return nil, err
	}
	if err := checkName(p.Name); err != nil {
		return nil, err
	}
	if err := c.s.store.Delete(p.Name); err != nil {
		return nil, objectError(err)
	}
	return struct{}{}, nil
}

func (c *client) handleObjectList(req *jsonrpc.Request) (any, error) {
	return protocol.ObjectList{Objects: c.s.objectList()}, nil
}

func (s *Supervisor) objectList() []protocol.ObjectStatus {
	out := []protocol.ObjectStatus{}
	if s.store == nil {
		return out
	}
	for _, st := range s.store.List() {
		out = append(out, protocol.ObjectStatus{Kind: string(st.Kind), Name: st.Name, Depth: st.Depth,
			Holders: st.Holders, Waiters: st.Waiters, Detail: st.Detail})
	}
	return out
}

// empty is the result of a mutator that returns nothing.
var empty = struct{}{}

// pairsJSON renders dict entries as [[key, value], …], Python's items().
func pairsJSON(ps []ss.Pair) json.RawMessage {
	b := make([]byte, 0, 64)
	b = append(b, '[')
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = append(b, p.Key...)
		b = append(b, ',')
		b = append(b, p.Value...)
		b = append(b, ']')
	}
	return append(b, ']')
}

// rawList renders values as a JSON array.
func rawList(vs []json.RawMessage) json.RawMessage {
	b := make([]byte, 0, 64)
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, v...)
	}
	return append(b, ']')
}

// parsePairs reads dict.update's pairs: [[k, v], …] or {"k": v, …}.
func parsePairs(raw json.RawMessage) ([]ss.Pair, *jsonrpc.Error) {
	bad := protocol.Errorf(protocol.CodeInvalidParams, "invalid params: field \"pairs\": want an array of [key, value] arrays, or an object")
	if len(raw) == 0 {
		return nil, protocol.Required("pairs", true)
	}
	switch raw[0] {
	case '[':
		var arr [][]json.RawMessage
		if err := json.Unmarshal(raw, &arr); err != nil {
			return nil, bad
		}
		out := make([]ss.Pair, len(arr))
		for i, kv := range arr {
			if len(kv) != 2 {
				return nil, bad
			}
			out[i] = ss.Pair{Key: kv[0], Value: kv[1]}
		}
		return out, nil
	case '{':
		// Keep the object's order: members in sequence, keys as written.
		ms, err := jsonx.Members(raw)
		if err != nil {
			return nil, bad
		}
		out := make([]ss.Pair, len(ms))
		for i, m := range ms {
			out[i] = ss.Pair{Key: json.RawMessage(`"` + m.Key + `"`), Value: m.Value}
		}
		return out, nil
	}
	return nil, bad
}

func errf(format string, args ...any) *jsonrpc.Error {
	return protocol.Errorf(protocol.CodeInvalidParams, "invalid params: "+format, args...)
}
