// Package conformance holds corral/1's conformance cases as data, and runs
// them against a peer: a worker executable, or any other Transport.
//
// A case is a message sequence: what to send, and a pattern each reply must
// match. The case sets live in JSON files embedded in this package
// (spec/conformance/<set>/<name>.json; the format is in README.md), so the
// same files serve the Go tests, `corral check-worker`, and the tests of
// shims in other languages.
//
// Most sets run against a worker; the "supervisor" set runs against a
// supervisor (`corral serve --stdio`), playing the client.
package conformance

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed worker/*.json doubler/*.json supervisor/*.json
var embedded embed.FS

// Case is one conformance case.
type Case struct {
	// Set is the directory the case was loaded from ("worker").
	Set         string `json:"-"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Steps       []Step `json:"steps"`
}

// Step is one action of a case; exactly one field is set.
type Step struct {
	// Send is a message, compacted, sent as one line.
	Send json.RawMessage
	// SendRaw is sent as it is, as one line: for input that is not JSON.
	SendRaw *string
	// Expect is a pattern (see Match) the next message must match.
	Expect any
	// ExpectUnordered holds patterns the next len(ExpectUnordered) messages
	// must match one to one, in any order.
	ExpectUnordered []any
	// ExpectSilence is how long no message may arrive.
	ExpectSilence time.Duration
	// CloseStdin ends the peer's input.
	CloseStdin bool
	// ExpectExit is the exit status the peer must end with.
	ExpectExit *int
}

// Kind names the step's action as it is spelled in a case file.
func (s *Step) Kind() string {
	switch {
	case s.Send != nil:
		return "send"
	case s.SendRaw != nil:
		return "send_raw"
	case s.ExpectUnordered != nil:
		return "expect_unordered"
	case s.ExpectSilence > 0:
		return "expect_silence"
	case s.CloseStdin:
		return "close_stdin"
	case s.ExpectExit != nil:
		return "expect_exit"
	}
	return "expect"
}

// UnmarshalJSON reads a step object, which must hold exactly one known key.
func (s *Step) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if len(m) != 1 {
		return fmt.Errorf("a step needs exactly one of send, send_raw, expect, expect_unordered, expect_silence, close_stdin, expect_exit; got %d keys", len(m))
	}
	*s = Step{}
	for k, v := range m {
		switch k {
		case "send":
			var c bytes.Buffer
			if err := json.Compact(&c, v); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			if c.Len() == 0 || c.Bytes()[0] != '{' {
				return errors.New("send: want a message object (use send_raw for anything else)")
			}
			s.Send = c.Bytes()
			if _, err := varsIn(s.Send); err != nil {
				return fmt.Errorf("send: %w", err)
			}
		case "send_raw":
			var raw string
			if err := json.Unmarshal(v, &raw); err != nil {
				return fmt.Errorf("send_raw: want a string: %w", err)
			}
			if strings.ContainsAny(raw, "\r\n") {
				return errors.New("send_raw: must be a single line")
			}
			s.SendRaw = &raw
		case "expect":
			p, err := decodeJSON(v)
			if err != nil {
				return fmt.Errorf("expect: %w", err)
			}
			if err := CheckPattern(p); err != nil {
				return fmt.Errorf("expect: %w", err)
			}
			s.Expect = p
		case "expect_unordered":
			p, err := decodeJSON(v)
			if err != nil {
				return fmt.Errorf("expect_unordered: %w", err)
			}
			ps, ok := p.([]any)
			if !ok || len(ps) == 0 {
				return fmt.Errorf("expect_unordered: want a non-empty array of patterns, got %s", v)
			}
			for i, p := range ps {
				if err := CheckPattern(p); err != nil {
					return fmt.Errorf("expect_unordered[%d]: %w", i, err)
				}
			}
			s.ExpectUnordered = ps
		case "expect_silence":
			var secs float64
			if err := json.Unmarshal(v, &secs); err != nil || secs <= 0 {
				return fmt.Errorf("expect_silence: want a positive number of seconds, got %s", v)
			}
			s.ExpectSilence = time.Duration(secs * float64(time.Second))
		case "close_stdin":
			if string(v) != "true" {
				return fmt.Errorf("close_stdin: want true, got %s", v)
			}
			s.CloseStdin = true
		case "expect_exit":
			var code int
			if err := json.Unmarshal(v, &code); err != nil {
				return fmt.Errorf("expect_exit: want an integer exit status, got %s", v)
			}
			s.ExpectExit = &code
		default:
			return fmt.Errorf("unknown step %q", k)
		}
	}
	return nil
}

// ParseCase decodes and checks one case file. Unknown keys are errors, so a
// misspelt field cannot quietly weaken a case.
func ParseCase(data []byte) (Case, error) {
	var c Case
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return Case{}, err
	}
	if c.Name == "" {
		return Case{}, errors.New(`"name" is required`)
	}
	if len(c.Steps) == 0 {
		return Case{}, errors.New(`"steps" is empty`)
	}
	return c, nil
}

// LoadCases reads every dir/*.json file of fsys as a case, sorted by name.
// Each case's name must be its file's name without ".json", so that a line of
// output leads straight to the file. Other test suites (the supervisor's
// transcripts) keep their own cases in this format and load them with this.
func LoadCases(fsys fs.FS, dir string) ([]Case, error) {
	files, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no cases in %s", dir)
	}
	cases := make([]Case, 0, len(files))
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		c, err := ParseCase(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if want := strings.TrimSuffix(path.Base(f), ".json"); c.Name != want {
			return nil, fmt.Errorf("%s: name %q should match the file name %q", f, c.Name, want)
		}
		c.Set = path.Base(dir)
		cases = append(cases, c)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
	return cases, nil
}

// SupervisorSet is the built-in set that runs against a supervisor, `corral
// serve --stdio`, rather than a worker: see SupervisorCases.
const SupervisorSet = "supervisor"

// Sets lists the built-in case sets that run against a worker: "doubler" (a
// worker serving double) and "worker" (any worker). SupervisorSet is not one
// of them.
func Sets() []string {
	entries, err := fs.ReadDir(embedded, ".")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	var sets []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != SupervisorSet {
			sets = append(sets, e.Name())
		}
	}
	return sets
}

// Cases returns the built-in cases of one of Sets().
func Cases(set string) ([]Case, error) {
	if set == SupervisorSet {
		return nil, fmt.Errorf("case set %q runs against a supervisor (corral serve --stdio), not a worker", set)
	}
	if _, err := fs.Stat(embedded, set); err != nil || strings.ContainsAny(set, "/.") {
		return nil, fmt.Errorf("no case set %q (have %s)", set, strings.Join(Sets(), ", "))
	}
	return LoadCases(embedded, set)
}

// SupervisorCases returns the built-in cases that play a client against a
// supervisor started as `corral serve --stdio` (a Command with Supervisor
// set). They need the variables DOUBLER and DOUBLER_ARGS (Options.Vars): the
// command and arguments of a worker serving double, for their pools.
func SupervisorCases() ([]Case, error) {
	return LoadCases(embedded, SupervisorSet)
}
