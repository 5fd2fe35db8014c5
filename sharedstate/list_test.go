package sharedstate

import (
	"strings"
	"testing"

	json "github.com/segmentio/encoding/json"
)

func items(l List) string {
	vs, _ := l.Slice(Omit, Omit, 1)
	var s []string
	for _, v := range vs {
		s = append(s, string(v))
	}
	return "[" + strings.Join(s, ",") + "]"
}

func rawList(ss ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(ss))
	for i, s := range ss {
		out[i] = raw(s)
	}
	return out
}

func TestList(t *testing.T) {
	l := create[List](t, KindList, "l", Params{Initial: raw("[1, 2]")})
	noErr(t, l.Append(raw("3")))
	noErr(t, l.Extend(rawList("4", "5")))
	noErr(t, l.Insert(-100, raw("0")))
	noErr(t, l.Insert(100, raw("9")))
	noErr(t, l.Insert(-1, raw("8")))
	if items(l) != "[0,1,2,3,4,5,8,9]" {
		t.Fatalf("list %s", items(l))
	}
	v, err := l.Pop(-1)
	if err != nil || string(v) != "9" {
		t.Fatalf("pop = %s, %v", v, err)
	}
	v, _ = l.Pop(0)
	if string(v) != "0" {
		t.Fatalf("pop(0) = %s", v)
	}
	_, err = l.Pop(10)
	wantErr(t, err, ErrIndex)
	noErr(t, l.Remove(raw("2.0"))) // equal to 2, as in Python
	wantErr(t, l.Remove(raw("2")), ErrValue)
	if i, err := l.Index(raw("4"), Omit, Omit); err != nil || i != 2 {
		t.Fatalf("index = %d, %v", i, err)
	}
	_, err = l.Index(raw("4"), 3, Omit)
	wantErr(t, err, ErrValue)
	noErr(t, l.Extend(rawList(`{"a":1,"b":2}`, "1")))
	if n, _ := l.Count(raw("1")); n != 2 {
		t.Fatalf("count 1 = %d", n)
	}
	if n, _ := l.Count(raw(`{"b":2,"a":1.0}`)); n != 1 {
		t.Fatalf("count object = %d", n)
	}
	wantErr(t, l.Sort(false), ErrType) // an object in the list
	l.Reverse()
	if items(l) != `[1,{"a":1,"b":2},8,5,4,3,1]` {
		t.Fatalf("reversed %s", items(l))
	}
	noErr(t, l.Delete(1))
	wantErr(t, l.Delete(6), ErrIndex)
	noErr(t, l.Sort(false))
	if items(l) != "[1,1,3,4,5,8]" {
		t.Fatalf("sorted %s", items(l))
	}
	if v, _ := l.Get(-1); string(v) != "8" {
		t.Fatalf("l[-1] = %s", v)
	}
	noErr(t, l.Set(0, raw("0")))
	wantErr(t, l.Set(6, raw("0")), ErrIndex)
	for _, tt := range []struct {
		lo, hi, step int
		want         string
	}{
		{Omit, Omit, -1, "[8,5,4,3,1,0]"}, {1, 4, 1, "[1,3,4]"}, {Omit, Omit, 2, "[0,3,5]"},
		{-2, Omit, 1, "[5,8]"}, {4, 1, -2, "[5,3]"}, {10, 20, 1, "[]"},
	} {
		vs, err := l.Slice(tt.lo, tt.hi, tt.step)
		noErr(t, err)
		b, _ := json.Marshal(vs)
		if string(b) != tt.want {
			t.Errorf("l[%d:%d:%d] = %s; want %s", tt.lo, tt.hi, tt.step, b, tt.want)
		}
	}
	_, err = l.Slice(0, 1, 0)
	wantErr(t, err, ErrValue)
	noErr(t, l.DeleteSlice(Omit, Omit, 2))
	if items(l) != "[1,4,8]" {
		t.Fatalf("after del l[::2]: %s", items(l))
	}
	_, err = create[List](t, KindList, "e", Params{}).Pop(-1)
	wantErr(t, err, ErrIndex)
}

func TestListSort(t *testing.T) {
	tests := []struct {
		in, want string
		reverse  bool
		err      error
	}{
		{in: `[3, 1.5, -2, 1e2, 18446744073709551616]`, want: `[-2,1.5,3,1e2,18446744073709551616]`},
		{in: `["b", "a", "é", "B"]`, want: `["B","a","b","é"]`},
		{in: `[1, 1.0, 0]`, want: `[1,1.0,0]`, reverse: true}, // stable in reverse, as Python
		{in: `[1, "a"]`, err: ErrType},
		{in: `[true, false]`, err: ErrType},
		{in: `[{"a":1}]`, want: `[{"a":1}]`},
		{in: `[]`, want: `[]`},
	}
	for _, tt := range tests {
		s := newStore(t, Options{})
		l := createIn[List](t, s, KindList, "l", Params{Initial: raw(tt.in)})
		err := l.Sort(tt.reverse)
		if tt.err != nil {
			wantErr(t, err, tt.err)
			continue
		}
		noErr(t, err)
		if got := strings.ReplaceAll(items(l), " ", ""); got != tt.want {
			t.Errorf("sort(%s) = %s; want %s", tt.in, got, tt.want)
		}
	}
}
