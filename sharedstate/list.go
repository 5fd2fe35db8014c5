package sharedstate

import (
	"math/big"
	"sort"
	"sync"

	json "github.com/segmentio/encoding/json"
)

// List is a list of JSON values, as a Manager().list(). Indexes follow
// Python: negative ones count from the end; Insert clamps its index, Get,
// Set, Pop and Delete fail out of range with ErrIndex. Equality (Remove,
// Index, Count) is by canonical encoding, so 1 equals 1.0 and objects equal
// regardless of key order. Sort orders a list of all numbers or all
// strings; mixing types, or sorting other types, is ErrType, as Python 3's
// "'<' not supported".
type List interface {
	Object
	// Append adds v at the end.
	Append(v json.RawMessage) error
	// Extend appends every value; nothing is added if any is invalid.
	Extend(vs []json.RawMessage) error
	// Insert puts v before index i, clamped to the list.
	Insert(i int, v json.RawMessage) error
	// Pop removes and returns item i (Python's default is -1).
	Pop(i int) (json.RawMessage, error)
	// Remove deletes the first item equal to v; ErrValue when none is.
	Remove(v json.RawMessage) error
	// Index finds the first item equal to v in [start:stop] (Omit for an
	// omitted bound); ErrValue when none is.
	Index(v json.RawMessage, start, stop int) (int, error)
	// Count counts the items equal to v.
	Count(v json.RawMessage) (int, error)
	// Reverse reverses the list in place.
	Reverse()
	// Sort sorts in place, stably, ascending or (reverse) descending.
	Sort(reverse bool) error
	// Len is len(l).
	Len() int
	// Get returns item i.
	Get(i int) (json.RawMessage, error)
	// Set replaces item i.
	Set(i int, v json.RawMessage) error
	// Slice returns l[lo:hi:step] (Omit for omitted bounds; step 0 is
	// ErrValue).
	Slice(lo, hi, step int) ([]json.RawMessage, error)
	// Delete removes item i.
	Delete(i int) error
	// DeleteSlice is del l[lo:hi:step].
	DeleteSlice(lo, hi, step int) error
}

// listItem is a value and, once it has been compared, its canonical form.
type listItem struct {
	raw   json.RawMessage
	canon string
}

// memList implements List in memory.
type memList struct {
	base
	mu    sync.Mutex
	items []listItem
}

func newList(b base) *memList { return &memList{base: b} }

// Append implements List.
func (l *memList) Append(v json.RawMessage) error { return l.Extend([]json.RawMessage{v}) }

// Extend implements List.
func (l *memList) Extend(vs []json.RawMessage) error {
	for _, v := range vs {
		if err := l.checkItem(v); err != nil {
			return err
		}
	}
	l.mu.Lock()
	for _, v := range vs {
		l.items = append(l.items, listItem{raw: v})
	}
	l.mu.Unlock()
	return nil
}

// Insert implements List.
func (l *memList) Insert(i int, v json.RawMessage) error {
	if err := l.checkItem(v); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.items)
	if i < 0 {
		i = max(i+n, 0)
	}
	i = min(i, n)
	l.items = append(l.items, listItem{})
	copy(l.items[i+1:], l.items[i:])
	l.items[i] = listItem{raw: v}
	return nil
}

// Pop implements List.
func (l *memList) Pop(i int) (json.RawMessage, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.items) == 0 {
		return nil, errorf(ErrIndex, "pop from empty list")
	}
	j, err := index(i, len(l.items), "pop")
	if err != nil {
		return nil, err
	}
	v := l.items[j].raw
	l.cut(j)
	return v, nil
}

// find returns the position of the first item equal to v in [start, stop)
// and the count of all equal items there; l.mu is held.
func (l *memList) find(v json.RawMessage, start, stop int, all bool) (first, count int, err error) {
	c, err := canonicalValue(v)
	if err != nil {
		return 0, 0, err
	}
	first = -1
	for i := start; i < stop; i++ {
		it := &l.items[i]
		if it.canon == "" {
			if it.canon, err = canonicalValue(it.raw); err != nil {
				return 0, 0, err
			}
		}
		if it.canon == c {
			if first < 0 {
				first = i
			}
			count++
			if !all {
				break
			}
		}
	}
	return first, count, nil
}

// Remove implements List.
func (l *memList) Remove(v json.RawMessage) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, _, err := l.find(v, 0, len(l.items), false)
	if err != nil {
		return err
	}
	if i < 0 {
		return errorf(ErrValue, "list.remove(x): %.80s not in list", v)
	}
	l.cut(i)
	return nil
}

// Index implements List.
func (l *memList) Index(v json.RawMessage, start, stop int) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lo, n, _ := sliceIndices(start, stop, 1, len(l.items))
	i, _, err := l.find(v, lo, lo+n, false)
	if err != nil {
		return 0, err
	}
	if i < 0 {
		return 0, errorf(ErrValue, "%.80s is not in list", v)
	}
	return i, nil
}

// Count implements List.
func (l *memList) Count(v json.RawMessage) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, n, err := l.find(v, 0, len(l.items), true)
	return n, err
}

// cut removes item i, clearing the freed slot so its value can be
// collected; l.mu is held.
func (l *memList) cut(i int) {
	copy(l.items[i:], l.items[i+1:])
	l.items[len(l.items)-1] = listItem{}
	l.items = l.items[:len(l.items)-1]
}

// Reverse implements List.
func (l *memList) Reverse() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, j := 0, len(l.items)-1; i < j; i, j = i+1, j-1 {
		l.items[i], l.items[j] = l.items[j], l.items[i]
	}
}

// Sort implements List.
func (l *memList) Sort(reverse bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.items) < 2 {
		return nil // Python compares nothing, so any type sorts
	}
	type key struct {
		num *big.Float
		str string
	}
	keys := make([]key, len(l.items))
	var kind byte
	for i, it := range l.items {
		v, err := decode(it.raw)
		if err != nil {
			return err
		}
		var k byte
		switch x := v.(type) {
		case json.Number:
			k = 'n'
			if keys[i].num, err = bigNumber(x); err != nil {
				return err
			}
		case string:
			k = 's'
			keys[i].str = x
		default:
			return errorf(ErrType, "'<' not supported for %s values", jsonType(v))
		}
		if kind != 0 && k != kind {
			return errorf(ErrType, "'<' not supported between numbers and strings")
		}
		kind = k
	}
	less := func(a, b key) bool {
		if kind == 'n' {
			return a.num.Cmp(b.num) < 0
		}
		return a.str < b.str
	}
	perm := make([]int, len(keys))
	for i := range perm {
		perm[i] = i
	}
	// Reverse keeps equal items in their original order, as Python's
	// sort(reverse=True) does, hence comparing swapped rather than
	// reversing the result.
	sort.SliceStable(perm, func(i, j int) bool {
		if reverse {
			return less(keys[perm[j]], keys[perm[i]])
		}
		return less(keys[perm[i]], keys[perm[j]])
	})
	sorted := make([]listItem, len(l.items))
	for i, p := range perm {
		sorted[i] = l.items[p]
	}
	l.items = sorted
	return nil
}

// jsonType names the JSON type of a decoded value for messages.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "other"
}

// Len implements List.
func (l *memList) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items)
}

// Get implements List.
func (l *memList) Get(i int) (json.RawMessage, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	j, err := index(i, len(l.items), "list")
	if err != nil {
		return nil, err
	}
	return l.items[j].raw, nil
}

// Set implements List.
func (l *memList) Set(i int, v json.RawMessage) error {
	if err := l.checkItem(v); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	j, err := index(i, len(l.items), "list assignment")
	if err != nil {
		return err
	}
	l.items[j] = listItem{raw: v}
	return nil
}

// Slice implements List.
func (l *memList) Slice(lo, hi, step int) ([]json.RawMessage, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start, n, err := sliceIndices(lo, hi, step, len(l.items))
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, n)
	for k := range out {
		out[k] = l.items[start+k*step].raw
	}
	return out, nil
}

// Delete implements List.
func (l *memList) Delete(i int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	j, err := index(i, len(l.items), "list assignment")
	if err != nil {
		return err
	}
	l.cut(j)
	return nil
}

// DeleteSlice implements List.
func (l *memList) DeleteSlice(lo, hi, step int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	start, n, err := sliceIndices(lo, hi, step, len(l.items))
	if err != nil || n == 0 {
		return err
	}
	drop := make(map[int]bool, n)
	for k := 0; k < n; k++ {
		drop[start+k*step] = true
	}
	kept := l.items[:0]
	for i, it := range l.items {
		if !drop[i] {
			kept = append(kept, it)
		}
	}
	clear(l.items[len(kept):])
	l.items = kept
	return nil
}

// Status implements Object.
func (l *memList) Status() Status {
	return Status{Kind: l.kind, Name: l.name, Depth: l.Len()}
}
