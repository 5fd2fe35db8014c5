package pipes

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	json "github.com/segmentio/encoding/json"
)

func TestLineReader(t *testing.T) {
	lr := NewLineReader(strings.NewReader("a\nbb\r\n\n"+strings.Repeat("x", 10)+"\nlast"), 10)
	want := []string{"a", "bb", "", strings.Repeat("x", 10), "last"}
	for _, w := range want {
		got, err := lr.ReadLine()
		if err != nil || string(got) != w {
			t.Fatalf("got %q, %v; want %q", got, err, w)
		}
	}
	if _, err := lr.ReadLine(); err != io.EOF {
		t.Fatalf("got %v, want EOF", err)
	}
	lr = NewLineReader(strings.NewReader(strings.Repeat("y", 11)+"\n"), 10)
	if _, err := lr.ReadLine(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("11 bytes over a 10-byte limit: %v", err)
	}
	// Lines longer than the internal buffer still arrive whole.
	big := strings.Repeat("z", 300<<10)
	lr = NewLineReader(strings.NewReader(big+"\nok\n"), 0)
	if got, err := lr.ReadLine(); err != nil || string(got) != big {
		t.Fatalf("big line: %d bytes, %v", len(got), err)
	}
	if got, _ := lr.ReadLine(); string(got) != "ok" {
		t.Fatalf("after big line: %q", got)
	}
}

func TestForwardLines(t *testing.T) {
	var buf bytes.Buffer
	log := zerolog.New(&buf).With().Str("worker", "w-1").Logger()
	in := "plain text\n" +
		`{"level":"warn","message":"disk low","free":12}` + "\n" +
		`{"not":"a log"}` + "\n"
	ForwardLines(strings.NewReader(in), log, "worker stderr")
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad log line %q", l)
		}
		got = append(got, m)
	}
	if len(got) != 3 {
		t.Fatalf("got %d log lines: %s", len(got), buf.String())
	}
	if got[0]["line"] != "plain text" || got[0]["worker"] != "w-1" || got[0]["level"] != "info" {
		t.Errorf("plain line: %v", got[0])
	}
	if got[1]["level"] != "warn" || got[1]["message"] != "disk low" || got[1]["free"] != float64(12) {
		t.Errorf("JSON line: %v", got[1])
	}
	if got[2]["line"] != `{"not":"a log"}` {
		t.Errorf("JSON without level: %v", got[2])
	}
}

// oneByte reads a byte at a time, the worst case for buffer management.
type oneByte struct{ r io.Reader }

func (o oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nbb\r\n\nlast"), true)
	f.Add([]byte(strings.Repeat("x", 70000)+"\ny\n"), false)
	f.Fuzz(func(t *testing.T, in []byte, slow bool) {
		var r io.Reader = bytes.NewReader(in)
		if slow {
			r = oneByte{r}
		}
		lr := NewLineReader(r, 0)
		want := strings.Split(string(in), "\n")
		for i := 0; i < len(want)-1; i++ {
			want[i] = strings.TrimSuffix(want[i], "\r") // only terminated lines lose a \r
		}
		if want[len(want)-1] == "" {
			want = want[:len(want)-1]
		}
		for i, w := range want {
			got, err := lr.ReadLine()
			if err != nil || string(got) != w {
				t.Fatalf("line %d: got %q, %v; want %q", i, got, err, w)
			}
		}
		if _, err := lr.ReadLine(); err != io.EOF {
			t.Fatalf("after the last line: %v", err)
		}
	})
}

// A read stopped by its deadline is not the end of the stream: the part of
// the line read so far is kept and the next ReadLine finishes it.
func TestLineReaderDeadlineKeepsPartialLine(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	lr := NewLineReader(r, 0)
	w.WriteString("ab")
	r.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := lr.ReadLine(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadLine with nothing whole to read: %v, want a deadline error", err)
	}
	r.SetReadDeadline(time.Time{})
	w.WriteString("c\nd\n")
	for _, want := range []string{"abc", "d"} {
		line, err := lr.ReadLine()
		if err != nil || string(line) != want {
			t.Fatalf("ReadLine after the deadline = %q, %v; want %q", line, err, want)
		}
	}
}
