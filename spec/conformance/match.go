package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strings"
)

// Special pattern strings. Any other string that starts with "$" is an error
// in a pattern, so that a typo such as "$strng" cannot silently become a
// literal; write "$$x" to match the literal string "$x".
const (
	AnyValue  = "$any"    // any value, null included, but the key must be present
	AnyString = "$string" // any string
	AnyNumber = "$number" // any number
	AnyArray  = "$array"  // any array
	AnyObject = "$object" // any object
	Absent    = "$absent" // as an object member: the key must not be present
)

// EachKey is the one key of an object pattern {"$each": P}, which matches an
// array (of any length) whose every element matches P.
const EachKey = "$each"

// Mismatch says where and how a value failed to match a pattern.
type Mismatch struct {
	Path string // "error.code", "result[2]"; empty for the whole value
	Want string
	Got  string
}

func (m *Mismatch) Error() string {
	if m.Path == "" {
		return fmt.Sprintf("expected %s, got %s", m.Want, m.Got)
	}
	return fmt.Sprintf("%s: expected %s, got %s", m.Path, m.Want, m.Got)
}

// Match reports whether value matches pattern, returning a *Mismatch naming
// the first difference. Both are decoded JSON (map[string]any, []any,
// string, bool, nil, and numbers as json.Number or float64).
//
// Objects match as subsets: every key of the pattern must match, and extra
// keys in the value are allowed. Arrays match elementwise and must have the
// same length. Numbers match by value (1 matches 1.0), other scalars exactly.
// The strings "$any", "$string", "$number", "$array", "$object" and
// "$absent", and objects {"$each": P}, match as their constants describe.
func Match(pattern, value any) error {
	return match("", pattern, value)
}

// MatchJSON is Match on JSON text.
func MatchJSON(pattern, value []byte) error {
	p, err := decodeJSON(pattern)
	if err != nil {
		return fmt.Errorf("pattern: %w", err)
	}
	if err := CheckPattern(p); err != nil {
		return err
	}
	v, err := decodeJSON(value)
	if err != nil {
		return fmt.Errorf("value: %w", err)
	}
	return Match(p, v)
}

func match(path string, p, v any) error {
	switch p := p.(type) {
	case string:
		return matchString(path, p, v)
	case map[string]any:
		if each, ok := p[EachKey]; ok && len(p) == 1 {
			a, ok := v.([]any)
			if !ok {
				return mismatch(path, "an array", v)
			}
			for i, e := range a {
				if err := match(fmt.Sprintf("%s[%d]", path, i), each, e); err != nil {
					return err
				}
			}
			return nil
		}
		o, ok := v.(map[string]any)
		if !ok {
			return mismatch(path, "an object", v)
		}
		// Sorted, so that the reported mismatch is the same on every run.
		keys := make([]string, 0, len(p))
		for k := range p {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub := join(path, k)
			got, present := o[k]
			switch {
			case p[k] == Absent && present:
				return mismatch(sub, "no such key", got)
			case p[k] == Absent:
			case !present:
				return &Mismatch{Path: sub, Want: describe(p[k]), Got: "nothing (key absent)"}
			default:
				if err := match(sub, p[k], got); err != nil {
					return err
				}
			}
		}
		return nil
	case []any:
		a, ok := v.([]any)
		if !ok {
			return mismatch(path, render(p), v)
		}
		if len(a) != len(p) {
			return mismatch(path, fmt.Sprintf("%d elements", len(p)), v)
		}
		for i := range p {
			if err := match(fmt.Sprintf("%s[%d]", path, i), p[i], a[i]); err != nil {
				return err
			}
		}
		return nil
	case nil, bool:
		if v != p {
			return mismatch(path, render(p), v)
		}
		return nil
	}
	want, ok := number(p)
	if !ok {
		return fmt.Errorf("%s: pattern holds a %T, which is not a JSON value", path, p)
	}
	if got, ok := number(v); !ok || want.Cmp(got) != 0 {
		return mismatch(path, render(p), v)
	}
	return nil
}

func matchString(path, p string, v any) error {
	var ok bool
	switch p {
	case AnyValue:
		ok = true
	case AnyString:
		_, ok = v.(string)
	case AnyNumber:
		_, ok = number(v)
	case AnyArray:
		_, ok = v.([]any)
	case AnyObject:
		_, ok = v.(map[string]any)
	case Absent: // only meaningful as an object member
	default:
		s, isStr := v.(string)
		ok = isStr && s == literal(p)
	}
	if !ok {
		return mismatch(path, describe(p), v)
	}
	return nil
}

// literal is the string a non-special pattern string matches: "$$x" matches
// "$x".
func literal(p string) string {
	if strings.HasPrefix(p, "$$") {
		return p[1:]
	}
	return p
}

// describe says in words what a pattern matches, for reasons.
func describe(p any) string {
	s, ok := p.(string)
	if !ok {
		return render(p)
	}
	switch s {
	case AnyValue:
		return "any value"
	case AnyString:
		return "a string"
	case AnyNumber:
		return "a number"
	case AnyArray:
		return "an array"
	case AnyObject:
		return "an object"
	case Absent:
		return "no value"
	}
	return render(literal(s))
}

// CheckPattern rejects patterns that would not mean what they seem to: an
// unknown "$word" string, or {"$each": P} with other keys beside it.
func CheckPattern(p any) error {
	return checkPattern("", p)
}

func checkPattern(path string, p any) error {
	switch p := p.(type) {
	case string:
		switch p {
		case AnyValue, AnyString, AnyNumber, AnyArray, AnyObject, Absent:
			return nil
		}
		if strings.HasPrefix(p, "$") && !strings.HasPrefix(p, "$$") {
			return fmt.Errorf("pattern %s: unknown special string %q (write \"$%s\" for a literal)", orRoot(path), p, p)
		}
	case map[string]any:
		if _, ok := p[EachKey]; ok && len(p) > 1 {
			return fmt.Errorf("pattern %s: %q must be the object's only key", orRoot(path), EachKey)
		}
		for k, e := range p {
			if err := checkPattern(join(path, k), e); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range p {
			if err := checkPattern(fmt.Sprintf("%s[%d]", path, i), e); err != nil {
				return err
			}
		}
	}
	return nil
}

// number converts the numeric forms decoded JSON may hold to an exact
// rational, so that large integer ids compare without float rounding.
func number(v any) (*big.Rat, bool) {
	switch n := v.(type) {
	case json.Number:
		return new(big.Rat).SetString(string(n))
	case float64:
		r := new(big.Rat)
		if r.SetFloat64(n) == nil {
			return nil, false
		}
		return r, true
	case int:
		return new(big.Rat).SetInt64(int64(n)), true
	case int64:
		return new(big.Rat).SetInt64(n), true
	}
	return nil, false
}

func mismatch(path, want string, got any) *Mismatch {
	return &Mismatch{Path: path, Want: want, Got: render(got)}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "(root)"
	}
	return "at " + path
}

// render shows a value as compact JSON, cut short so that a reason stays on
// one readable line.
func render(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return clip(string(b), 120)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// decodeJSON decodes one JSON value, keeping numbers exact.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}
