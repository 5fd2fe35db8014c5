package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Variables. A string that is exactly "${NAME}" is a variable, in a sent
// message (as a value, not an object key) and in a pattern:
//
//   - in a pattern, a variable that has a value matches a value equal to it;
//     one that has none matches any value, which it captures as its value for
//     the rest of the case;
//   - in a sent message, a variable is replaced by its value, which may be any
//     JSON value; it must have one: given by the runner (Options.Vars), or
//     captured by an earlier step.
//
// "$${NAME}" is the string "${NAME}", in a pattern as in a sent message.
var (
	varRef     = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)
	escapedVar = regexp.MustCompile(`^\$\$\{[A-Za-z_][A-Za-z0-9_]*\}$`)
)

// varName returns NAME when s is the variable "${NAME}".
func varName(s string) (string, bool) {
	if m := varRef.FindStringSubmatch(s); m != nil {
		return m[1], true
	}
	return "", false
}

// Vars lists, sorted, the variables the case needs values for: those a sent
// message uses before any pattern has captured them. A run must give them
// (Options.Vars).
func (c Case) Vars() []string {
	known := map[string]bool{}
	var need []string
	for _, st := range c.Steps {
		switch {
		case st.Send != nil:
			names, _ := varsIn(st.Send) // checked by UnmarshalJSON
			for _, n := range names {
				if !known[n] {
					known[n] = true
					need = append(need, n)
				}
			}
		default:
			patternVars(st.Expect, known)
			patternVars(st.ExpectUnordered, known)
		}
	}
	sort.Strings(need)
	return need
}

// patternVars adds the variables of pattern p to known.
func patternVars(p any, known map[string]bool) {
	switch p := p.(type) {
	case string:
		if n, ok := varName(p); ok {
			known[n] = true
		}
	case map[string]any:
		for _, e := range p {
			patternVars(e, known)
		}
	case []any:
		for _, e := range p {
			patternVars(e, known)
		}
	}
}

// varsIn lists the variables msg (compact JSON) refers to, in order.
func varsIn(msg []byte) ([]string, error) {
	var names []string
	_, err := rewriteStrings(msg, func(s string) ([]byte, error) {
		if n, ok := varName(s); ok {
			names = append(names, n)
		}
		return nil, nil
	})
	return names, err
}

// substitute returns msg with its variables replaced by their values.
func substitute(msg []byte, vars map[string]any) ([]byte, error) {
	return rewriteStrings(msg, func(s string) ([]byte, error) {
		if escapedVar.MatchString(s) {
			return json.Marshal(s[1:])
		}
		n, ok := varName(s)
		if !ok {
			return nil, nil
		}
		v, ok := vars[n]
		if !ok {
			return nil, fmt.Errorf("variable %s has no value", s)
		}
		return json.Marshal(v)
	})
}

// startVars checks that vars holds a value for every variable c needs, and
// returns them as decoded JSON, as captured values are, so that patterns
// compare them alike.
func startVars(c Case, vars map[string]any) (map[string]any, error) {
	var missing []string
	for _, n := range c.Vars() {
		if _, ok := vars[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the case needs a value for %s (Options.Vars), and the run has none", strings.Join(missing, ", "))
	}
	out := make(map[string]any, len(vars))
	for n, v := range vars {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", n, err)
		}
		if out[n], err = decodeJSON(b); err != nil {
			return nil, fmt.Errorf("variable %s: %w", n, err)
		}
	}
	return out, nil
}

// rewriteStrings copies msg, compact JSON, passing each string that is a
// value (not an object key) to f; when f returns text, that text replaces
// the string. Everything else is copied byte for byte.
func rewriteStrings(msg []byte, f func(s string) ([]byte, error)) ([]byte, error) {
	out := make([]byte, 0, len(msg))
	for i := 0; i < len(msg); {
		if msg[i] != '"' {
			out = append(out, msg[i])
			i++
			continue
		}
		j := i + 1
		for j < len(msg) && msg[j] != '"' {
			if msg[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(msg) {
			return nil, errors.New("unterminated string")
		}
		lit := msg[i : j+1]
		i = j + 1
		if i < len(msg) && msg[i] == ':' { // compact JSON: a key is followed by its colon
			out = append(out, lit...)
			continue
		}
		var s string
		if err := json.Unmarshal(lit, &s); err != nil {
			return nil, err
		}
		rep, err := f(s)
		if err != nil {
			return nil, err
		}
		if rep == nil {
			rep = lit
		}
		out = append(out, rep...)
	}
	return out, nil
}
