package corral

import (
	"bytes"
	"errors"

	json "github.com/segmentio/encoding/json"
)

var errBadParams = errors.New("params are not a JSON object")

// mapHead is what a worker needs to know of a task.map before decoding
// its items.
type mapHead struct {
	fn    string
	star  bool
	items byte // the first byte of the items value; 0 when absent
}

// peekMap reads the "fn" and "star" members of a task.map's params without
// decoding its items, which can then be decoded once, straight into the
// function's argument type. The params come out of a message the
// connection has already validated, so the scan checks structure only.
func peekMap(obj []byte) (h mapHead, err error) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return h, errBadParams
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return h, nil
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return h, errBadParams
		}
		end, ok := skipString(obj, i)
		if !ok {
			return h, errBadParams
		}
		key := obj[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var k string
			if json.Unmarshal(obj[i:end], &k) != nil {
				return h, errBadParams
			}
			key = []byte(k)
		}
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return h, errBadParams
		}
		i = skipSpace(obj, i+1)
		vend, ok := skipValue(obj, i)
		if !ok {
			return h, errBadParams
		}
		switch string(key) {
		case "fn":
			if json.Unmarshal(obj[i:vend], &h.fn) != nil {
				return h, errors.New(`"fn" must be a string`)
			}
		case "star":
			h.star = string(obj[i:vend]) == "true"
		case "items":
			h.items = obj[i]
		}
		i = skipSpace(obj, vend)
		if i < len(obj) && obj[i] == '}' {
			return h, nil
		}
		if i >= len(obj) || obj[i] != ',' {
			return h, errBadParams
		}
		i = skipSpace(obj, i+1)
	}
	return h, errBadParams
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i].
func skipString(b []byte, i int) (int, bool) {
	i++
	for {
		k := bytes.IndexAny(b[i:], "\"\\")
		if k < 0 {
			return 0, false
		}
		i += k
		if b[i] == '"' {
			return i + 1, true
		}
		i += 2
		if i > len(b) {
			return 0, false
		}
	}
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '[':
		// Fast path for arrays of scalars other than strings (a map
		// of numbers): the first ']' ends the array when nothing before
		// it opens a string or a nested value. IndexByte is vectorized;
		// the structural loop below is not.
		if k := bytes.IndexByte(b[i+1:], ']'); k >= 0 {
			inner := b[i+1 : i+1+k]
			if bytes.IndexByte(inner, '"') < 0 && bytes.IndexByte(inner, '[') < 0 && bytes.IndexByte(inner, '{') < 0 {
				return i + k + 2, true
			}
		}
		return skipNested(b, i)
	case '{':
		return skipNested(b, i)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j, j > i
}

// skipNested returns the index just past the array or object at b[i],
// jumping from one structural byte to the next.
func skipNested(b []byte, i int) (int, bool) {
	depth := 0
	for i < len(b) {
		k := bytes.IndexAny(b[i:], "\"[]{}")
		if k < 0 {
			return 0, false
		}
		i += k
		switch b[i] {
		case '"':
			end, ok := skipString(b, i)
			if !ok {
				return 0, false
			}
			i = end
			continue
		case '[', '{':
			depth++
		default:
			depth--
			if depth == 0 {
				return i + 1, true
			}
		}
		i++
	}
	return 0, false
}
