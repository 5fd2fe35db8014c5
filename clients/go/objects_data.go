package corral

import (
	"context"
	"fmt"

	json "github.com/segmentio/encoding/json"
)

// rawParams builds an operation's params, marshalling each value that is
// not already JSON; op names the method in the error.
func (o *Object) rawParams(op string, kv ...any) (map[string]any, error) {
	p := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		raw, err := rawJSON(kv[i+1])
		if err != nil {
			return nil, fmt.Errorf("%s.%s %s: %s: %w", o.family, op, o.name, kv[i], err)
		}
		p[kv[i].(string)] = raw
	}
	return p, nil
}

// callRaw runs op with params made by rawParams and decodes result member
// (or nothing when member is "") into out.
func (o *Object) callRaw(ctx context.Context, op, member string, out any, kv ...any) error {
	p, err := o.rawParams(op, kv...)
	if err != nil {
		return err
	}
	if member == "" {
		return o.Call(ctx, op, p, nil)
	}
	var r map[string]json.RawMessage
	if err := o.Call(ctx, op, p, &r); err != nil {
		return err
	}
	return decodeResult(r[member], out)
}

// Queue: the rest of multiprocessing.Queue.

// PutNowait is multiprocessing.Queue.put_nowait: it adds item without
// waiting (ErrFull when a bounded queue has no room).
func (q *Queue) PutNowait(ctx context.Context, item any) error {
	return q.o.callRaw(ctx, "put_nowait", "", nil, "item", item)
}

// GetNowait is multiprocessing.Queue.get_nowait: it takes the oldest item
// into out without waiting (ErrEmpty when there is none).
func (q *Queue) GetNowait(ctx context.Context, out any) error {
	return q.o.callRaw(ctx, "get_nowait", "item", out)
}

// Empty is multiprocessing.Queue.empty.
func (q *Queue) Empty(ctx context.Context) (bool, error) {
	var r struct {
		Empty bool `json:"empty"`
	}
	err := q.o.Call(ctx, "empty", nil, &r)
	return r.Empty, err
}

// Full is multiprocessing.Queue.full.
func (q *Queue) Full(ctx context.Context) (bool, error) {
	var r struct {
		Full bool `json:"full"`
	}
	err := q.o.Call(ctx, "full", nil, &r)
	return r.Full, err
}

// Close is multiprocessing.Queue.close: no more items may be put.
func (q *Queue) Close(ctx context.Context) error { return q.o.Call(ctx, "close", nil, nil) }

// Dict: the rest of Manager().dict().

// Delete is del d[key] (ErrValue, KeyError, when key is missing).
func (d *Dict) Delete(ctx context.Context, key any) error {
	return d.o.callRaw(ctx, "delete", "", nil, "key", key)
}

// Contains is key in d.
func (d *Dict) Contains(ctx context.Context, key any) (bool, error) {
	var ok bool
	err := d.o.callRaw(ctx, "contains", "contains", &ok, "key", key)
	return ok, err
}

// Keys is dict.keys, decoded into out (a pointer to a slice), in
// insertion order.
func (d *Dict) Keys(ctx context.Context, out any) error {
	return d.o.callRaw(ctx, "keys", "keys", out)
}

// Values is dict.values, decoded into out (a pointer to a slice).
func (d *Dict) Values(ctx context.Context, out any) error {
	return d.o.callRaw(ctx, "values", "values", out)
}

// Items is dict.items, decoded into out as [[key, value], ...] (a
// *[][2]any, *[][]json.RawMessage, or a slice of a struct that decodes
// from a two-element array).
func (d *Dict) Items(ctx context.Context, out any) error {
	return d.o.callRaw(ctx, "items", "items", out)
}

// Copy is dict.copy, decoded into out as Items does.
func (d *Dict) Copy(ctx context.Context, out any) error {
	return d.o.callRaw(ctx, "copy", "items", out)
}

// Update is dict.update: pairs is a map of string keys or a slice of
// [key, value] pairs (such as [][2]any), which keep their keys' types.
func (d *Dict) Update(ctx context.Context, pairs any) error {
	return d.o.callRaw(ctx, "update", "", nil, "pairs", pairs)
}

// Pop is dict.pop(key): it removes key and decodes its value into out
// (ErrValue, KeyError, when key is missing).
func (d *Dict) Pop(ctx context.Context, key, out any) error {
	return d.o.callRaw(ctx, "pop", "value", out, "key", key)
}

// PopDefault is dict.pop(key, def): as Pop, but a missing key gives def.
func (d *Dict) PopDefault(ctx context.Context, key, def, out any) error {
	return d.o.callRaw(ctx, "pop", "value", out, "key", key, "default", def)
}

// Popitem is dict.popitem: it removes the last inserted pair, decoding it
// into key and value (ErrValue, KeyError, when the dict is empty).
func (d *Dict) Popitem(ctx context.Context, key, value any) error {
	var r struct {
		Key   json.RawMessage `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	if err := d.o.Call(ctx, "popitem", nil, &r); err != nil {
		return err
	}
	if err := decodeResult(r.Key, key); err != nil {
		return err
	}
	return decodeResult(r.Value, value)
}

// Setdefault is dict.setdefault(key, def): it stores def under key if key
// is missing, and decodes the value under key into out.
func (d *Dict) Setdefault(ctx context.Context, key, def, out any) error {
	return d.o.callRaw(ctx, "setdefault", "value", out, "key", key, "default", def)
}

// Clear is dict.clear.
func (d *Dict) Clear(ctx context.Context) error { return d.o.Call(ctx, "clear", nil, nil) }

// Array is a shared fixed-length typed array (multiprocessing.Array).
// Indexes may be negative, counting from the end, as in Python.
type Array struct{ o *Object }

// Array is multiprocessing.Array: it returns the shared array name. An
// array needs a typecode, so it is not made on demand: create it with
// CreateObject or in the config.
func (c *Client) Array(name string) *Array { return &Array{c.Object("array", name)} }

// Len is len(arr).
func (a *Array) Len(ctx context.Context) (n int, err error) {
	err = a.o.callRaw(ctx, "len", "len", &n)
	return n, err
}

// Get is arr[i], decoded into out (ErrValue, IndexError, out of range).
func (a *Array) Get(ctx context.Context, i int, out any) error {
	return a.o.callRaw(ctx, "get", "value", out, "index", i)
}

// Set is arr[i] = x (ErrValue: IndexError out of range, TypeError or
// OverflowError when x does not fit the typecode).
func (a *Array) Set(ctx context.Context, i int, x any) error {
	return a.o.callRaw(ctx, "set", "", nil, "index", i, "value", x)
}

// Slice is arr[start:stop], decoded into out (a pointer to a slice);
// bounds are clamped as in Python.
func (a *Array) Slice(ctx context.Context, start, stop int, out any) error {
	return a.o.callRaw(ctx, "slice", "values", out, "start", start, "stop", stop)
}

// Values is arr[:], the whole array, decoded into out.
func (a *Array) Values(ctx context.Context, out any) error {
	return a.o.callRaw(ctx, "slice", "values", out)
}

// SetSlice is arr[start:stop] = values, values being a slice of the same
// length as the range (ErrValue otherwise).
func (a *Array) SetSlice(ctx context.Context, start, stop int, values any) error {
	return a.o.callRaw(ctx, "set_slice", "", nil, "start", start, "stop", stop, "values", values)
}

// List is a shared list (Manager().list()). Indexes may be negative,
// counting from the end, as in Python.
type List struct{ o *Object }

// List is Manager().list(): it returns the shared list name.
func (c *Client) List(name string) *List { return &List{c.Object("list", name)} }

// Append is list.append.
func (l *List) Append(ctx context.Context, item any) error {
	return l.o.callRaw(ctx, "append", "", nil, "item", item)
}

// Extend is list.extend: items is a slice, appended in order.
func (l *List) Extend(ctx context.Context, items any) error {
	return l.o.callRaw(ctx, "extend", "", nil, "items", items)
}

// Insert is list.insert(i, item).
func (l *List) Insert(ctx context.Context, i int, item any) error {
	return l.o.callRaw(ctx, "insert", "", nil, "index", i, "item", item)
}

// Pop is list.pop(i): it removes the item at i (-1 for the last, as pop())
// and decodes it into out (ErrValue, IndexError, when out of range).
func (l *List) Pop(ctx context.Context, i int, out any) error {
	return l.o.callRaw(ctx, "pop", "item", out, "index", i)
}

// Remove is list.remove: the first item equal to item (ErrValue,
// ValueError, when there is none).
func (l *List) Remove(ctx context.Context, item any) error {
	return l.o.callRaw(ctx, "remove", "", nil, "item", item)
}

// Index is list.index: the first position of item (ErrValue, ValueError,
// when absent).
func (l *List) Index(ctx context.Context, item any) (int, error) {
	var n int
	err := l.o.callRaw(ctx, "index", "index", &n, "item", item)
	return n, err
}

// Count is list.count.
func (l *List) Count(ctx context.Context, item any) (int, error) {
	var n int
	err := l.o.callRaw(ctx, "count", "count", &n, "item", item)
	return n, err
}

// Reverse is list.reverse.
func (l *List) Reverse(ctx context.Context) error { return l.o.Call(ctx, "reverse", nil, nil) }

// Sort is list.sort(reverse=reverse) (ErrValue, TypeError, for items that
// do not compare).
func (l *List) Sort(ctx context.Context, reverse bool) error {
	return l.o.Call(ctx, "sort", map[string]any{"reverse": reverse}, nil)
}

// Len is len(list).
func (l *List) Len(ctx context.Context) (n int, err error) {
	err = l.o.callRaw(ctx, "len", "len", &n)
	return n, err
}

// Get is list[i], decoded into out (ErrValue, IndexError, out of range).
func (l *List) Get(ctx context.Context, i int, out any) error {
	return l.o.callRaw(ctx, "get", "item", out, "index", i)
}

// Set is list[i] = item (ErrValue, IndexError, out of range).
func (l *List) Set(ctx context.Context, i int, item any) error {
	return l.o.callRaw(ctx, "set", "", nil, "index", i, "item", item)
}

// Slice is list[start:stop], decoded into out (a pointer to a slice).
func (l *List) Slice(ctx context.Context, start, stop int, out any) error {
	return l.o.callRaw(ctx, "slice", "items", out, "start", start, "stop", stop)
}

// Items is list[:], the whole list, decoded into out.
func (l *List) Items(ctx context.Context, out any) error {
	return l.o.callRaw(ctx, "slice", "items", out)
}

// Delete is del list[i] (ErrValue, IndexError, out of range).
func (l *List) Delete(ctx context.Context, i int) error {
	return l.o.callRaw(ctx, "delete", "", nil, "index", i)
}

// DeleteSlice is del list[start:stop].
func (l *List) DeleteSlice(ctx context.Context, start, stop int) error {
	return l.o.callRaw(ctx, "delete", "", nil, "start", start, "stop", stop)
}

// Namespace is a shared namespace (Manager().Namespace()): named
// attributes holding JSON values.
type Namespace struct{ o *Object }

// Namespace is Manager().Namespace(): it returns the shared namespace name.
func (c *Client) Namespace(name string) *Namespace {
	return &Namespace{c.Object("namespace", name)}
}

// Get is getattr(ns, attr), decoded into out (ErrValue, AttributeError,
// when there is no such attribute).
func (n *Namespace) Get(ctx context.Context, attr string, out any) error {
	return n.o.callRaw(ctx, "get", "value", out, "attr", attr)
}

// Set is setattr(ns, attr, x).
func (n *Namespace) Set(ctx context.Context, attr string, x any) error {
	return n.o.callRaw(ctx, "set", "", nil, "attr", attr, "value", x)
}

// Delete is delattr(ns, attr) (ErrValue, AttributeError, when missing).
func (n *Namespace) Delete(ctx context.Context, attr string) error {
	return n.o.callRaw(ctx, "delete", "", nil, "attr", attr)
}

// Attrs is vars(ns): every attribute, decoded into out (such as a
// *map[string]any or a pointer to a struct).
func (n *Namespace) Attrs(ctx context.Context, out any) error {
	return n.o.callRaw(ctx, "attrs", "attrs", out)
}
