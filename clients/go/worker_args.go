package corral

import (
	"fmt"
	"reflect"
	"sort"

	json "github.com/segmentio/encoding/json"
)

// Args are the arguments of one call to a function registered with
// HandleArgs: positional arguments by index and keyword arguments by name,
// each still JSON until decoded.
type Args struct {
	pos    []json.RawMessage
	kwargs map[string]json.RawMessage
}

// Len is the number of positional arguments.
func (a Args) Len() int { return len(a.pos) }

// Decode unmarshals positional argument i into v (a pointer). JSON null is
// refused unless v's element can hold it (a pointer, interface, slice or
// map). The error is a *TaskError of type TypeError, fit to be returned by
// the handler.
func (a Args) Decode(i int, v any) error {
	if i < 0 || i >= len(a.pos) {
		return typeError("argument %d is missing: got %d positional arguments", i, len(a.pos))
	}
	if err := decodeInto(a.pos[i], v); err != nil {
		return typeError("argument %d: %v", i, err)
	}
	return nil
}

// decodeInto unmarshals raw into v, refusing null for what cannot be null.
func decodeInto(raw json.RawMessage, v any) error {
	if t := reflect.TypeOf(v); t != nil && t.Kind() == reflect.Pointer && !acceptsNull(t.Elem()) && isNull(raw) {
		return fmt.Errorf("got null, want %s", t.Elem())
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("cannot decode %s: %v", abbrev(raw), err)
	}
	return nil
}

// Raw returns positional argument i as JSON, or nil when there is none.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.pos) {
		return nil
	}
	return a.pos[i]
}

// Kwarg unmarshals keyword argument name into v and reports whether it was
// given.
func (a Args) Kwarg(name string, v any) (bool, error) {
	raw, ok := a.kwargs[name]
	if !ok {
		return false, nil
	}
	if err := decodeInto(raw, v); err != nil {
		return true, typeError("keyword argument %s: %v", name, err)
	}
	return true, nil
}

// Kwargs returns the names of the keyword arguments, sorted.
func (a Args) Kwargs() []string {
	names := make([]string, 0, len(a.kwargs))
	for k := range a.kwargs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// parseArgs reads a task.run's args (a JSON array) and kwargs (a JSON
// object, null or absent).
func parseArgs(args, kwargs json.RawMessage) (Args, error) {
	var a Args
	if len(args) > 0 && string(args) != "null" {
		if err := json.Unmarshal(args, &a.pos); err != nil {
			return a, typeError("args must be a JSON array: %v", err)
		}
	}
	if hasKwargs(kwargs) {
		if err := json.Unmarshal(kwargs, &a.kwargs); err != nil {
			return a, typeError("kwargs must be a JSON object: %v", err)
		}
	}
	return a, nil
}

// hasKwargs reports whether raw holds keyword arguments (not absent, null
// or an empty object).
func hasKwargs(raw json.RawMessage) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return false
	}
	for _, c := range raw {
		switch c {
		case '{', '}', ' ', '\t', '\n', '\r':
		default:
			return true
		}
	}
	return false
}
