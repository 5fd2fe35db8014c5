package protocol

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/internal/jsonx"
	"github.com/corralhq/corral/jsonrpc"
)

// Decode unmarshals a request's params into v, strictly: missing params,
// unknown fields and wrong types come back as invalid_params errors that
// name the field.
func Decode(params json.RawMessage, v any) *jsonrpc.Error {
	if len(params) == 0 || string(params) == "null" {
		return jsonrpc.Errorf(CodeInvalidParams, "invalid params: params object is required")
	}
	if params[0] != '{' {
		return jsonrpc.Errorf(CodeInvalidParams, "invalid params: params must be an object, got %s", kindOf(params))
	}
	_, err := json.Parse(params, v, json.DisallowUnknownFields)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "params"
		}
		got := "another type"
		var fields map[string]json.RawMessage
		if json.Unmarshal(params, &fields) == nil {
			if raw, ok := fields[field]; ok && len(raw) > 0 {
				got = kindOf(raw)
			}
		}
		return jsonrpc.Errorf(CodeInvalidParams, "invalid params: field %q: want %s, got %s", field, goKind(te.Type.String()), got)
	}
	msg := err.Error()
	if i := strings.Index(msg, "unknown field "); i >= 0 {
		return jsonrpc.Errorf(CodeInvalidParams, "invalid params: %s", msg[i:])
	}
	msg = strings.TrimPrefix(msg, "json: ")
	if field := secondsField(params, v); field != "" {
		return jsonrpc.Errorf(CodeInvalidParams, "invalid params: field %q: %s", field, msg)
	}
	return jsonrpc.Errorf(CodeInvalidParams, "invalid params: %s", msg)
}

// secondsField names the duration member of params that does not decode,
// for an error that came from Seconds itself and so carries no field name.
// It looks at the top-level fields of v's struct (embedded ones included).
func secondsField(params json.RawMessage, v any) string {
	var members map[string]json.RawMessage
	if json.Unmarshal(params, &members) != nil {
		return ""
	}
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return ""
	}
	return badSeconds(t, members)
}

var secondsType = reflect.TypeOf(Seconds(0))

func badSeconds(t reflect.Type, members map[string]json.RawMessage) string {
	for i := range t.NumField() {
		f := t.Field(i)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && ft.Kind() == reflect.Struct {
			if name := badSeconds(ft, members); name != "" {
				return name
			}
			continue
		}
		if ft != secondsType {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		raw, ok := members[name]
		if !ok {
			continue
		}
		var s Seconds
		if s.UnmarshalJSON(raw) != nil {
			return name
		}
	}
	return ""
}

// Required returns an invalid_params error naming field when empty is true.
func Required(field string, empty bool) *jsonrpc.Error {
	if !empty {
		return nil
	}
	return jsonrpc.Errorf(CodeInvalidParams, "invalid params: field %q is required", field)
}

func kindOf(raw []byte) string {
	switch raw[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case '{':
		return "an object"
	case 'n':
		return "null"
	}
	return "a number"
}

func goKind(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["):
		return "an object"
	case t == "string":
		return "a string"
	case t == "bool":
		return "a boolean"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"), strings.HasSuffix(t, "Seconds"):
		return "a number"
	}
	return fmt.Sprintf("a %s", t)
}

// DecodeExcept is Decode for params carrying one large member, field, whose
// raw value is returned as it is: the message was validated when it was
// read, and decoding (or even re-scanning) millions of map items in the
// supervisor would cost more than moving them.
func DecodeExcept(params json.RawMessage, v any, field string) (json.RawMessage, *jsonrpc.Error) {
	if len(params) == 0 || params[0] != '{' {
		return nil, Decode(params, v)
	}
	ms, err := jsonx.TrustedMembers(params)
	if err != nil {
		return nil, Decode(params, v)
	}
	var raw json.RawMessage
	rest := make([]byte, 0, 256)
	rest = append(rest, '{')
	for _, m := range ms {
		if m.Key == field {
			raw = m.Value
			continue
		}
		if len(rest) > 1 {
			rest = append(rest, ',')
		}
		rest = append(rest, '"')
		rest = append(rest, m.Key...)
		rest = append(rest, `":`...)
		rest = append(rest, m.Value...)
	}
	rest = append(rest, '}')
	return raw, Decode(rest, v)
}
