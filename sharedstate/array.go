package sharedstate

import (
	"sync"

	"github.com/corralhq/corral/internal/jsonx"
	json "github.com/segmentio/encoding/json"
)

// Array is a fixed-length array of one typecode, as multiprocessing.Array.
// Indexes follow Python: negative ones count from the end, and out of range
// is ErrIndex. Slices clamp their bounds, as Python's; assigning to a slice
// needs exactly as many values as the slice has elements (ErrValue
// otherwise, as ctypes arrays), and all of them are checked before any is
// stored. Slices of a 'c' array are JSON arrays of one-character strings,
// not a bytes string.
type Array interface {
	Object
	// Typecode is the element type.
	Typecode() Typecode
	// Len is the fixed length.
	Len() int
	// Get returns element i.
	Get(i int) (json.RawMessage, error)
	// Set stores v at i; the array is unchanged on error.
	Set(i int, v json.RawMessage) error
	// Slice returns a[lo:hi] as a JSON array (Omit for an omitted bound).
	Slice(lo, hi int) json.RawMessage
	// SetSlice assigns a[lo:hi] = values, a JSON array of the same length.
	SetSlice(lo, hi int, values json.RawMessage) error
	// GetLock is the lock associated with the array.
	GetLock() Lock
}

// memArray implements Array in memory.
type memArray struct {
	base
	typecode Typecode
	lock     *memLock

	mu sync.Mutex
	a  []slot
}

func newArray(b base, t Typecode, a []slot, lock *memLock) *memArray {
	return &memArray{base: b, typecode: t, a: a, lock: lock}
}

// parseSlots checks a JSON array of values of typecode t.
func parseSlots(t Typecode, values json.RawMessage) ([]slot, error) {
	runs, n, err := jsonx.Chunks(values, 1)
	if err != nil || !validJSON(values) {
		return nil, errorf(ErrType, "a JSON array of values is needed")
	}
	out := make([]slot, 0, n)
	for _, r := range runs {
		s, err := t.parse(r)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Typecode implements Array.
func (a *memArray) Typecode() Typecode { return a.typecode }

// GetLock implements Array.
func (a *memArray) GetLock() Lock { return a.lock }

// Len implements Array.
func (a *memArray) Len() int { return len(a.a) } // fixed at creation

// Get implements Array.
func (a *memArray) Get(i int) (json.RawMessage, error) {
	j, err := index(i, len(a.a), "array")
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	s := a.a[j]
	a.mu.Unlock()
	return a.typecode.format(s), nil
}

// Set implements Array.
func (a *memArray) Set(i int, v json.RawMessage) error {
	j, err := index(i, len(a.a), "array assignment")
	if err != nil {
		return err
	}
	s, err := a.typecode.parse(v)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.a[j] = s
	a.mu.Unlock()
	return nil
}

// Slice implements Array.
func (a *memArray) Slice(lo, hi int) json.RawMessage {
	start, n, _ := sliceIndices(lo, hi, 1, len(a.a))
	out := []byte{'['}
	a.mu.Lock()
	for k := 0; k < n; k++ {
		if k > 0 {
			out = append(out, ',')
		}
		out = append(out, a.typecode.format(a.a[start+k])...)
	}
	a.mu.Unlock()
	return append(out, ']')
}

// SetSlice implements Array.
func (a *memArray) SetSlice(lo, hi int, values json.RawMessage) error {
	start, n, _ := sliceIndices(lo, hi, 1, len(a.a))
	vs, err := parseSlots(a.typecode, values)
	if err != nil {
		return err
	}
	if len(vs) != n {
		return errorf(ErrValue, "can only assign sequence of same size (slice has %d, got %d)", n, len(vs))
	}
	a.mu.Lock()
	copy(a.a[start:start+n], vs)
	a.mu.Unlock()
	return nil
}

// Status implements Object.
func (a *memArray) Status() Status {
	s := a.lock.Status()
	return Status{Kind: a.kind, Name: a.name, Depth: len(a.a), Holders: s.Holders,
		Waiters: s.Waiters, Detail: "'" + a.typecode.String() + "'"}
}

func (a *memArray) releaseOwner(o Owner) []string { return a.lock.releaseOwner(o) }

func (a *memArray) shutdown() { a.lock.shutdown() }
