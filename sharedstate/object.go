package sharedstate

import (
	"fmt"
	json "github.com/segmentio/encoding/json"
)

// Object is what every shared object has: the kind it was created as, its
// name in the store, and a status summary.
type Object interface {
	Kind() Kind
	Name() string
	// Status summarises the object for `corral status`.
	Status() Status
}

// Status is one line of `corral status`: what an object holds and who waits
// on it. Fields that do not apply to the kind are zero.
type Status struct {
	Kind Kind   `json:"kind"`
	Name string `json:"name"`
	// Depth is the number of items held: queue items, buffered pipe
	// messages, dict or list entries, namespace attributes, array length.
	Depth int `json:"depth,omitempty"`
	// Holders names who holds a lock or semaphore permits, e.g. "w-3" or
	// "w-3 x2" for a recursion level or permit count above one.
	Holders []string `json:"holders,omitempty"`
	// Waiters counts parked waits of every sort on the object.
	Waiters int `json:"waiters,omitempty"`
	// Detail is a short kind-specific note: "set", "broken", "value=3".
	Detail string `json:"detail,omitempty"`
}

// base carries what every memory object shares.
type base struct {
	kind   Kind
	name   string
	limits *limits
}

// Kind returns the kind the object was created as.
func (b *base) Kind() Kind { return b.kind }

// Name returns the object's name in its store.
func (b *base) Name() string { return b.name }

// label is how the object names itself in errors and logs: "queue jobs".
func (b *base) label() string { return fmt.Sprintf("%s %s", b.kind, b.name) }

// limits are the store-wide bounds objects enforce on what they are given.
type limits struct {
	// maxItem is the largest item, in bytes of JSON, an object accepts;
	// 0 means no limit.
	maxItem int
}

// checkItem rejects an item that is over the size limit or not valid JSON.
// Items cross the API as json.RawMessage and are stored as given (not
// copied), so one bad item would otherwise poison every later reader.
func (b *base) checkItem(item json.RawMessage) error {
	if b.limits != nil && b.limits.maxItem > 0 && len(item) > b.limits.maxItem {
		return errorf(ErrTooLarge, "%s: item of %d bytes is over the limit of %d", b.label(), len(item), b.limits.maxItem)
	}
	if !validJSON(item) {
		return errorf(ErrType, "%s: item is not valid JSON", b.label())
	}
	return nil
}

// ownerReleaser is implemented by objects that hold things for owners or
// park their waits; Store.ReleaseAll calls it when an owner goes away. It
// returns one description per thing released, for the log.
type ownerReleaser interface {
	releaseOwner(o Owner) []string
}

// shutdowner is implemented by objects that park waits; Store.Close calls it
// to fail every parked wait with ErrClosed, so that every request gets an
// answer and every timer ends.
type shutdowner interface {
	shutdown()
}

// releasedWaits describes n cancelled waits for the log, or nothing.
func releasedWaits(n int, what string, b *base, o Owner) []string {
	if n == 0 {
		return nil
	}
	return []string{fmt.Sprintf("cancelled %d parked %s on %s for %s", n, what, b.label(), o)}
}
