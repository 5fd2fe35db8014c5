package sharedstate

import (
	"bytes"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"

	json "github.com/segmentio/encoding/json"
)

// validJSON reports whether b is one valid JSON value.
func validJSON(b []byte) bool { return len(b) > 0 && json.Valid(b) }

// decode parses one JSON value, keeping numbers as their literal text so
// that big integers and int/float distinctions survive.
func decode(b []byte) (any, error) {
	var v any
	rest, err := json.Parse(b, &v, json.UseNumber)
	if err != nil || len(bytes.TrimSpace(rest)) != 0 {
		return nil, errorf(ErrType, "not a valid JSON value: %.40s", b)
	}
	return v, nil
}

// canonicalKey is the identity of a dict key: its canonical encoding. Keys
// are JSON scalars or arrays (Python's hashable tuples); an object is
// unhashable, ErrType, as a dict in a dict key is in Python.
func canonicalKey(k json.RawMessage) (string, error) {
	v, err := decode(k)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	if err := canonical(&sb, v, false); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// canonicalValue is the identity of any JSON value for equality (list
// remove, index, count): objects are compared with their keys sorted.
func canonicalValue(x json.RawMessage) (string, error) {
	v, err := decode(x)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	if err := canonical(&sb, v, true); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// canonical writes the canonical encoding of a decoded value. Equal values
// in Python's sense get equal encodings: numbers equal in value encode alike
// (1, 1.0 and 1e0 are one key, as 1 == 1.0 with equal hashes), while types
// stay apart ("1" is not 1). Booleans stay apart from 0 and 1 (Python would
// merge True and 1): for peers in other languages they are different types.
func canonical(sb *strings.Builder, v any, objects bool) error {
	switch x := v.(type) {
	case nil:
		sb.WriteString("null")
	case bool:
		sb.WriteString(strconv.FormatBool(x))
	case string:
		b, _ := json.Marshal(x)
		sb.Write(b)
	case json.Number:
		s, err := canonicalNumber(string(x))
		if err != nil {
			return err
		}
		sb.WriteString(s)
	case []any:
		sb.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				sb.WriteByte(',')
			}
			if err := canonical(sb, e, objects); err != nil {
				return err
			}
		}
		sb.WriteByte(']')
	case map[string]any:
		if !objects {
			return errorf(ErrType, "unhashable type: a JSON object cannot be a key")
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		sb.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				sb.WriteByte(',')
			}
			b, _ := json.Marshal(k)
			sb.Write(b)
			sb.WriteByte(':')
			if err := canonical(sb, x[k], objects); err != nil {
				return err
			}
		}
		sb.WriteByte('}')
	default:
		return errorf(ErrType, "unexpected JSON value %T", v)
	}
	return nil
}

// canonicalNumber gives every number one spelling per value: integers in
// plain decimal (exactly, however large), floats with an integral value as
// that integer (as Python's 2.0 == 2), other floats in Go's shortest
// round-trip form, which always holds a '.' or an 'e-' and so never collides
// with an integer.
func canonicalNumber(s string) (string, error) {
	if isIntLiteral([]byte(s)) {
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return "", errorf(ErrType, "bad number %.40s", s)
		}
		return n.String(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return "", errorf(ErrRange, "number %.40s is too large for a float", s)
	}
	if f == math.Trunc(f) {
		n, _ := new(big.Float).SetFloat64(f).Int(nil)
		return n.String(), nil
	}
	return strconv.FormatFloat(f, 'g', -1, 64), nil
}

// bigNumber converts a JSON number exactly, for ordering ints and floats
// against each other as Python does.
func bigNumber(n json.Number) (*big.Float, error) {
	if isIntLiteral([]byte(n)) {
		i, ok := new(big.Int).SetString(string(n), 10)
		if !ok {
			return nil, errorf(ErrType, "bad number %.40s", n)
		}
		return new(big.Float).SetInt(i), nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return nil, errorf(ErrRange, "number %.40s is too large for a float", n)
	}
	return new(big.Float).SetFloat64(f), nil
}
