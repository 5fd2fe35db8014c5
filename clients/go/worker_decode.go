package corral

import (
	"bytes"
	"reflect"

	json "github.com/segmentio/encoding/json"
)

// argType is what decoding needs to know about a function's argument type.
type argType struct {
	name string
	// numeric types decode from numbers and booleans, at most one item
	// per comma-separated element: a slice of them can be sized by
	// counting commas.
	numeric bool
	// nullable types have a Go value for JSON null.
	nullable bool
}

func argTypeOf[A any]() argType {
	t := reflect.TypeFor[A]()
	return argType{name: t.String(), numeric: isNumeric(t), nullable: acceptsNull(t)}
}

// isNumeric reports whether t is decoded from a JSON number or boolean.
func isNumeric(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// acceptsNull reports whether t has a Go value for JSON null (the Go
// decoder leaves any other type at its zero value, silently).
func acceptsNull(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
		return true
	}
	return t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

var (
	comma     = []byte{','}
	nullBytes = []byte("null")
)

func isNull(raw []byte) bool { return bytes.Equal(bytes.TrimSpace(raw), nullBytes) }

// decodeArg decodes one argument into v.
func decodeArg[A any](t argType, raw json.RawMessage, v *A) error {
	if !t.nullable && isNull(raw) {
		return typeError("got null, want %s", t.name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return typeError("cannot decode %s as %s", abbrev(raw), t.name)
	}
	return nil
}

// decodeOneArg decodes the arguments of a task.run of a one-argument
// function.
func decodeOneArg[A any](t argType, fn string, args, kwargs json.RawMessage, v *A) error {
	if hasKwargs(kwargs) {
		return typeError("%s takes no keyword arguments", fn)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(args, &raw); err != nil {
		return typeError("args: %v", err)
	}
	if len(raw) != 1 {
		return typeError("%s takes 1 argument, got %d", fn, len(raw))
	}
	return decodeArg(t, raw[0], v)
}

// decodeItems decodes the items of a task.map's params for a one-argument
// function: each item is the argument, or with star a one-element argument
// array. On failure it returns the index of the item at fault, or -1.
//
// Plain items are decoded in one pass, into a slice sized beforehand (by
// counting commas, an upper bound on the item count) when they are
// numbers. Only when that fails, or a null may be among items that cannot
// be null, are the items looked at one by one.
func decodeItems[A any](t argType, fn string, params json.RawMessage, star bool) ([]A, int, error) {
	if star {
		return decodeStarItems[A](t, fn, params)
	}
	var p struct {
		Items []A `json:"items"`
	}
	if t.numeric {
		p.Items = make([]A, 0, min(bytes.Count(params, comma)+1, len(params)/2+1))
	}
	err := json.Unmarshal(params, &p)
	if err == nil && (t.nullable || !bytes.Contains(params, nullBytes)) {
		return p.Items, -1, nil
	}
	var raw struct {
		Items []json.RawMessage `json:"items"`
	}
	if rerr := json.Unmarshal(params, &raw); rerr != nil {
		return nil, -1, typeError("items: %v", rerr)
	}
	for i, item := range raw.Items {
		var a A
		if ierr := decodeArg(t, item, &a); ierr != nil {
			return nil, i, ierr
		}
	}
	if err != nil { // no single item is at fault
		return nil, -1, typeError("items: %v", err)
	}
	return p.Items, -1, nil // the "null" was inside a string
}

// decodeStarItems decodes items that are one-element argument arrays.
func decodeStarItems[A any](t argType, fn string, params json.RawMessage) ([]A, int, error) {
	var p struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, -1, typeError("items: %v", err)
	}
	in := make([]A, len(p.Items))
	for i, item := range p.Items {
		if err := decodeOneArg(t, fn, item, nil, &in[i]); err != nil {
			return nil, i, err
		}
	}
	return in, -1, nil
}

// abbrev shortens raw JSON for an error message.
func abbrev(raw []byte) string {
	const max = 40
	if len(raw) <= max {
		return string(raw)
	}
	return string(raw[:max]) + "…"
}
