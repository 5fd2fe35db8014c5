package sharedstate

import (
	"strconv"
	"strings"
	"testing"

	json "github.com/segmentio/encoding/json"
)

func keys(d Dict) string {
	var ks []string
	for _, k := range d.Keys() {
		ks = append(ks, string(k))
	}
	return strings.Join(ks, " ")
}

// Keys keep their JSON type: 1, "2" and 0.25 are distinct; 1, 1.0 and 1e0
// are one key, as in Python; objects are unhashable.
func TestDictKeyTyping(t *testing.T) {
	d := create[Dict](t, KindDict, "d", Params{})
	noErr(t, d.Set(raw("1"), raw(`"int"`)))
	noErr(t, d.Set(raw(`"1"`), raw(`"str"`)))
	noErr(t, d.Set(raw(`"2"`), raw(`"two"`)))
	noErr(t, d.Set(raw("0.25"), raw(`"quarter"`)))
	noErr(t, d.Set(raw("true"), raw(`"bool"`)))
	noErr(t, d.Set(raw("[1, \"a\"]"), raw(`"tuple"`)))
	if d.Len() != 6 {
		t.Fatalf("len %d: %s", d.Len(), keys(d))
	}
	noErr(t, d.Set(raw("1.0"), raw(`"float"`)))
	noErr(t, d.Set(raw("1e0"), raw(`"exp"`)))
	if d.Len() != 6 {
		t.Fatalf("1.0 did not collide with 1: %s", keys(d))
	}
	for _, tt := range []struct{ k, v string }{
		{"1", `"exp"`}, {"1.00", `"exp"`}, {`"1"`, `"str"`}, {`"2"`, `"two"`}, {"2.5e-1", `"quarter"`},
		{"true", `"bool"`}, {`[1.0,"a"]`, `"tuple"`},
	} {
		v, err := d.Lookup(raw(tt.k))
		if err != nil || string(v) != tt.v {
			t.Errorf("d[%s] = %s, %v; want %s", tt.k, v, err, tt.v)
		}
	}
	if keys(d) != `1 "1" "2" 0.25 true [1, "a"]` {
		t.Fatalf("keys (first spelling, insertion order) = %s", keys(d))
	}
	_, err := d.Lookup(raw("2"))
	wantErr(t, err, ErrKey)
	wantErr(t, d.Set(raw(`{"a":1}`), raw("1")), ErrType)
	wantErr(t, d.Set(raw(`[{"a":1}]`), raw("1")), ErrType)
	wantErr(t, d.Set(raw(`1`), raw("nope")), ErrType)
	// Big integers stay exact: 2**64 and 2**64+1 differ, 2**53+1 differs
	// from the float 2**53.
	noErr(t, d.Set(raw("18446744073709551616"), raw("1")))
	noErr(t, d.Set(raw("18446744073709551617"), raw("2")))
	noErr(t, d.Set(raw("9007199254740993"), raw("3")))
	noErr(t, d.Set(raw("9007199254740992.0"), raw("4")))
	if d.Len() != 10 {
		t.Fatalf("big keys merged: %s", keys(d))
	}
}

func TestDictOps(t *testing.T) {
	d := create[Dict](t, KindDict, "d", Params{})
	noErr(t, d.Update([]Pair{{raw(`"a"`), raw("1")}, {raw(`"b"`), raw("2")}, {raw(`"c"`), raw("3")}}))
	if v, _ := d.Get(raw(`"x"`), nil); string(v) != "null" {
		t.Fatalf("get missing = %s", v)
	}
	if v, _ := d.Get(raw(`"x"`), raw("9")); string(v) != "9" {
		t.Fatalf("get default = %s", v)
	}
	if ok, _ := d.Contains(raw(`"b"`)); !ok {
		t.Fatal("contains b")
	}
	wantErr(t, d.Delete(raw(`"x"`)), ErrKey)
	noErr(t, d.Delete(raw(`"b"`)))
	_, err := d.Pop(raw(`"b"`), nil)
	wantErr(t, err, ErrKey)
	if v, _ := d.Pop(raw(`"b"`), raw("0")); string(v) != "0" {
		t.Fatalf("pop default = %s", v)
	}
	if v, _ := d.Setdefault(raw(`"z"`), raw("26")); string(v) != "26" {
		t.Fatalf("setdefault = %s", v)
	}
	if v, _ := d.Setdefault(raw(`"z"`), raw("0")); string(v) != "26" {
		t.Fatalf("setdefault existing = %s", v)
	}
	// Popitem is LIFO.
	for _, want := range []string{`"z"`, `"c"`, `"a"`} {
		p, err := d.Popitem()
		if err != nil || string(p.Key) != want {
			t.Fatalf("popitem = %s, %v; want %s", p.Key, err, want)
		}
	}
	_, err = d.Popitem()
	wantErr(t, err, ErrKey)
	// Re-setting a key keeps its place; deleting and re-adding moves it
	// to the end, as Python.
	noErr(t, d.Update([]Pair{{raw("1"), raw("1")}, {raw("2"), raw("2")}, {raw("3"), raw("3")}}))
	noErr(t, d.Set(raw("1"), raw("10")))
	noErr(t, d.Delete(raw("2")))
	noErr(t, d.Set(raw("2"), raw("20")))
	if keys(d) != "1 3 2" {
		t.Fatalf("order %s", keys(d))
	}
	b, _ := json.Marshal(d.Items())
	if string(b) != `[{"key":1,"value":10},{"key":3,"value":3},{"key":2,"value":20}]` {
		t.Fatalf("items %s", b)
	}
	if len(d.Copy()) != 3 || len(d.Values()) != 3 {
		t.Fatal("copy/values")
	}
	// A bad pair in Update leaves the dict unchanged.
	wantErr(t, d.Update([]Pair{{raw("4"), raw("4")}, {raw("{}"), raw("5")}}), ErrType)
	if d.Len() != 3 {
		t.Fatal("failed update changed the dict")
	}
	d.Clear()
	if d.Len() != 0 || len(d.Items()) != 0 {
		t.Fatal("clear")
	}
	// Many deletions compact without losing order.
	for i := 0; i < 100; i++ {
		noErr(t, d.Set(raw(strconv.Itoa(i)), raw("1")))
	}
	for _, k := range d.Keys()[:90] {
		noErr(t, d.Delete(k))
	}
	if d.Len() != 10 || string(d.Keys()[0]) != "90" {
		t.Fatalf("after deletions: %s", keys(d))
	}
}

func TestNamespace(t *testing.T) {
	n := create[Namespace](t, KindNamespace, "ns", Params{})
	_, err := n.GetAttr("x")
	wantErr(t, err, ErrAttribute)
	noErr(t, n.SetAttr("x", raw("1")))
	noErr(t, n.SetAttr("a", raw(`"s"`)))
	if v, _ := n.GetAttr("x"); string(v) != "1" {
		t.Fatalf("x = %s", v)
	}
	if at := n.Attrs(); len(at) != 2 || at[0].Name != "a" {
		t.Fatalf("attrs %v", at)
	}
	noErr(t, n.DelAttr("x"))
	wantErr(t, n.DelAttr("x"), ErrAttribute)
}
