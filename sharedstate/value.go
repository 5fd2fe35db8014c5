package sharedstate

import (
	"sync"

	json "github.com/segmentio/encoding/json"
)

// Value is one typed number or character, as multiprocessing.Value. Get and
// Set are atomic, and so are Add and CompareAndSwap, which spare clients the
// lock-read-modify-write dance that Manager values need. GetLock returns the
// value's own RLock, as Value.get_lock(), for clients that want to group
// several operations.
type Value interface {
	Object
	// Typecode is the element type.
	Typecode() Typecode
	// Get returns the value as JSON.
	Get() json.RawMessage
	// Set stores v: ErrType for the wrong JSON type, ErrRange for a number
	// the typecode cannot hold; the value is unchanged on error.
	Set(v json.RawMessage) error
	// Add adds delta atomically and returns the new value; ErrRange when
	// the result would overflow, the value unchanged.
	Add(delta json.RawMessage) (json.RawMessage, error)
	// CompareAndSwap stores new if the value equals old, and reports
	// whether it did.
	CompareAndSwap(old, new json.RawMessage) (bool, error)
	// GetLock is the lock associated with the value.
	GetLock() Lock
}

// memValue implements Value in memory.
type memValue struct {
	base
	typecode Typecode
	lock     *memLock

	mu sync.Mutex
	v  slot
}

func newValue(b base, t Typecode, initial slot, lock *memLock) *memValue {
	return &memValue{base: b, typecode: t, v: initial, lock: lock}
}

// Typecode implements Value.
func (v *memValue) Typecode() Typecode { return v.typecode }

// GetLock implements Value.
func (v *memValue) GetLock() Lock { return v.lock }

// Get implements Value.
func (v *memValue) Get() json.RawMessage {
	v.mu.Lock()
	s := v.v
	v.mu.Unlock()
	return v.typecode.format(s)
}

// Set implements Value.
func (v *memValue) Set(x json.RawMessage) error {
	s, err := v.typecode.parse(x)
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.v = s
	v.mu.Unlock()
	return nil
}

// Add implements Value.
func (v *memValue) Add(delta json.RawMessage) (json.RawMessage, error) {
	v.mu.Lock()
	s, err := v.typecode.add(v.v, delta)
	if err == nil {
		v.v = s
	}
	v.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return v.typecode.format(s), nil
}

// CompareAndSwap implements Value.
func (v *memValue) CompareAndSwap(old, new json.RawMessage) (bool, error) {
	o, err := v.typecode.parse(old)
	if err != nil {
		return false, err
	}
	n, err := v.typecode.parse(new)
	if err != nil {
		return false, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.typecode.equal(v.v, o) {
		return false, nil
	}
	v.v = n
	return true, nil
}

// Status implements Object.
func (v *memValue) Status() Status {
	s := v.lock.Status()
	return Status{Kind: v.kind, Name: v.name, Holders: s.Holders, Waiters: s.Waiters,
		Detail: "'" + v.typecode.String() + "' = " + string(v.Get())}
}

func (v *memValue) releaseOwner(o Owner) []string { return v.lock.releaseOwner(o) }

func (v *memValue) shutdown() { v.lock.shutdown() }
