package jsonx

import (
	"encoding/json"
	"strconv"
	"testing"
)

func TestChunksAndCount(t *testing.T) {
	tests := []struct {
		in    string
		size  int
		runs  []string
		count int
	}{
		{`[]`, 3, nil, 0},
		{` [ ] `, 3, nil, 0},
		{`[1]`, 3, []string{`1`}, 1},
		{`[1,2,3,4,5]`, 2, []string{`1,2`, `3,4`, `5`}, 5},
		{`[ 1 , 2 ,3 ]`, 2, []string{`1 , 2`, `3`}, 3},
		{`["a,]","b\"]",{"k":[1,2]},[[],{}],null,true,-1.5e3]`, 3,
			[]string{`"a,]","b\"]",{"k":[1,2]}`, `[[],{}],null,true`, `-1.5e3`}, 7},
		{`["\\",1]`, 1, []string{`"\\"`, `1`}, 2},
	}
	for _, tt := range tests {
		runs, n, err := Chunks([]byte(tt.in), tt.size)
		if err != nil {
			t.Fatalf("Chunks(%s): %v", tt.in, err)
		}
		if n != tt.count || len(runs) != len(tt.runs) {
			t.Fatalf("Chunks(%s) = %q, %d; want %q, %d", tt.in, runs, n, tt.runs, tt.count)
		}
		for i := range runs {
			if string(runs[i]) != tt.runs[i] {
				t.Errorf("Chunks(%s)[%d] = %s; want %s", tt.in, i, runs[i], tt.runs[i])
			}
		}
		c, err := Count([]byte(tt.in))
		if err != nil || c != tt.count {
			t.Errorf("Count(%s) = %d, %v; want %d", tt.in, c, err, tt.count)
		}
		joined := Join(runs)
		var a, b any
		if err := json.Unmarshal(joined, &a); err != nil {
			t.Fatalf("Join made invalid JSON %s: %v", joined, err)
		}
		json.Unmarshal([]byte(tt.in), &b)
		if ja, jb := mustJSON(a), mustJSON(b); ja != jb {
			t.Errorf("Join(Chunks(%s)) = %s", tt.in, joined)
		}
	}
}

func TestNotArray(t *testing.T) {
	for _, in := range []string{`{}`, `1`, `"[1]"`, ``, `[1`} {
		if _, _, err := Chunks([]byte(in), 2); err == nil {
			t.Errorf("Chunks(%q): no error", in)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func FuzzChunks(f *testing.F) {
	f.Add([]byte(`[1,"a",{"b":[2]}]`), 2)
	f.Fuzz(func(t *testing.T, in []byte, size int) {
		if !json.Valid(in) || size < 1 || size > 100 {
			return
		}
		var want []json.RawMessage
		if json.Unmarshal(in, &want) != nil {
			return
		}
		runs, n, err := Chunks(in, size)
		if err != nil {
			t.Fatalf("Chunks(%s): %v", in, err)
		}
		if n != len(want) {
			t.Fatalf("Chunks(%s) counted %d, want %d", in, n, len(want))
		}
		var got []json.RawMessage
		if err := json.Unmarshal(Join(runs), &got); err != nil || len(got) != len(want) {
			t.Fatalf("Join(Chunks(%s)) = %s: %v", in, Join(runs), err)
		}
	})
}

func BenchmarkChunks(b *testing.B) {
	a := []byte{'['}
	for i := 0; i < 1000000; i++ {
		if i > 0 {
			a = append(a, ',')
		}
		a = strconv.AppendInt(a, int64(i), 10)
	}
	a = append(a, ']')
	b.SetBytes(int64(len(a)))
	for b.Loop() {
		if _, _, err := Chunks(a, 1000); err != nil {
			b.Fatal(err)
		}
	}
}

func TestChunksLimit(t *testing.T) {
	in := []byte(`["aaaa","bb","c",1,2,3,"dddddddd"]`)
	runs, counts, err := ChunksLimit(in, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`"aaaa"`, `"bb","c"`, `1,2,3`, `"dddddddd"`}
	if len(runs) != len(want) {
		t.Fatalf("runs %q", runs)
	}
	total := 0
	for i := range runs {
		if string(runs[i]) != want[i] {
			t.Errorf("run %d = %s, want %s", i, runs[i], want[i])
		}
		total += counts[i]
	}
	if total != 7 || counts[2] != 3 {
		t.Fatalf("counts %v", counts)
	}
	if string(in) != `["aaaa","bb","c",1,2,3,"dddddddd"]` {
		t.Fatal("input modified")
	}
}
