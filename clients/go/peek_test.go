package corral

import (
	"testing"

	json "github.com/segmentio/encoding/json"
)

// peekMap agrees with a full decode of the params.
func FuzzPeekMap(f *testing.F) {
	for _, s := range []string{
		`{"task":"t","fn":"double","items":[1,2,3]}`,
		`{"task":"t","fn":"double","items":[1,2,3],"star":true}`,
		`{"items":[[1],[2]],"star":true,"fn":"f"}`,
		`{"items":["a]","b"],"fn":"f\"x","star":false}`,
		`{"items":[{"a":[1,"]"]}], "fn" : "g" , "x":null}`,
		`{"f\u006e":"esc","items":[]}`,
		`{}`,
		`{"fn":1}`,
		`[1]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want struct {
			Fn   string `json:"fn"`
			Star bool   `json:"star"`
		}
		_, werr := json.Parse(b, &want, json.DontMatchCaseInsensitiveStructFields)
		if werr != nil || !json.Valid(b) || len(b) == 0 || b[0] != '{' {
			return
		}
		h, err := peekMap(b)
		if err != nil {
			t.Fatalf("peekMap(%s): %v", b, err)
		}
		if h.fn != want.Fn || h.star != want.Star {
			t.Fatalf("peekMap(%s) = %q, %v; want %q, %v", b, h.fn, h.star, want.Fn, want.Star)
		}
	})
}
