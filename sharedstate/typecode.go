package sharedstate

import (
	"bytes"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"

	json "github.com/segmentio/encoding/json"
)

// Typecode is the element type of a Value or Array, as Python's array and
// multiprocessing.sharedctypes typecodes, with the C sizes of Linux amd64.
type Typecode byte

// The typecodes corral accepts.
const (
	TypeByte      Typecode = 'b' // signed char, int8
	TypeUByte     Typecode = 'B' // unsigned char, uint8
	TypeShort     Typecode = 'h' // short, int16
	TypeUShort    Typecode = 'H' // unsigned short, uint16
	TypeInt       Typecode = 'i' // int, int32
	TypeUInt      Typecode = 'I' // unsigned int, uint32
	TypeLong      Typecode = 'l' // long, int64
	TypeULong     Typecode = 'L' // unsigned long, uint64
	TypeLongLong  Typecode = 'q' // long long, int64
	TypeULongLong Typecode = 'Q' // unsigned long long, uint64
	TypeFloat     Typecode = 'f' // float, float32
	TypeDouble    Typecode = 'd' // double, float64
	TypeChar      Typecode = 'c' // char: one byte, as a one-character string U+0000..U+00FF
	TypeUnicode   Typecode = 'u' // wchar_t: one character, as a one-character string
)

// typeInfo is what a typecode means.
type typeInfo struct {
	class    byte // 'i' signed, 'u' unsigned, 'f' float, 'c' char, 'w' wide char
	bits     uint
	min, max int64  // signed range
	umax     uint64 // unsigned range
	name     string // C name, for messages
}

var typecodes = map[Typecode]typeInfo{
	'b': {class: 'i', bits: 8, min: math.MinInt8, max: math.MaxInt8, name: "signed char"},
	'B': {class: 'u', bits: 8, umax: math.MaxUint8, name: "unsigned char"},
	'h': {class: 'i', bits: 16, min: math.MinInt16, max: math.MaxInt16, name: "short"},
	'H': {class: 'u', bits: 16, umax: math.MaxUint16, name: "unsigned short"},
	'i': {class: 'i', bits: 32, min: math.MinInt32, max: math.MaxInt32, name: "int"},
	'I': {class: 'u', bits: 32, umax: math.MaxUint32, name: "unsigned int"},
	'l': {class: 'i', bits: 64, min: math.MinInt64, max: math.MaxInt64, name: "long"},
	'L': {class: 'u', bits: 64, umax: math.MaxUint64, name: "unsigned long"},
	'q': {class: 'i', bits: 64, min: math.MinInt64, max: math.MaxInt64, name: "long long"},
	'Q': {class: 'u', bits: 64, umax: math.MaxUint64, name: "unsigned long long"},
	'f': {class: 'f', bits: 32, name: "float"},
	'd': {class: 'f', bits: 64, name: "double"},
	'c': {class: 'c', bits: 8, name: "char"},
	'u': {class: 'w', bits: 32, name: "wchar_t"},
}

// ParseTypecode accepts a one-character typecode name; ErrValue otherwise,
// as Python's "bad typecode".
func ParseTypecode(s string) (Typecode, error) {
	if len(s) == 1 {
		if _, ok := typecodes[Typecode(s[0])]; ok {
			return Typecode(s[0]), nil
		}
	}
	return 0, errorf(ErrValue, "bad typecode %q (must be b, B, h, H, i, I, l, L, q, Q, f, d, c or u)", s)
}

// String is the typecode's one-character name.
func (t Typecode) String() string { return string(rune(t)) }

func (t Typecode) info() typeInfo { return typecodes[t] }

// A slot holds one element: a signed integer as int64 bits, an unsigned one
// as uint64, a float as float64 bits, a character as its code point. Zero is
// every typecode's zero value, as ctypes initialises memory.
type slot = uint64

// isIntLiteral reports whether a JSON number has no fraction or exponent:
// Python's json gives an int for it and a float otherwise, and a float is a
// TypeError where an int is wanted.
func isIntLiteral(b []byte) bool {
	return len(b) > 0 && bytes.IndexAny(b, ".eE") < 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9'))
}

// isNumber reports whether b starts like a JSON number.
func isNumber(b []byte) bool {
	return len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9'))
}

// parse converts a JSON value into a slot, checking type and range.
func (t Typecode) parse(v json.RawMessage) (slot, error) {
	v = bytes.TrimSpace(v)
	ti := t.info()
	switch ti.class {
	case 'i', 'u':
		if !isIntLiteral(v) || !validJSON(v) {
			return 0, errorf(ErrType, "typecode '%s' (%s) needs an integer, got %.40s", t, ti.name, v)
		}
		n, ok := new(big.Int).SetString(string(v), 10)
		if !ok {
			return 0, errorf(ErrType, "typecode '%s' (%s) needs an integer, got %.40s", t, ti.name, v)
		}
		return t.fromBig(n, v)
	case 'f':
		if !isNumber(v) || !validJSON(v) {
			return 0, errorf(ErrType, "typecode '%s' (%s) needs a number, got %.40s", t, ti.name, v)
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return 0, errorf(ErrRange, "typecode '%s' (%s): %.40s is too large", t, ti.name, v)
		}
		return t.fromFloat(f)
	default:
		var s string
		if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
			return 0, errorf(ErrType, "typecode '%s' (%s) needs a one-character string, got %.40s", t, ti.name, v)
		}
		r, size := utf8.DecodeRuneInString(s)
		if size == 0 || size != len(s) {
			return 0, errorf(ErrType, "typecode '%s' (%s) needs a one-character string, got %d characters", t, ti.name, utf8.RuneCountInString(s))
		}
		if ti.class == 'c' && r > 0xff {
			return 0, errorf(ErrRange, "typecode 'c' (char) holds one byte: U+%04X is over U+00FF", r)
		}
		return slot(r), nil
	}
}

// fromBig range-checks an integer; text is for the message.
func (t Typecode) fromBig(n *big.Int, text []byte) (slot, error) {
	ti := t.info()
	if ti.class == 'i' {
		if n.IsInt64() {
			if i := n.Int64(); i >= ti.min && i <= ti.max {
				return slot(i), nil
			}
		}
		return 0, errorf(ErrRange, "typecode '%s': %.40s is outside the range of %s [%d, %d]", t, text, ti.name, ti.min, ti.max)
	}
	if n.IsUint64() {
		if u := n.Uint64(); u <= ti.umax {
			return u, nil
		}
	}
	return 0, errorf(ErrRange, "typecode '%s': %.40s is outside the range of %s [0, %d]", t, text, ti.name, ti.umax)
}

// fromFloat rounds to the typecode's precision. Python would store inf for
// a float32 overflow, but JSON cannot carry inf, so it is ErrRange here.
func (t Typecode) fromFloat(f float64) (slot, error) {
	if t == TypeFloat {
		f = float64(float32(f))
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errorf(ErrRange, "typecode '%s' (%s): the value is too large", t, t.info().name)
	}
	return math.Float64bits(f), nil
}

// format renders a slot as JSON. Floats always carry a point or exponent,
// so that a Python peer decodes a float, as it stored one.
func (t Typecode) format(s slot) json.RawMessage {
	switch t.info().class {
	case 'i':
		return strconv.AppendInt(nil, int64(s), 10)
	case 'u':
		return strconv.AppendUint(nil, s, 10)
	case 'f':
		b := strconv.AppendFloat(nil, math.Float64frombits(s), 'g', -1, 64)
		if bytes.IndexAny(b, ".e") < 0 {
			b = append(b, ".0"...)
		}
		return b
	default:
		b, _ := json.Marshal(string(rune(s)))
		return b
	}
}

// add returns s + delta, range-checked. Characters do not add (TypeError).
func (t Typecode) add(s slot, delta json.RawMessage) (slot, error) {
	delta = bytes.TrimSpace(delta)
	ti := t.info()
	switch ti.class {
	case 'i', 'u':
		if !isIntLiteral(delta) || !validJSON(delta) {
			return 0, errorf(ErrType, "typecode '%s' (%s) adds integers, got %.40s", t, ti.name, delta)
		}
		if d, err := strconv.ParseInt(string(delta), 10, 64); err == nil {
			if ti.class == 'i' {
				a := int64(s)
				r := a + d
				if (d > 0 && r < a) || (d < 0 && r > a) || r < ti.min || r > ti.max {
					return 0, t.overflow(delta)
				}
				return slot(r), nil
			}
			var r uint64
			if d >= 0 {
				r = s + uint64(d)
				if r < s {
					return 0, t.overflow(delta)
				}
			} else {
				m := uint64(-(d + 1)) + 1 // |d| without overflow at MinInt64
				if m > s {
					return 0, t.overflow(delta)
				}
				r = s - m
			}
			if r > ti.umax {
				return 0, t.overflow(delta)
			}
			return r, nil
		}
		// A delta beyond int64: rare, so exact big arithmetic.
		d, ok := new(big.Int).SetString(string(delta), 10)
		if !ok {
			return 0, errorf(ErrType, "typecode '%s' adds integers, got %.40s", t, delta)
		}
		var a big.Int
		if ti.class == 'i' {
			a.SetInt64(int64(s))
		} else {
			a.SetUint64(s)
		}
		r, err := t.fromBig(a.Add(&a, d), delta)
		if err != nil {
			return 0, t.overflow(delta)
		}
		return r, nil
	case 'f':
		if !isNumber(delta) || !validJSON(delta) {
			return 0, errorf(ErrType, "typecode '%s' (%s) adds numbers, got %.40s", t, ti.name, delta)
		}
		d, err := strconv.ParseFloat(string(delta), 64)
		if err != nil {
			return 0, t.overflow(delta)
		}
		return t.fromFloat(math.Float64frombits(s) + d)
	default:
		return 0, errorf(ErrType, "typecode '%s' (%s) does not support add", t, ti.name)
	}
}

func (t Typecode) overflow(delta []byte) error {
	return errorf(ErrRange, "typecode '%s': adding %.40s overflows %s", t, delta, t.info().name)
}

// equal compares two slots as values: floats by value, so 0.0 equals -0.0.
func (t Typecode) equal(a, b slot) bool {
	if t.info().class == 'f' {
		return math.Float64frombits(a) == math.Float64frombits(b)
	}
	return a == b
}
