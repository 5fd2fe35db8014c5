package protocol

import (
	"os"
	"testing"

	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol/internal/generrors"
)

func TestErrorsGenUpToDate(t *testing.T) {
	src, err := os.ReadFile("../spec/errors.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := generrors.Generate(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("errors_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("errors_gen.go is stale: run go generate ./protocol")
	}
	if CodeTooLarge != jsonrpc.CodeTooLarge || CodeParseError != jsonrpc.CodeParseError {
		t.Fatal("jsonrpc's codes disagree with spec/errors.json")
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		params string
		want   string
	}{
		{``, "invalid params: params object is required"},
		{`[1]`, "invalid params: params must be an object, got an array"},
		{`{"pool":5}`, `invalid params: field "pool": want a string, got a number`},
		{`{"pool":"p","fn":"f","bogus":1}`, `invalid params: unknown field "bogus"`},
		{`{"pool":"p","timeout":-1}`, `invalid params: field "timeout": want a non-negative number of seconds, got -1`},
		{`{"pool":"p","timeout":"soon"}`, `invalid params: field "timeout": want a duration such as "30s" or a number of seconds, got "soon"`},
	}
	for _, tt := range tests {
		var p SubmitParams
		err := Decode([]byte(tt.params), &p)
		if err == nil || err.Message != tt.want || err.Code != CodeInvalidParams {
			t.Errorf("Decode(%s) = %v; want %q", tt.params, err, tt.want)
		}
	}
	var p SubmitParams
	if err := Decode([]byte(`{"pool":"p","fn":"f","args":[1],"timeout":1.5}`), &p); err != nil || p.Timeout.Duration().Seconds() != 1.5 {
		t.Fatalf("valid params: %v %+v", err, p)
	}
}

func TestDecodeExcept(t *testing.T) {
	var p MapParams
	items, err := DecodeExcept([]byte(`{"pool":"p","items":[1, {"a":[2]}],"fn":"f","chunksize":3}`), &p, "items")
	if err != nil || string(items) != `[1, {"a":[2]}]` || p.Pool != "p" || p.Fn != "f" || p.Chunksize != 3 {
		t.Fatalf("got %s %+v %v", items, p, err)
	}
	if _, err := DecodeExcept([]byte(`{"pool":"p","items":[],"bogus":1}`), &p, "items"); err == nil || err.Message != `invalid params: unknown field "bogus"` {
		t.Fatalf("unknown field: %v", err)
	}
	if _, err := DecodeExcept([]byte(`[1]`), &p, "items"); err == nil || err.Code != CodeInvalidParams {
		t.Fatalf("array params: %v", err)
	}
}
