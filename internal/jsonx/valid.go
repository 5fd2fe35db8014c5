package jsonx

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// maxDepth bounds nesting, so a hostile message cannot make validation
// (or a peer's recursive decoder) run away.
const maxDepth = 1000

// SyntaxError reports invalid JSON at a byte offset.
type SyntaxError struct {
	Offset int
	msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.msg)
}

func syntaxErr(i int, format string, args ...any) error {
	return &SyntaxError{Offset: i, msg: fmt.Sprintf(format, args...)}
}

// ErrDepth is returned for values nested deeper than the limit.
var ErrDepth = errors.New("JSON nested too deeply")

// Value validates the JSON value starting at b[i] (after optional space)
// and returns the index just past it. It checks the full grammar (strings,
// escapes, numbers, literals, nesting) but not UTF-8, which callers check
// once for a whole message with utf8.Valid.
func Value(b []byte, i int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return 0, syntaxErr(i, "unexpected end of input")
	}
	// An explicit stack of open containers: true for an object.
	var stack [32]bool
	open := stack[:0]
	for {
		// Expect a value at b[i].
		if i >= len(b) {
			return 0, syntaxErr(i, "unexpected end of input")
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if len(open) >= maxDepth {
				return 0, ErrDepth
			}
			open = append(open, c == '{')
			i = skipSpace(b, i+1)
			if i < len(b) && ((c == '{' && b[i] == '}') || (c == '[' && b[i] == ']')) {
				open = open[:len(open)-1]
				i++
				break
			}
			if c == '{' {
				j, err := objectKey(b, i)
				if err != nil {
					return 0, err
				}
				i = j
			}
			continue
		case c == '"':
			j, err := validString(b, i)
			if err != nil {
				return 0, err
			}
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j, err := validNumber(b, i)
			if err != nil {
				return 0, err
			}
			i = j
		case c == 't':
			if !hasPrefix(b[i:], "true") {
				return 0, syntaxErr(i, "invalid literal")
			}
			i += 4
		case c == 'f':
			if !hasPrefix(b[i:], "false") {
				return 0, syntaxErr(i, "invalid literal")
			}
			i += 5
		case c == 'n':
			if !hasPrefix(b[i:], "null") {
				return 0, syntaxErr(i, "invalid literal")
			}
			i += 4
		default:
			return 0, syntaxErr(i, "unexpected character %q", c)
		}
		// After a value: close containers, or move to the next element.
	after:
		for {
			if len(open) == 0 {
				return i, nil
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return 0, syntaxErr(i, "unexpected end of input")
			}
			obj := open[len(open)-1]
			switch b[i] {
			case ',':
				i = skipSpace(b, i+1)
				if obj {
					j, err := objectKey(b, i)
					if err != nil {
						return 0, err
					}
					i = j
				}
			case '}', ']':
				if (b[i] == '}') != obj {
					return 0, syntaxErr(i, "mismatched %q", b[i])
				}
				open = open[:len(open)-1]
				i++
				continue after
			default:
				return 0, syntaxErr(i, "expected ',' or a closing bracket, got %q", b[i])
			}
			break after
		}
	}
}

// objectKey validates `"key" :` at b[i] and returns the index of the value.
func objectKey(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return 0, syntaxErr(i, "expected a string key")
	}
	j, err := validString(b, i)
	if err != nil {
		return 0, err
	}
	j = skipSpace(b, j)
	if j >= len(b) || b[j] != ':' {
		return 0, syntaxErr(j, "expected ':' after an object key")
	}
	return skipSpace(b, j+1), nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && space[b[i]] {
		i++
	}
	return i
}

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

// stringPlain marks the bytes that need no attention inside a string.
var stringPlain [256]bool

func init() {
	for c := 0x20; c < 256; c++ {
		stringPlain[c] = c != '"' && c != '\\'
	}
}

func validString(b []byte, i int) (int, error) {
	start := i
	i++
	for {
		for i < len(b) && stringPlain[b[i]] {
			i++
		}
		if i >= len(b) {
			return 0, syntaxErr(start, "unterminated string")
		}
		switch c := b[i]; c {
		case '"':
			return i + 1, nil
		case '\\':
			if i+1 >= len(b) {
				return 0, syntaxErr(i, "unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return 0, syntaxErr(i, `invalid \u escape`)
				}
				i += 6
			default:
				return 0, syntaxErr(i, "invalid escape %q", b[i+1])
			}
		default:
			return 0, syntaxErr(i, "control character %#x in a string", c)
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func validNumber(b []byte, i int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	if i >= len(b) || b[i]-'0' > 9 {
		return 0, syntaxErr(start, "invalid number")
	}
	if b[i] == '0' {
		i++
	} else {
		i = digits(b, i+1)
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return 0, syntaxErr(start, "invalid number")
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return 0, syntaxErr(start, "invalid number")
		}
		i = j
	}
	return i, nil
}

// digits returns the index past the run of ASCII digits starting at b[i].
func digits(b []byte, i int) int {
	for i < len(b) && b[i]-'0' <= 9 {
		i++
	}
	return i
}

// Valid reports whether b is one valid JSON value in valid UTF-8.
func Valid(b []byte) bool {
	end, err := Value(b, 0)
	return err == nil && skipSpace(b, end) == len(b) && utf8.Valid(b)
}

// Member is one member of a JSON object, its value kept raw.
type Member struct {
	Key   string // the key as written (escapes are not decoded)
	Value []byte
}

// Members validates the object obj and returns its members in order.
// Keys with escapes are returned as written; corral's own keys have none.
func Members(obj []byte) ([]Member, error) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, syntaxErr(i, "expected an object")
	}
	if !utf8.Valid(obj) {
		return nil, syntaxErr(0, "invalid UTF-8")
	}
	var ms []Member
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return ms, trailing(obj, i+1)
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return nil, syntaxErr(i, "expected a string key")
		}
		kend, err := validString(obj, i)
		if err != nil {
			return nil, err
		}
		key := string(obj[i+1 : kend-1])
		j := skipSpace(obj, kend)
		if j >= len(obj) || obj[j] != ':' {
			return nil, syntaxErr(j, "expected ':' after an object key")
		}
		vstart := skipSpace(obj, j+1)
		vend, err := Value(obj, vstart)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Member{Key: key, Value: obj[vstart:vend]})
		i = skipSpace(obj, vend)
		if i >= len(obj) {
			return nil, syntaxErr(i, "unexpected end of input")
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return ms, trailing(obj, i+1)
		default:
			return nil, syntaxErr(i, "expected ',' or '}', got %q", obj[i])
		}
	}
}

func trailing(b []byte, i int) error {
	if i = skipSpace(b, i); i != len(b) {
		return syntaxErr(i, "data after the value")
	}
	return nil
}
