package protocol

import (
	json "github.com/segmentio/encoding/json"
)

// Shared-object methods (issue 3). Besides object.create, object.delete and
// object.list, every operation is a method named FAMILY.OP, with OP spelled
// as Python names it (queue.task_done, barrier.n_waiting); ObjectOps lists
// them. Params are the per-operation structs below, decoded strictly.
const (
	MethodObjectCreate = "object.create"
	MethodObjectDelete = "object.delete"
	MethodObjectList   = "object.list"
)

// ObjectFamilies maps each kind to the family of methods it is used with:
// a joinablequeue with queue.*, an rlock with lock.*, a boundedsemaphore
// with semaphore.*.
var ObjectFamilies = map[string]string{
	"queue": "queue", "joinablequeue": "queue", "simplequeue": "queue",
	"lock": "lock", "rlock": "lock",
	"semaphore": "semaphore", "boundedsemaphore": "semaphore",
	"event": "event", "condition": "condition", "barrier": "barrier",
	"value": "value", "array": "array", "dict": "dict", "list": "list",
	"namespace": "namespace", "pipe": "pipe",
}

// ObjectOps lists the operations of each family; the method is
// FAMILY + "." + OP.
//
// Results are objects with named members; an operation that returns
// nothing answers {}:
//
//	queue.get, queue.get_nowait        {"item": v}
//	queue.qsize / empty / full         {"size": n} / {"empty": b} / {"full": b}
//	lock.acquire, semaphore.acquire,
//	condition.acquire                  {"acquired": b}   (false: not within the wait)
//	lock.locked                        {"locked": b}
//	semaphore.value                    {"value": n}
//	event.is_set, event.wait           {"set": b}
//	condition.wait                     {"notified": b}
//	barrier.wait                       {"index": n}
//	barrier.broken / n_waiting / parties {"broken": b} / {"n_waiting": n} / {"parties": n}
//	value.get, value.set, value.add    {"value": v}
//	value.compare_and_swap             {"swapped": b}
//	array.len, dict.len, list.len      {"len": n}
//	array.get, dict.get, dict.pop,
//	dict.setdefault, namespace.get     {"value": v}
//	array.slice                        {"values": [...]}
//	dict.contains                      {"contains": b}
//	dict.keys / values                 {"keys": [...]} / {"values": [...]}
//	dict.items, dict.copy              {"items": [[k, v], ...]}
//	dict.popitem                       {"key": k, "value": v}
//	list.get, list.pop                 {"item": v}
//	list.slice                         {"items": [...]}
//	list.index / count                 {"index": n} / {"count": n}
//	namespace.attrs                    {"attrs": {name: v, ...}}
//	pipe.recv                          {"msg": v}
//	pipe.poll                          {"ready": b}
//
// Errors: empty 1001, full 1002, timeout 1000 (queue.join, pipe.recv),
// closed 1003, not_found 1004, not_owner 1006, broken_barrier 1007,
// value_error 1008 with data.type the Python exception (ValueError,
// KeyError, IndexError, TypeError, OverflowError, AttributeError),
// wrong_kind 1018, eof 1019, direction 1020; a bad name, timeout or
// missing member is -32602.
var ObjectOps = map[string][]string{
	"queue":     {"put", "get", "put_nowait", "get_nowait", "qsize", "empty", "full", "close", "task_done", "join"},
	"lock":      {"acquire", "release", "locked"},
	"semaphore": {"acquire", "release", "value"},
	"event":     {"set", "clear", "is_set", "wait"},
	"condition": {"acquire", "release", "wait", "notify", "notify_all"},
	"barrier":   {"wait", "abort", "reset", "broken", "n_waiting", "parties"},
	"value":     {"get", "set", "add", "compare_and_swap"},
	"array":     {"len", "get", "set", "slice", "set_slice"},
	"dict": {"get", "set", "delete", "contains", "len", "keys", "values", "items", "update",
		"pop", "popitem", "setdefault", "clear", "copy"},
	"list": {"append", "extend", "insert", "pop", "remove", "index", "count", "reverse", "sort",
		"len", "get", "set", "slice", "delete"},
	"namespace": {"get", "set", "delete", "attrs"},
	"pipe":      {"send", "recv", "poll", "close"},
}

// ObjectParams are an object's creation parameters (object.create's params
// member, and the keys of a [KIND.NAME] config table). Each kind takes only
// its own: queue/joinablequeue maxsize; semaphore/boundedsemaphore value;
// barrier parties, timeout; value typecode, initial; array typecode, initial
// or size; dict initial (an object); list initial (an array); condition
// lock (the name of a lock or rlock); pipe duplex (default true).
type ObjectParams struct {
	Maxsize  int             `json:"maxsize,omitempty"`
	Value    *int            `json:"value,omitempty"`
	Parties  int             `json:"parties,omitempty"`
	Timeout  Seconds         `json:"timeout,omitempty"`
	Typecode string          `json:"typecode,omitempty"`
	Initial  json.RawMessage `json:"initial,omitempty"`
	Size     int             `json:"size,omitempty"`
	Lock     string          `json:"lock,omitempty"`
	Duplex   *bool           `json:"duplex,omitempty"`
}

// ObjectCreateParams creates a shared object, or returns the existing one
// of that name when its kind and parameters are the same (object.create).
type ObjectCreateParams struct {
	Kind   string        `json:"kind"`
	Name   string        `json:"name"`
	Params *ObjectParams `json:"params,omitempty"`
}

// ObjectRef names a shared object and its kind: object.create's result.
type ObjectRef struct {
	Kind string `json:"kind,omitempty"`
	Name string `json:"name"`
}

// ObjectStatus is one object in object.list and corral.status.
type ObjectStatus struct {
	Kind    string   `json:"kind"`
	Name    string   `json:"name"`
	Depth   int      `json:"depth,omitempty"`
	Holders []string `json:"holders,omitempty"`
	Waiters int      `json:"waiters,omitempty"`
	Detail  string   `json:"detail,omitempty"`
}

// QueuePutResult answers queue.put and queue.put_nowait with the queue's
// bound (0: unbounded). A put to an unbounded queue is taken at once, so a
// client that knows the queue is unbounded may send puts without waiting
// for their replies.
type QueuePutResult struct {
	Maxsize int `json:"maxsize"`
}

// ObjectList answers object.list.
type ObjectList struct {
	Objects []ObjectStatus `json:"objects"`
}

// ObjectWait is how an operation that may wait does so: Block (default
// true) and Timeout (seconds; none when absent). A timeout of 0 does not
// wait, as in Python.
type ObjectWait struct {
	Block   *bool    `json:"block,omitempty"`
	Timeout *Seconds `json:"timeout,omitempty"`
}

// ObjectTimeout is ObjectWait for operations that always block and take only
// a timeout (queue.join, event.wait, condition.wait, barrier.wait,
// pipe.poll).
type ObjectTimeout struct {
	Timeout *Seconds `json:"timeout,omitempty"`
}

// QueuePutParams: queue.put, queue.put_nowait.
type QueuePutParams struct {
	Name string          `json:"name"`
	Item json.RawMessage `json:"item"`
	ObjectWait
}

// ObjectWaitParams: queue.get, lock.acquire, semaphore.acquire,
// condition.acquire.
type ObjectWaitParams struct {
	Name string `json:"name"`
	ObjectWait
}

// ObjectTimeoutParams: queue.join, event.wait, condition.wait, barrier.wait.
type ObjectTimeoutParams struct {
	Name string `json:"name"`
	ObjectTimeout
}

// NotifyParams: condition.notify (n defaults to 1).
type NotifyParams struct {
	Name string `json:"name"`
	N    *int   `json:"n,omitempty"`
}

// ValueSetParams: value.set.
type ValueSetParams struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// ValueAddParams: value.add.
type ValueAddParams struct {
	Name  string          `json:"name"`
	Delta json.RawMessage `json:"delta"`
}

// ValueCASParams: value.compare_and_swap.
type ValueCASParams struct {
	Name string          `json:"name"`
	Old  json.RawMessage `json:"old"`
	New  json.RawMessage `json:"new"`
}

// IndexParams: array.get, list.get, list.pop (index defaults to -1),
// list.delete (index, or start/stop/step for a slice).
type IndexParams struct {
	Name  string `json:"name"`
	Index *int   `json:"index,omitempty"`
}

// IndexValueParams: array.set.
type IndexValueParams struct {
	Name  string          `json:"name"`
	Index *int            `json:"index"`
	Value json.RawMessage `json:"value"`
}

// IndexItemParams: list.set, list.insert.
type IndexItemParams struct {
	Name  string          `json:"name"`
	Index *int            `json:"index"`
	Item  json.RawMessage `json:"item"`
}

// SliceParams: array.slice, list.slice, list.delete. An absent bound is
// Python's omitted one; step defaults to 1 (arrays take no step).
type SliceParams struct {
	Name  string `json:"name"`
	Index *int   `json:"index,omitempty"`
	Start *int   `json:"start,omitempty"`
	Stop  *int   `json:"stop,omitempty"`
	Step  *int   `json:"step,omitempty"`
}

// SetSliceParams: array.set_slice.
type SetSliceParams struct {
	Name   string          `json:"name"`
	Start  *int            `json:"start,omitempty"`
	Stop   *int            `json:"stop,omitempty"`
	Values json.RawMessage `json:"values"`
}

// KeyParams: dict.get, dict.delete, dict.contains, dict.pop,
// dict.setdefault. Default applies to get, pop and setdefault only.
type KeyParams struct {
	Name    string          `json:"name"`
	Key     json.RawMessage `json:"key"`
	Default json.RawMessage `json:"default,omitempty"`
}

// KeyValueParams: dict.set.
type KeyValueParams struct {
	Name  string          `json:"name"`
	Key   json.RawMessage `json:"key"`
	Value json.RawMessage `json:"value"`
}

// DictUpdateParams: dict.update, pairs as [[key, value], …] (so that keys
// keep their JSON types), or an object of string keys.
type DictUpdateParams struct {
	Name  string          `json:"name"`
	Pairs json.RawMessage `json:"pairs"`
}

// ItemParams: list.append, list.remove, list.count.
type ItemParams struct {
	Name string          `json:"name"`
	Item json.RawMessage `json:"item"`
}

// ListExtendParams: list.extend.
type ListExtendParams struct {
	Name  string            `json:"name"`
	Items []json.RawMessage `json:"items"`
}

// ListIndexParams: list.index.
type ListIndexParams struct {
	Name  string          `json:"name"`
	Item  json.RawMessage `json:"item"`
	Start *int            `json:"start,omitempty"`
	Stop  *int            `json:"stop,omitempty"`
}

// ListSortParams: list.sort.
type ListSortParams struct {
	Name    string `json:"name"`
	Reverse bool   `json:"reverse,omitempty"`
}

// AttrParams: namespace.get, namespace.delete.
type AttrParams struct {
	Name string `json:"name"`
	Attr string `json:"attr"`
}

// AttrValueParams: namespace.set.
type AttrValueParams struct {
	Name  string          `json:"name"`
	Attr  string          `json:"attr"`
	Value json.RawMessage `json:"value"`
}

// PipeEndParams: pipe.close.
type PipeEndParams struct {
	Name string `json:"name"`
	End  *int   `json:"end"`
}

// PipeSendParams: pipe.send.
type PipeSendParams struct {
	Name string          `json:"name"`
	End  *int            `json:"end"`
	Msg  json.RawMessage `json:"msg"`
}

// PipeRecvParams: pipe.recv.
type PipeRecvParams struct {
	Name string `json:"name"`
	End  *int   `json:"end"`
	ObjectWait
}

// ObjectErrorData is the data of shared-object errors: Type is the Python
// exception a shim raises (value_error: "ValueError", "KeyError",
// "IndexError", "TypeError", "OverflowError", "AttributeError").
type ObjectErrorData struct {
	Type   string `json:"type,omitempty"`
	Object string `json:"object,omitempty"`
	Kind   string `json:"kind,omitempty"`
}

// NameParams: object.delete, and every operation that takes only the
// object's name.
type NameParams struct {
	Name string `json:"name"`
}

// PipePollParams: pipe.poll. Without a timeout it answers at once, as
// Python's poll(); block true without a timeout waits without limit, as
// poll(None).
type PipePollParams struct {
	Name string `json:"name"`
	End  *int   `json:"end"`
	ObjectWait
}
