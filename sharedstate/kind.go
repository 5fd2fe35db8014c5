package sharedstate

import (
	"bytes"
	"time"

	json "github.com/segmentio/encoding/json"
)

// Kind is the kind of a shared object, as named on the wire, in TOML
// ([queue.jobs]) and in `corral status`.
type Kind string

// The kinds of shared objects.
const (
	KindQueue            Kind = "queue"
	KindJoinableQueue    Kind = "joinablequeue"
	KindSimpleQueue      Kind = "simplequeue"
	KindLock             Kind = "lock"
	KindRLock            Kind = "rlock"
	KindSemaphore        Kind = "semaphore"
	KindBoundedSemaphore Kind = "boundedsemaphore"
	KindEvent            Kind = "event"
	KindCondition        Kind = "condition"
	KindBarrier          Kind = "barrier"
	KindValue            Kind = "value"
	KindArray            Kind = "array"
	KindDict             Kind = "dict"
	KindList             Kind = "list"
	KindNamespace        Kind = "namespace"
	KindPipe             Kind = "pipe"
)

// Kinds lists every kind, for help texts and config validation.
var Kinds = []Kind{KindQueue, KindJoinableQueue, KindSimpleQueue, KindLock, KindRLock,
	KindSemaphore, KindBoundedSemaphore, KindEvent, KindCondition, KindBarrier,
	KindValue, KindArray, KindDict, KindList, KindNamespace, KindPipe}

// family is the kind whose operations a kind supports: a JoinableQueue is
// used with queue operations, an RLock with lock operations, and so on.
func (k Kind) family() Kind {
	switch k {
	case KindJoinableQueue, KindSimpleQueue:
		return KindQueue
	case KindRLock:
		return KindLock
	case KindBoundedSemaphore:
		return KindSemaphore
	}
	return k
}

// valid reports whether k is a known kind.
func (k Kind) valid() bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// Params are an object's creation parameters. Each kind reads only its own
// fields and rejects the others when set, so a misplaced parameter in a
// config file is an error rather than silently ignored. Zero values are
// Python's defaults, except where a pointer marks "unset".
type Params struct {
	// Maxsize bounds a queue or joinablequeue; 0 is unbounded.
	Maxsize int `json:"maxsize,omitempty" toml:"maxsize"`
	// Value is a semaphore's initial value; nil is Python's default, 1.
	Value *int `json:"value,omitempty" toml:"value"`
	// Parties is the number of parties of a barrier (required).
	Parties int `json:"parties,omitempty" toml:"parties"`
	// Timeout is a barrier's default wait timeout; 0 is none.
	Timeout time.Duration `json:"timeout,omitempty" toml:"timeout"`
	// Typecode is a value's or array's element type (required).
	Typecode string `json:"typecode,omitempty" toml:"typecode"`
	// Initial is a value's initial number (nil: zero), an array's
	// initializer (a JSON array), a dict's initial entries (a JSON object)
	// or a list's initial items (a JSON array).
	Initial json.RawMessage `json:"initial,omitempty" toml:"initial"`
	// Size is an array's length when it has no Initial.
	Size int `json:"size,omitempty" toml:"size"`
	// Lock names the Lock or RLock a condition is bound to; "" gives the
	// condition its own RLock, as multiprocessing.Condition().
	Lock string `json:"lock,omitempty" toml:"lock"`
	// Simplex makes a one-way pipe, as Pipe(duplex=False).
	Simplex bool `json:"simplex,omitempty" toml:"simplex"`
}

// set lists which fields are set, by their wire names.
func (p Params) set() []string {
	var s []string
	add := func(ok bool, name string) {
		if ok {
			s = append(s, name)
		}
	}
	add(p.Maxsize != 0, "maxsize")
	add(p.Value != nil, "value")
	add(p.Parties != 0, "parties")
	add(p.Timeout != 0, "timeout")
	add(p.Typecode != "", "typecode")
	add(p.Initial != nil, "initial")
	add(p.Size != 0, "size")
	add(p.Lock != "", "lock")
	add(p.Simplex, "simplex")
	return s
}

// paramsOf lists the fields each kind takes.
var paramsOf = map[Kind][]string{
	KindQueue:            {"maxsize"},
	KindJoinableQueue:    {"maxsize"},
	KindSemaphore:        {"value"},
	KindBoundedSemaphore: {"value"},
	KindBarrier:          {"parties", "timeout"},
	KindValue:            {"typecode", "initial"},
	KindArray:            {"typecode", "initial", "size"},
	KindDict:             {"initial"},
	KindList:             {"initial"},
	KindCondition:        {"lock"},
	KindPipe:             {"simplex"},
}

// check rejects fields the kind does not take and values out of range.
func (p Params) check(k Kind) error {
	allowed := paramsOf[k]
next:
	for _, f := range p.set() {
		for _, a := range allowed {
			if a == f {
				continue next
			}
		}
		return errorf(ErrValue, "a %s takes no %s", k, f)
	}
	switch {
	case p.Maxsize < 0:
		return errorf(ErrValue, "maxsize must be >= 0, got %d", p.Maxsize)
	case p.Value != nil && *p.Value < 0:
		return errorf(ErrValue, "semaphore initial value must be >= 0, got %d", *p.Value)
	case k == KindBarrier && p.Parties < 1:
		return errorf(ErrValue, "a barrier needs parties >= 1, got %d", p.Parties)
	case p.Timeout < 0:
		return errorf(ErrValue, "timeout must be non-negative, got %v", p.Timeout)
	case (k == KindValue || k == KindArray) && p.Typecode == "":
		return errorf(ErrValue, "a %s needs a typecode", k)
	case p.Size < 0:
		return errorf(ErrValue, "array size must be >= 0, got %d", p.Size)
	case k == KindArray && p.Size != 0 && p.Initial != nil:
		return errorf(ErrValue, "an array takes size or initial, not both")
	}
	return nil
}

// equal compares normalised parameters; Initial by canonical encoding, so
// that whitespace or key order do not make a conflict.
func (p Params) equal(q Params) bool {
	if p.Maxsize != q.Maxsize || p.Parties != q.Parties || p.Timeout != q.Timeout ||
		p.Typecode != q.Typecode || p.Size != q.Size || p.Lock != q.Lock || p.Simplex != q.Simplex {
		return false
	}
	if (p.Value == nil) != (q.Value == nil) || (p.Value != nil && *p.Value != *q.Value) {
		return false
	}
	if p.Initial == nil || q.Initial == nil {
		return p.Initial == nil && q.Initial == nil
	}
	if bytes.Equal(p.Initial, q.Initial) {
		return true
	}
	cp, err1 := canonicalValue(p.Initial)
	cq, err2 := canonicalValue(q.Initial)
	return err1 == nil && err2 == nil && cp == cq
}
