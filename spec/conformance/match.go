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
// A variable, "${NAME}", matches any value here (see Options.Vars for what it
// does in a run).
func Match(pattern, value any) error {
	_, err := matchVars(pattern, value, nil)
	return err
}

// matchVars is Match where the pattern's variables ("${NAME}") that vars
// holds must equal their values, and the others match any value and are
// captured: it returns their values when the whole pattern matches.
func matchVars(pattern, value any, vars map[string]any) (map[string]any, error) {
	m := &matcher{vars: vars}
	if err := m.match("", pattern, value); err != nil {
		return nil, err
	}
	return m.bound, nil
}

type matcher struct {
	vars  map[string]any // known before this match
	bound map[string]any // captured by it
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

func (m *matcher) match(path string, p, v any) error {
	switch p := p.(type) {
	case string:
		return m.matchString(path, p, v)
	case map[string]any:
		if each, ok := p[EachKey]; ok && len(p) == 1 {
			a, ok := v.([]any)
			if !ok {
				return mismatch(path, "an array", v)
			}
			for i, e := range a {
				if err := m.match(fmt.Sprintf("%s[%d]", path, i), each, e); err != nil {
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
				if err := m.match(sub, p[k], got); err != nil {
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
			if err := m.match(fmt.Sprintf("%s[%d]", path, i), p[i], a[i]); err != nil {
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

func (m *matcher) matchString(path, p string, v any) error {
	if name, ok := varName(p); ok {
		if want, known := m.bound[name]; known {
			return matchValue(path, p, want, v)
		}
		if want, known := m.vars[name]; known {
			return matchValue(path, p, want, v)
		}
		if m.bound == nil {
			m.bound = map[string]any{}
		}
		m.bound[name] = v
		return nil
	}
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

// matchValue checks that v equals want, the value of the variable p.
func matchValue(path, p string, want, v any) error {
	if !equal(want, v) {
		return mismatch(path, p+" = "+render(want), v)
	}
	return nil
}

// equal reports whether two decoded JSON values are equal, numbers by value.
func equal(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		o, ok := b.(map[string]any)
		if !ok || len(o) != len(a) {
			return false
		}
		for k, e := range a {
			if f, ok := o[k]; !ok || !equal(e, f) {
				return false
			}
		}
		return true
	case []any:
		o, ok := b.([]any)
		if !ok || len(o) != len(a) {
			return false
		}
		for i := range a {
			if !equal(a[i], o[i]) {
				return false
			}
		}
		return true
	case string, bool, nil:
		return a == b
	}
	x, ok := number(a)
	y, ok2 := number(b)
	return ok && ok2 && x.Cmp(y) == 0
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
// Variables ("${NAME}") are allowed.
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
		if _, ok := varName(p); ok {
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
