package supervisor

import (
	"reflect"
	"strings"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
	ss "github.com/corralhq/corral/sharedstate"
)

// op builds the method of one operation: decode P strictly, check that the
// fields named in need are present, open the object (creating it on demand
// when the store auto-creates) as T, then run. Params are checked before
// the object is opened, so a bad request creates nothing.
func op[P any, T ss.Object](family ss.Kind, need []string, run func(c *client, req *jsonrpc.Request, o T, p *P) (any, error)) method {
	var fields [][]int
	var pt P
	rt := reflect.TypeOf(pt)
	for _, n := range need {
		f, ok := rt.FieldByName(strings.ToUpper(n[:1]) + n[1:])
		if !ok {
			panic("supervisor: " + rt.Name() + " has no field " + n)
		}
		fields = append(fields, f.Index)
	}
	nameField, ok := rt.FieldByName("Name")
	if !ok {
		panic("supervisor: " + rt.Name() + " has no Name")
	}
	return func(c *client, req *jsonrpc.Request) (any, error) {
		var p P
		if err := protocol.Decode(req.Params, &p); err != nil {
			return nil, err
		}
		v := reflect.ValueOf(&p).Elem()
		for i, idx := range fields {
			f := v.FieldByIndex(idx)
			if (f.Kind() == reflect.String && f.Len() == 0) || (f.Kind() != reflect.String && f.IsNil()) {
				return nil, protocol.Required(need[i], true)
			}
		}
		o, err := open[T](c, family, v.FieldByIndex(nameField.Index).String())
		if err != nil {
			return nil, err
		}
		return run(c, req, o, &p)
	}
}

type (
	pName    = protocol.NameParams
	pWait    = protocol.ObjectWaitParams
	pTimeout = protocol.ObjectTimeoutParams
)

func res(k string, v any) map[string]any { return map[string]any{k: v} }

// done answers an operation that completed at once: its result or error.
func done(result any, err error) (any, error) {
	if err != nil {
		return nil, objectError(err)
	}
	return result, nil
}

func timeoutWait(t protocol.ObjectTimeout) protocol.ObjectWait {
	return protocol.ObjectWait{Timeout: t.Timeout}
}

// Short names for the operation table.
type (
	rq  = jsonrpc.Request
	raw = json.RawMessage
)

var (
	kQueue     = ss.KindQueue
	kLock      = ss.KindLock
	kSemaphore = ss.KindSemaphore
	kEvent     = ss.KindEvent
	kCondition = ss.KindCondition
	kBarrier   = ss.KindBarrier
	kValue     = ss.KindValue
	kArray     = ss.KindArray
	kDict      = ss.KindDict
	kList      = ss.KindList
	kNamespace = ss.KindNamespace
	kPipe      = ss.KindPipe
)

func noWait(w protocol.ObjectWait) protocol.ObjectWait {
	f := false
	return protocol.ObjectWait{Block: &f}
}

// putResult answers a put with the queue's bound: a client that learns the
// queue is unbounded may send later puts without waiting for their replies,
// since such a put is taken at once.
func putResult(q ss.Queue) protocol.QueuePutResult {
	return protocol.QueuePutResult{Maxsize: q.Maxsize()}
}

// objectOps are the per-operation methods, FAMILY.OP.
var objectOps = map[string]method{
	// queue, joinablequeue, simplequeue
	"queue.put": op(kQueue, []string{"item"}, func(c *client, req *rq, q ss.Queue, p *protocol.QueuePutParams) (any, error) {
		w := c.waitOf(p.ObjectWait)
		return c.await(req, func(d func(any, error)) func() {
			return q.Put(p.Item, w, func(err error) { d(putResult(q), err) })
		})
	}),
	"queue.put_nowait": op(kQueue, []string{"item"}, func(c *client, req *rq, q ss.Queue, p *protocol.ItemParams) (any, error) {
		w := c.waitOf(noWait(protocol.ObjectWait{}))
		return c.await(req, func(d func(any, error)) func() {
			return q.Put(p.Item, w, func(err error) { d(putResult(q), err) })
		})
	}),
	"queue.get": op(kQueue, nil, func(c *client, req *rq, q ss.Queue, p *pWait) (any, error) {
		w := c.waitOf(p.ObjectWait)
		return c.await(req, func(d func(any, error)) func() {
			return q.Get(w, func(item raw, err error) { d(res("item", rawOrNull(item)), err) })
		})
	}),
	"queue.get_nowait": op(kQueue, nil, func(c *client, req *rq, q ss.Queue, p *pName) (any, error) {
		w := c.waitOf(noWait(protocol.ObjectWait{}))
		return c.await(req, func(d func(any, error)) func() {
			return q.Get(w, func(item raw, err error) { d(res("item", rawOrNull(item)), err) })
		})
	}),
	"queue.qsize": op(kQueue, nil, func(c *client, req *rq, q ss.Queue, p *pName) (any, error) {
		return res("size", q.Qsize()), nil
	}),
	"queue.empty": op(kQueue, nil, func(c *client, req *rq, q ss.Queue, p *pName) (any, error) {
		return res("empty", q.Empty()), nil
	}),
	"queue.full": op(kQueue, nil, func(c *client, req *rq, q ss.Queue, p *pName) (any, error) {
		return res("full", q.Full()), nil
	}),
	"queue.close": op(kQueue, nil, func(c *client, req *rq, q ss.Queue, p *pName) (any, error) {
		q.Close()
		return empty, nil
	}),
	"queue.task_done": op(kQueue, nil, func(c *client, req *rq, q ss.JoinableQueue, p *pName) (any, error) {
		return done(empty, q.TaskDone())
	}),
	"queue.join": op(kQueue, nil, func(c *client, req *rq, q ss.JoinableQueue, p *pTimeout) (any, error) {
		w := c.waitOf(timeoutWait(p.ObjectTimeout))
		return c.await(req, func(d func(any, error)) func() {
			return q.Join(w, func(err error) { d(empty, err) })
		})
	}),

	// lock, rlock
	"lock.acquire": op(kLock, nil, func(c *client, req *rq, l ss.Lock, p *pWait) (any, error) {
		w := c.waitOf(p.ObjectWait)
		return c.await(req, func(d func(any, error)) func() {
			return l.Acquire(w, func(ok bool, err error) { d(res("acquired", ok), err) })
		})
	}),
	"lock.release": op(kLock, nil, func(c *client, req *rq, l ss.Lock, p *pName) (any, error) {
		return done(empty, l.Release(c.objOwner()))
	}),
	"lock.locked": op(kLock, nil, func(c *client, req *rq, l ss.Lock, p *pName) (any, error) {
		return res("locked", l.Locked()), nil
	}),

	// semaphore, boundedsemaphore
	"semaphore.acquire": op(kSemaphore, nil, func(c *client, req *rq, s ss.Semaphore, p *pWait) (any, error) {
		w := c.waitOf(p.ObjectWait)
		return c.await(req, func(d func(any, error)) func() {
			return s.Acquire(w, func(ok bool, err error) { d(res("acquired", ok), err) })
		})
	}),
	"semaphore.release": op(kSemaphore, nil, func(c *client, req *rq, s ss.Semaphore, p *pName) (any, error) {
		return done(empty, s.Release(c.objOwner()))
	}),
	"semaphore.value": op(kSemaphore, nil, func(c *client, req *rq, s ss.Semaphore, p *pName) (any, error) {
		return res("value", s.Value()), nil
	}),

	// event
	"event.set": op(kEvent, nil, func(c *client, req *rq, e ss.Event, p *pName) (any, error) {
		e.Set()
		return empty, nil
	}),
	"event.clear": op(kEvent, nil, func(c *client, req *rq, e ss.Event, p *pName) (any, error) {
		e.Clear()
		return empty, nil
	}),
	"event.is_set": op(kEvent, nil, func(c *client, req *rq, e ss.Event, p *pName) (any, error) {
		return res("set", e.IsSet()), nil
	}),
	"event.wait": op(kEvent, nil, func(c *client, req *rq, e ss.Event, p *pTimeout) (any, error) {
		w := c.waitOf(timeoutWait(p.ObjectTimeout))
		return c.await(req, func(d func(any, error)) func() {
			return e.Wait(w, func(ok bool, err error) { d(res("set", ok), err) })
		})
	}),

	// condition
	"condition.acquire": op(kCondition, nil, func(c *client, req *rq, cv ss.Condition, p *pWait) (any, error) {
		w := c.waitOf(p.ObjectWait)
		return c.await(req, func(d func(any, error)) func() {
			return cv.Acquire(w, func(ok bool, err error) { d(res("acquired", ok), err) })
		})
	}),
	"condition.release": op(kCondition, nil, func(c *client, req *rq, cv ss.Condition, p *pName) (any, error) {
		return done(empty, cv.Release(c.objOwner()))
	}),
	"condition.wait": op(kCondition, nil, func(c *client, req *rq, cv ss.Condition, p *pTimeout) (any, error) {
		w := c.waitOf(timeoutWait(p.ObjectTimeout))
		return c.await(req, func(d func(any, error)) func() {
			return cv.Wait(w, func(ok bool, err error) { d(res("notified", ok), err) })
		})
	}),
	"condition.notify": op(kCondition, nil, func(c *client, req *rq, cv ss.Condition, p *protocol.NotifyParams) (any, error) {
		n := 1
		if p.N != nil {
			n = *p.N
		}
		if n < 0 {
			return nil, errf("field \"n\": must be >= 0, got %d", n)
		}
		return done(empty, cv.Notify(c.objOwner(), n))
	}),
	"condition.notify_all": op(kCondition, nil, func(c *client, req *rq, cv ss.Condition, p *pName) (any, error) {
		return done(empty, cv.NotifyAll(c.objOwner()))
	}),

	// barrier
	"barrier.wait": op(kBarrier, nil, func(c *client, req *rq, b ss.Barrier, p *pTimeout) (any, error) {
		w := c.waitOf(timeoutWait(p.ObjectTimeout))
		return c.await(req, func(d func(any, error)) func() {
			return b.Wait(w, func(i int, err error) { d(res("index", i), err) })
		})
	}),
	"barrier.abort": op(kBarrier, nil, func(c *client, req *rq, b ss.Barrier, p *pName) (any, error) {
		b.Abort()
		return empty, nil
	}),
	"barrier.reset": op(kBarrier, nil, func(c *client, req *rq, b ss.Barrier, p *pName) (any, error) {
		b.Reset()
		return empty, nil
	}),
	"barrier.broken": op(kBarrier, nil, func(c *client, req *rq, b ss.Barrier, p *pName) (any, error) {
		return res("broken", b.Broken()), nil
	}),
	"barrier.n_waiting": op(kBarrier, nil, func(c *client, req *rq, b ss.Barrier, p *pName) (any, error) {
		return res("n_waiting", b.NWaiting()), nil
	}),
	"barrier.parties": op(kBarrier, nil, func(c *client, req *rq, b ss.Barrier, p *pName) (any, error) {
		return res("parties", b.Parties()), nil
	}),

	// value
	"value.get": op(kValue, nil, func(c *client, req *rq, v ss.Value, p *pName) (any, error) {
		return res("value", v.Get()), nil
	}),
	"value.set": op(kValue, []string{"value"}, func(c *client, req *rq, v ss.Value, p *protocol.ValueSetParams) (any, error) {
		if err := v.Set(p.Value); err != nil {
			return nil, objectError(err)
		}
		return res("value", v.Get()), nil
	}),
	"value.add": op(kValue, []string{"delta"}, func(c *client, req *rq, v ss.Value, p *protocol.ValueAddParams) (any, error) {
		n, err := v.Add(p.Delta)
		return done(res("value", n), err)
	}),
	"value.compare_and_swap": op(kValue, []string{"old", "new"}, func(c *client, req *rq, v ss.Value, p *protocol.ValueCASParams) (any, error) {
		ok, err := v.CompareAndSwap(p.Old, p.New)
		return done(res("swapped", ok), err)
	}),

	// array
	"array.len": op(kArray, nil, func(c *client, req *rq, a ss.Array, p *pName) (any, error) {
		return res("len", a.Len()), nil
	}),
	"array.get": op(kArray, []string{"index"}, func(c *client, req *rq, a ss.Array, p *protocol.IndexParams) (any, error) {
		v, err := a.Get(*p.Index)
		return done(res("value", v), err)
	}),
	"array.set": op(kArray, []string{"index", "value"}, func(c *client, req *rq, a ss.Array, p *protocol.IndexValueParams) (any, error) {
		return done(empty, a.Set(*p.Index, p.Value))
	}),
	"array.slice": op(kArray, nil, func(c *client, req *rq, a ss.Array, p *protocol.SliceParams) (any, error) {
		if p.Index != nil || (p.Step != nil && *p.Step != 1) {
			return nil, errf("array.slice takes start and stop only")
		}
		return res("values", a.Slice(bound(p.Start), bound(p.Stop))), nil
	}),
	"array.set_slice": op(kArray, []string{"values"}, func(c *client, req *rq, a ss.Array, p *protocol.SetSliceParams) (any, error) {
		return done(empty, a.SetSlice(bound(p.Start), bound(p.Stop), p.Values))
	}),

	// dict
	"dict.get": op(kDict, []string{"key"}, func(c *client, req *rq, m ss.Dict, p *protocol.KeyParams) (any, error) {
		v, err := m.Get(p.Key, p.Default)
		return done(res("value", rawOrNull(v)), err)
	}),
	"dict.set": op(kDict, []string{"key", "value"}, func(c *client, req *rq, m ss.Dict, p *protocol.KeyValueParams) (any, error) {
		return done(empty, m.Set(p.Key, p.Value))
	}),
	"dict.delete": op(kDict, []string{"key"}, func(c *client, req *rq, m ss.Dict, p *protocol.KeyParams) (any, error) {
		if p.Default != nil {
			return nil, errf("field \"default\" does not apply to dict.delete")
		}
		return done(empty, m.Delete(p.Key))
	}),
	"dict.contains": op(kDict, []string{"key"}, func(c *client, req *rq, m ss.Dict, p *protocol.KeyParams) (any, error) {
		if p.Default != nil {
			return nil, errf("field \"default\" does not apply to dict.contains")
		}
		ok, err := m.Contains(p.Key)
		return done(res("contains", ok), err)
	}),
	"dict.len": op(kDict, nil, func(c *client, req *rq, m ss.Dict, p *pName) (any, error) {
		return res("len", m.Len()), nil
	}),
	"dict.keys": op(kDict, nil, func(c *client, req *rq, m ss.Dict, p *pName) (any, error) {
		return res("keys", rawList(m.Keys())), nil
	}),
	"dict.values": op(kDict, nil, func(c *client, req *rq, m ss.Dict, p *pName) (any, error) {
		return res("values", rawList(m.Values())), nil
	}),
	"dict.items": op(kDict, nil, func(c *client, req *rq, m ss.Dict, p *pName) (any, error) {
		return res("items", pairsJSON(m.Items())), nil
	}),
	"dict.copy": op(kDict, nil, func(c *client, req *rq, m ss.Dict, p *pName) (any, error) {
		return res("items", pairsJSON(m.Copy())), nil
	}),
	"dict.update": op(kDict, []string{"pairs"}, func(c *client, req *rq, m ss.Dict, p *protocol.DictUpdateParams) (any, error) {
		pairs, perr := parsePairs(p.Pairs)
		if perr != nil {
			return nil, perr
		}
		return done(empty, m.Update(pairs))
	}),
	"dict.pop": op(kDict, []string{"key"}, func(c *client, req *rq, m ss.Dict, p *protocol.KeyParams) (any, error) {
		v, err := m.Pop(p.Key, p.Default)
		return done(res("value", rawOrNull(v)), err)
	}),
	"dict.popitem": op(kDict, nil, func(c *client, req *rq, m ss.Dict, p *pName) (any, error) {
		kv, err := m.Popitem()
		return done(map[string]any{"key": rawOrNull(kv.Key), "value": rawOrNull(kv.Value)}, err)
	}),
	"dict.setdefault": op(kDict, []string{"key"}, func(c *client, req *rq, m ss.Dict, p *protocol.KeyParams) (any, error) {
		v, err := m.Setdefault(p.Key, p.Default)
		return done(res("value", rawOrNull(v)), err)
	}),
	"dict.clear": op(kDict, nil, func(c *client, req *rq, m ss.Dict, p *pName) (any, error) {
		m.Clear()
		return empty, nil
	}),

	// list
	"list.append": op(kList, []string{"item"}, func(c *client, req *rq, l ss.List, p *protocol.ItemParams) (any, error) {
		return done(empty, l.Append(p.Item))
	}),
	"list.extend": op(kList, []string{"items"}, func(c *client, req *rq, l ss.List, p *protocol.ListExtendParams) (any, error) {
		return done(empty, l.Extend(p.Items))
	}),
	"list.insert": op(kList, []string{"index", "item"}, func(c *client, req *rq, l ss.List, p *protocol.IndexItemParams) (any, error) {
		return done(empty, l.Insert(*p.Index, p.Item))
	}),
	"list.pop": op(kList, nil, func(c *client, req *rq, l ss.List, p *protocol.IndexParams) (any, error) {
		i := -1
		if p.Index != nil {
			i = *p.Index
		}
		v, err := l.Pop(i)
		return done(res("item", rawOrNull(v)), err)
	}),
	"list.remove": op(kList, []string{"item"}, func(c *client, req *rq, l ss.List, p *protocol.ItemParams) (any, error) {
		return done(empty, l.Remove(p.Item))
	}),
	"list.index": op(kList, []string{"item"}, func(c *client, req *rq, l ss.List, p *protocol.ListIndexParams) (any, error) {
		i, err := l.Index(p.Item, bound(p.Start), bound(p.Stop))
		return done(res("index", i), err)
	}),
	"list.count": op(kList, []string{"item"}, func(c *client, req *rq, l ss.List, p *protocol.ItemParams) (any, error) {
		n, err := l.Count(p.Item)
		return done(res("count", n), err)
	}),
	"list.reverse": op(kList, nil, func(c *client, req *rq, l ss.List, p *pName) (any, error) {
		l.Reverse()
		return empty, nil
	}),
	"list.sort": op(kList, nil, func(c *client, req *rq, l ss.List, p *protocol.ListSortParams) (any, error) {
		return done(empty, l.Sort(p.Reverse))
	}),
	"list.len": op(kList, nil, func(c *client, req *rq, l ss.List, p *pName) (any, error) {
		return res("len", l.Len()), nil
	}),
	"list.get": op(kList, []string{"index"}, func(c *client, req *rq, l ss.List, p *protocol.IndexParams) (any, error) {
		v, err := l.Get(*p.Index)
		return done(res("item", rawOrNull(v)), err)
	}),
	"list.set": op(kList, []string{"index", "item"}, func(c *client, req *rq, l ss.List, p *protocol.IndexItemParams) (any, error) {
		return done(empty, l.Set(*p.Index, p.Item))
	}),
	"list.slice": op(kList, nil, func(c *client, req *rq, l ss.List, p *protocol.SliceParams) (any, error) {
		if p.Index != nil {
			return nil, errf("unknown field \"index\"")
		}
		step := 1
		if p.Step != nil {
			step = *p.Step
		}
		vs, err := l.Slice(bound(p.Start), bound(p.Stop), step)
		return done(res("items", rawList(vs)), err)
	}),
	"list.delete": op(kList, nil, func(c *client, req *rq, l ss.List, p *protocol.SliceParams) (any, error) {
		if p.Index != nil {
			if p.Start != nil || p.Stop != nil || p.Step != nil {
				return nil, errf("list.delete takes index, or start/stop/step, not both")
			}
			return done(empty, l.Delete(*p.Index))
		}
		if p.Start == nil && p.Stop == nil && p.Step == nil {
			return nil, protocol.Required("index", true)
		}
		step := 1
		if p.Step != nil {
			step = *p.Step
		}
		return done(empty, l.DeleteSlice(bound(p.Start), bound(p.Stop), step))
	}),

	// namespace
	"namespace.get": op(kNamespace, []string{"attr"}, func(c *client, req *rq, n ss.Namespace, p *protocol.AttrParams) (any, error) {
		v, err := n.GetAttr(p.Attr)
		return done(res("value", rawOrNull(v)), err)
	}),
	"namespace.set": op(kNamespace, []string{"attr", "value"}, func(c *client, req *rq, n ss.Namespace, p *protocol.AttrValueParams) (any, error) {
		return done(empty, n.SetAttr(p.Attr, p.Value))
	}),
	"namespace.delete": op(kNamespace, []string{"attr"}, func(c *client, req *rq, n ss.Namespace, p *protocol.AttrParams) (any, error) {
		return done(empty, n.DelAttr(p.Attr))
	}),
	"namespace.attrs": op(kNamespace, nil, func(c *client, req *rq, n ss.Namespace, p *pName) (any, error) {
		b := []byte{'{'}
		for i, a := range n.Attrs() {
			if i > 0 {
				b = append(b, ',')
			}
			k, _ := json.Marshal(a.Name)
			b = append(b, k...)
			b = append(b, ':')
			b = append(b, rawOrNull(a.Value)...)
		}
		return res("attrs", raw(append(b, '}'))), nil
	}),

	// pipe
	"pipe.send": op(kPipe, []string{"end", "msg"}, func(c *client, req *rq, pp ss.Pipe, p *protocol.PipeSendParams) (any, error) {
		return done(empty, pp.Send(*p.End, p.Msg))
	}),
	"pipe.recv": op(kPipe, []string{"end"}, func(c *client, req *rq, pp ss.Pipe, p *protocol.PipeRecvParams) (any, error) {
		w := c.waitOf(p.ObjectWait)
		return c.await(req, func(d func(any, error)) func() {
			return pp.Recv(*p.End, w, func(msg raw, err error) { d(res("msg", rawOrNull(msg)), err) })
		})
	}),
	"pipe.poll": op(kPipe, []string{"end"}, func(c *client, req *rq, pp ss.Pipe, p *protocol.PipePollParams) (any, error) {
		ow := p.ObjectWait
		if ow.Block == nil && ow.Timeout == nil {
			ow = noWait(ow) // poll() without a timeout answers at once
		}
		w := c.waitOf(ow)
		return c.await(req, func(d func(any, error)) func() {
			return pp.Poll(*p.End, w, func(ok bool, err error) { d(res("ready", ok), err) })
		})
	}),
	"pipe.close": op(kPipe, []string{"end"}, func(c *client, req *rq, pp ss.Pipe, p *protocol.PipeEndParams) (any, error) {
		return done(empty, pp.Close(*p.End))
	}),
}
