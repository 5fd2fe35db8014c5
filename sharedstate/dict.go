package sharedstate

import (
	"sync"

	json "github.com/segmentio/encoding/json"
)

// Pair is one dict entry.
type Pair struct {
	Key   json.RawMessage `json:"key"`
	Value json.RawMessage `json:"value"`
}

// Dict is an insertion-ordered map, as a Manager().dict().
//
// Keys are JSON scalars or arrays (arrays stand for Python's tuples),
// compared by canonical encoding: numbers equal in value are one key (1,
// 1.0 and 1e0, as in Python), but types stay apart (1 and "1" differ, and
// so, unlike Python, do true and 1). A key keeps the spelling it was first
// stored with, as Python keeps the first key object. A JSON object as a key
// is ErrType (unhashable). Values are opaque JSON.
type Dict interface {
	Object
	// Lookup is d[key]: ErrKey when missing.
	Lookup(key json.RawMessage) (json.RawMessage, error)
	// Get is d.get(key, def): def (or null when def is nil) when missing.
	Get(key, def json.RawMessage) (json.RawMessage, error)
	// Set is d[key] = val.
	Set(key, val json.RawMessage) error
	// Delete is del d[key]: ErrKey when missing.
	Delete(key json.RawMessage) error
	// Contains is key in d.
	Contains(key json.RawMessage) (bool, error)
	// Len is len(d).
	Len() int
	// Keys lists the keys in insertion order.
	Keys() []json.RawMessage
	// Values lists the values in insertion order.
	Values() []json.RawMessage
	// Items lists the entries in insertion order.
	Items() []Pair
	// Update sets every pair, in order; nothing is set if any is invalid.
	Update(pairs []Pair) error
	// Pop removes key and returns its value; when missing, def, or ErrKey
	// when def is nil.
	Pop(key, def json.RawMessage) (json.RawMessage, error)
	// Popitem removes and returns the last inserted entry (LIFO, as
	// Python 3.7+); ErrKey when empty.
	Popitem() (Pair, error)
	// Setdefault returns d[key], storing def (null when nil) first if
	// missing.
	Setdefault(key, def json.RawMessage) (json.RawMessage, error)
	// Clear removes every entry.
	Clear()
	// Copy is a snapshot of the entries, as dict.copy() hands the client
	// a plain dict.
	Copy() []Pair
}

var jsonNull = json.RawMessage("null")

type dictEntry struct {
	key, val json.RawMessage
	ckey     string
	live     bool
}

// memDict implements Dict in memory: entries in insertion order, with
// deleted ones left as holes until they are half the slice.
type memDict struct {
	base
	mu      sync.Mutex
	entries []dictEntry
	index   map[string]int // canonical key → position in entries
}

func newDict(b base) *memDict { return &memDict{base: b, index: map[string]int{}} }

func keyError(key json.RawMessage) error {
	return errorf(ErrKey, "KeyError: %.80s", key)
}

// keyOf checks and canonicalises a key.
func (d *memDict) keyOf(key json.RawMessage) (string, error) {
	if err := d.checkItem(key); err != nil {
		return "", err
	}
	return canonicalKey(key)
}

// Lookup implements Dict.
func (d *memDict) Lookup(key json.RawMessage) (json.RawMessage, error) {
	ck, err := d.keyOf(key)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	i, ok := d.index[ck]
	if !ok {
		return nil, keyError(key)
	}
	return d.entries[i].val, nil
}

// Get implements Dict.
func (d *memDict) Get(key, def json.RawMessage) (json.RawMessage, error) {
	v, err := d.Lookup(key)
	if err == nil || !isKeyError(err) {
		return v, err
	}
	if def == nil {
		return jsonNull, nil
	}
	return def, nil
}

func isKeyError(err error) bool { return err != nil && errorIs(err, ErrKey) }

// Set implements Dict.
func (d *memDict) Set(key, val json.RawMessage) error {
	return d.Update([]Pair{{key, val}})
}

// set stores one checked entry; d.mu is held.
func (d *memDict) set(ck string, key, val json.RawMessage) {
	if i, ok := d.index[ck]; ok {
		d.entries[i].val = val
		return
	}
	d.index[ck] = len(d.entries)
	d.entries = append(d.entries, dictEntry{key: key, val: val, ckey: ck, live: true})
}

// Update implements Dict.
func (d *memDict) Update(pairs []Pair) error {
	cks := make([]string, len(pairs))
	for i, p := range pairs {
		ck, err := d.keyOf(p.Key)
		if err != nil {
			return err
		}
		if err := d.checkItem(p.Value); err != nil {
			return err
		}
		cks[i] = ck
	}
	d.mu.Lock()
	for i, p := range pairs {
		d.set(cks[i], p.Key, p.Value)
	}
	d.mu.Unlock()
	return nil
}

// remove deletes the entry at i; d.mu is held.
func (d *memDict) remove(i int) dictEntry {
	e := d.entries[i]
	delete(d.index, e.ckey)
	d.entries[i] = dictEntry{}
	if i == len(d.entries)-1 {
		d.entries = d.entries[:i]
		// Trailing holes are dropped so Popitem finds the last entry fast.
		for len(d.entries) > 0 && !d.entries[len(d.entries)-1].live {
			d.entries = d.entries[:len(d.entries)-1]
		}
	} else if len(d.index) < len(d.entries)/2 {
		d.compact()
	}
	return e
}

// compact squeezes the holes out; d.mu is held.
func (d *memDict) compact() {
	n := 0
	for _, e := range d.entries {
		if e.live {
			d.entries[n] = e
			d.index[e.ckey] = n
			n++
		}
	}
	clear(d.entries[n:])
	d.entries = d.entries[:n]
}

// Delete implements Dict.
func (d *memDict) Delete(key json.RawMessage) error {
	_, err := d.Pop(key, nil)
	return err
}

// Contains implements Dict.
func (d *memDict) Contains(key json.RawMessage) (bool, error) {
	_, err := d.Lookup(key)
	if isKeyError(err) {
		return false, nil
	}
	return err == nil, err
}

// Len implements Dict.
func (d *memDict) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.index)
}

// Keys implements Dict.
func (d *memDict) Keys() []json.RawMessage {
	items := d.Items()
	out := make([]json.RawMessage, len(items))
	for i, p := range items {
		out[i] = p.Key
	}
	return out
}

// Values implements Dict.
func (d *memDict) Values() []json.RawMessage {
	items := d.Items()
	out := make([]json.RawMessage, len(items))
	for i, p := range items {
		out[i] = p.Value
	}
	return out
}

// Items implements Dict.
func (d *memDict) Items() []Pair {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Pair, 0, len(d.index))
	for _, e := range d.entries {
		if e.live {
			out = append(out, Pair{e.key, e.val})
		}
	}
	return out
}

// Copy implements Dict.
func (d *memDict) Copy() []Pair { return d.Items() }

// Pop implements Dict.
func (d *memDict) Pop(key, def json.RawMessage) (json.RawMessage, error) {
	ck, err := d.keyOf(key)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	i, ok := d.index[ck]
	if !ok {
		if def == nil {
			return nil, keyError(key)
		}
		return def, nil
	}
	return d.remove(i).val, nil
}

// Popitem implements Dict.
func (d *memDict) Popitem() (Pair, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.entries) == 0 {
		return Pair{}, errorf(ErrKey, "popitem(): dictionary is empty")
	}
	e := d.remove(len(d.entries) - 1)
	return Pair{e.key, e.val}, nil
}

// Setdefault implements Dict.
func (d *memDict) Setdefault(key, def json.RawMessage) (json.RawMessage, error) {
	if def == nil {
		def = jsonNull
	}
	ck, err := d.keyOf(key)
	if err != nil {
		return nil, err
	}
	if err := d.checkItem(def); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if i, ok := d.index[ck]; ok {
		return d.entries[i].val, nil
	}
	d.set(ck, key, def)
	return def, nil
}

// Clear implements Dict.
func (d *memDict) Clear() {
	d.mu.Lock()
	d.entries, d.index = nil, map[string]int{}
	d.mu.Unlock()
}

// Status implements Object.
func (d *memDict) Status() Status {
	return Status{Kind: d.kind, Name: d.name, Depth: d.Len()}
}
