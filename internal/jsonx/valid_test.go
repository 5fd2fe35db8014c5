package jsonx

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValid(t *testing.T) {
	good := []string{`0`, `-1.5e+3`, `"a\"\\\/\b\f\n\r\t\u00e9"`, `[]`, `{}`, `[1,[2,{"a":[]}],"x"]`,
		` {"a" : 1 , "b":[true,false,null]} `, `"é"`, `1E5`, `0.0`}
	bad := []string{``, `[`, `]`, `{"a"}`, `{"a":}`, `{a:1}`, `[1,]`, `[1 2]`, `01`, `-`, `1.`, `1e`, `.5`,
		`"abc`, `"\x"`, `"\u12"`, "\"a\tb\"", `tru`, `nul`, `[1}`, `{"a":1]`, `1 2`, `{"a":1,}`, "\"\xff\"",
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)}
	for _, s := range good {
		if !Valid([]byte(s)) {
			t.Errorf("Valid(%q) = false", s)
		}
	}
	for _, s := range bad {
		if Valid([]byte(s)) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
}

func TestMembers(t *testing.T) {
	ms, err := Members([]byte(` {"jsonrpc":"2.0", "id" : 7,"params":{"a":[1,2]},"x":null} `))
	if err != nil {
		t.Fatal(err)
	}
	want := []Member{{"jsonrpc", []byte(`"2.0"`)}, {"id", []byte(`7`)}, {"params", []byte(`{"a":[1,2]}`)}, {"x", []byte(`null`)}}
	if len(ms) != len(want) {
		t.Fatalf("got %d members", len(ms))
	}
	for i := range ms {
		if ms[i].Key != want[i].Key || string(ms[i].Value) != string(want[i].Value) {
			t.Errorf("member %d = %s: %s", i, ms[i].Key, ms[i].Value)
		}
	}
	for _, s := range []string{`[]`, `{"a":1} x`, `{"a":1`, `{"a" 1}`} {
		if _, err := Members([]byte(s)); err == nil {
			t.Errorf("Members(%q): no error", s)
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range []string{`{"a":[1,"b",{"c":null}]}`, `[1e5,-0.5,"\u00e9"]`, `"x`, `[1,]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b) && utf8.Valid(b) && depthOK(b); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}

// depthOK approximates the nesting limit for the fuzz oracle.
func depthOK(b []byte) bool {
	d, in, esc := 0, false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && (c == '[' || c == '{'):
			d++
			if d > maxDepth {
				return false
			}
		case !in && (c == ']' || c == '}'):
			d--
		}
	}
	return true
}

func BenchmarkValid(b *testing.B) {
	a := []byte(`{"jsonrpc":"2.0","id":1,"result":[`)
	for i := 0; i < 1000000; i++ {
		if i > 0 {
			a = append(a, ',')
		}
		a = strconv.AppendInt(a, int64(i), 10)
	}
	a = append(a, "]}"...)
	b.SetBytes(int64(len(a)))
	for b.Loop() {
		if _, err := Members(a); err != nil {
			b.Fatal(err)
		}
	}
}
