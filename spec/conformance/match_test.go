package conformance

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, value string
		mismatch       string // a substring of the error; empty when it must match
	}{
		{`1`, `1`, ""},
		{`1`, `1.0`, ""},
		{`12345678901234567890`, `12345678901234567891`, "expected 12345678901234567890"},
		{`"a"`, `"a"`, ""},
		{`"a"`, `"b"`, `expected "a", got "b"`},
		{`null`, `null`, ""},
		{`null`, `0`, "expected null, got 0"},
		{`true`, `false`, "expected true"},
		{`{}`, `{"a":1}`, ""},
		{`{"a":1}`, `{"a":1,"b":2}`, ""},
		{`{"a":1}`, `{"b":2}`, "a: expected 1, got nothing (key absent)"},
		{`{"a":{"b":[1,{"c":"$string"}]}}`, `{"a":{"b":[1,{"c":5}]}}`, "a.b[1].c: expected a string, got 5"},
		{`[1,2]`, `[1,2]`, ""},
		{`[1,2]`, `[1,2,3]`, "expected 2 elements, got [1,2,3]"},
		{`[1,2]`, `[2,1]`, "[0]: expected 1, got 2"},
		{`[]`, `{}`, "expected [], got {}"},
		{`"$any"`, `null`, ""},
		{`{"a":"$any"}`, `{}`, "a: expected any value, got nothing"},
		{`"$string"`, `"x"`, ""},
		{`"$string"`, `1`, "expected a string"},
		{`"$number"`, `-1.5e3`, ""},
		{`"$number"`, `"1"`, "expected a number"},
		{`"$array"`, `[]`, ""},
		{`"$array"`, `{}`, "expected an array"},
		{`"$object"`, `{}`, ""},
		{`"$object"`, `[]`, "expected an object"},
		{`{"error":"$absent"}`, `{"result":1}`, ""},
		{`{"error":"$absent"}`, `{"error":null}`, "error: expected no such key, got null"},
		{`{"$each":"$string"}`, `["a","b"]`, ""},
		{`{"$each":"$string"}`, `[]`, ""},
		{`{"$each":"$string"}`, `["a",2]`, "[1]: expected a string, got 2"},
		{`{"$each":"$string"}`, `"a"`, "expected an array"},
		{`"$$any"`, `"$any"`, ""},
		{`"$$any"`, `5`, `expected "$any"`},
		{`{"$corral":"queue"}`, `{"$corral":"queue","name":"q"}`, ""}, // keys are literal
		// A variable with no value matches anything; one with a value, only it.
		{`"${X}"`, `null`, ""},
		{`{"a":"${X}","b":"${X}"}`, `{"a":[1,{"c":2}],"b":[1.0,{"c":2}]}`, ""},
		{`{"a":"${X}","b":"${X}"}`, `{"a":[1,{"c":2}],"b":[1,{"c":2,"d":3}]}`, `b: expected ${X} = [1,{"c":2}], got [1,{"c":2,"d":3}]`},
		{`{"a":"${X}"}`, `{}`, "a: expected"},
		{`"$${X}"`, `"${X}"`, ""},
	}
	for _, tt := range tests {
		err := MatchJSON([]byte(tt.pattern), []byte(tt.value))
		switch {
		case tt.mismatch == "" && err != nil:
			t.Errorf("Match(%s, %s) = %v, want a match", tt.pattern, tt.value, err)
		case tt.mismatch != "" && (err == nil || !strings.Contains(err.Error(), tt.mismatch)):
			t.Errorf("Match(%s, %s) = %v, want an error containing %q", tt.pattern, tt.value, err, tt.mismatch)
		}
	}
}

func TestCheckPattern(t *testing.T) {
	tests := []struct {
		pattern string
		bad     string // a substring of the error; empty when the pattern is fine
	}{
		{`{"id":1,"result":{"x":["$string","$$lit"]}}`, ""},
		{`{"id":"$strng"}`, `at id: unknown special string "$strng"`},
		{`["$nope"]`, `at [0]: unknown special`},
		{`{"$each":1,"x":2}`, `must be the object's only key`},
		{`{"task":"${T}","x":"${_a1}"}`, ""},
		{`"${1x}"`, `unknown special string "${1x}"`},
		{`"${}"`, `unknown special string`},
	}
	for _, tt := range tests {
		p, err := decodeJSON([]byte(tt.pattern))
		if err != nil {
			t.Fatal(err)
		}
		err = CheckPattern(p)
		switch {
		case tt.bad == "" && err != nil:
			t.Errorf("CheckPattern(%s) = %v", tt.pattern, err)
		case tt.bad != "" && (err == nil || !strings.Contains(err.Error(), tt.bad)):
			t.Errorf("CheckPattern(%s) = %v, want an error containing %q", tt.pattern, err, tt.bad)
		}
	}
}

func TestParseCase(t *testing.T) {
	tests := []struct {
		file string
		bad  string // a substring of the error; empty when the case is fine
	}{
		{`{"name":"x","steps":[{"send":{"a":1}},{"expect":{"a":1}},{"expect_silence":0.1},{"send_raw":"zz"},{"close_stdin":true},{"expect_exit":0}]}`, ""},
		{`{"name":"x","steps":[{"send":{"a":1}}],"extra":1}`, `unknown field "extra"`},
		{`{"steps":[{"send":{"a":1}}]}`, `"name" is required`},
		{`{"name":"x","steps":[]}`, `"steps" is empty`},
		{`{"name":"x","steps":[{"send":{"a":1},"expect":{}}]}`, "exactly one"},
		{`{"name":"x","steps":[{"sned":{}}]}`, `unknown step "sned"`},
		{`{"name":"x","steps":[{"send":[1]}]}`, "want a message object"},
		{`{"name":"x","steps":[{"send_raw":"a\nb"}]}`, "single line"},
		{`{"name":"x","steps":[{"expect":"$strng"}]}`, "unknown special string"},
		{`{"name":"x","steps":[{"expect_silence":0}]}`, "positive number"},
		{`{"name":"x","steps":[{"close_stdin":false}]}`, "want true"},
		{`{"name":"x","steps":[{"expect_exit":"0"}]}`, "integer exit status"},
		{`{"name":"x","steps":[{"expect_unordered":[{"a":1},"$any"]}]}`, ""},
		{`{"name":"x","steps":[{"expect_unordered":[]}]}`, "non-empty array"},
		{`{"name":"x","steps":[{"expect_unordered":{"a":1}}]}`, "non-empty array"},
		{`{"name":"x","steps":[{"expect_unordered":[1,"$strng"]}]}`, `expect_unordered[1]: pattern (root): unknown special string`},
	}
	for _, tt := range tests {
		_, err := ParseCase([]byte(tt.file))
		switch {
		case tt.bad == "" && err != nil:
			t.Errorf("ParseCase(%s) = %v", tt.file, err)
		case tt.bad != "" && (err == nil || !strings.Contains(err.Error(), tt.bad)):
			t.Errorf("ParseCase(%s) = %v, want an error containing %q", tt.file, err, tt.bad)
		}
	}
}

func TestSendIsCompacted(t *testing.T) {
	c, err := ParseCase([]byte(`{"name":"x","steps":[{"send": {"id": 12345678901234567890, "b": [1, 2]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	// Compacted, not re-encoded: key order and the exact number survive.
	if got, want := string(c.Steps[0].Send), `{"id":12345678901234567890,"b":[1,2]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
