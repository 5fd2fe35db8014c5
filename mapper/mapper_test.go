package mapper

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestParseHalt(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want Halt
	}{
		{"", Halt{}},
		{"never", Halt{}},
		{"0", Halt{}},
		{"1", Halt{Count: 1}},
		{"2", Halt{Now: true, Count: 1}},
		{"now,fail=1", Halt{Now: true, Count: 1}},
		{"soon,fail=2", Halt{Count: 2}},
		{"now,success=1", Halt{Now: true, OnSuccess: true, Count: 1}},
		{"soon,success=3", Halt{OnSuccess: true, Count: 3}},
		{"soon,fail=10%", Halt{Percent: 10}},
		{"now,fail=100%", Halt{Now: true, Percent: 100}},
		{"now,fail=2.5%", Halt{Now: true, Percent: 2.5}},
	}
	for _, c := range good {
		got, err := ParseHalt(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseHalt(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"later,fail=1", "now", "now,", "now,fail", "now,fail=", "now,fail=0", "now,fail=-1",
		"now,fail=x", "now,done=1", "soon,fail=0%", "soon,fail=101%", "soon,fail=%", "3", "now,fail=1,soon"} {
		if h, err := ParseHalt(in); err == nil {
			t.Errorf("ParseHalt(%q) = %+v, want an error", in, h)
		}
	}
}

func TestHaltTriggered(t *testing.T) {
	t.Parallel()
	cases := []struct {
		h            string
		done, failed int
		want         bool
	}{
		{"never", 100, 100, false},
		{"now,fail=1", 1, 0, false},
		{"now,fail=1", 5, 1, true},
		{"soon,fail=2", 5, 1, false},
		{"soon,fail=2", 5, 2, true},
		{"now,success=1", 3, 3, false},
		{"now,success=1", 4, 3, true},
		{"soon,fail=50%", 0, 0, false},
		{"soon,fail=50%", 4, 1, false},
		{"soon,fail=50%", 4, 2, true},
		{"soon,success=50%", 4, 4, false},
		{"soon,success=50%", 2, 1, true},
	}
	for _, c := range cases {
		h, err := ParseHalt(c.h)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.triggered(c.done, c.failed); got != c.want {
			t.Errorf("%s after %d done, %d failed: %v, want %v", c.h, c.done, c.failed, got, c.want)
		}
	}
}

// What a run writes, a later --resume reads back.
func TestJoblogRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "log")
	l, err := openJoblog(path, false)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1700000000, 123456000)
	entries := []entry{
		{seq: 1, start: start, runtime: 1500 * time.Millisecond, send: 3, recv: 10, command: "echo a"},
		{seq: 2, start: start, exit: 3, failed: true, command: "echo 'b\tc\nd'"},
		{seq: 4, start: start, exit: -1, signal: 9, failed: true, command: "sleep 9"},
		{seq: 5, start: start, command: "echo e"},
	}
	for i := range entries {
		l.write(&entries[i])
	}
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	rows := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(rows) != 5 || rows[0] != strings.TrimSuffix(joblogHeader, "\n") {
		t.Fatalf("log:\n%s", data)
	}
	for _, row := range rows {
		if n := len(strings.Split(row, "\t")); n != 9 {
			t.Fatalf("row %q has %d columns, want 9", row, n)
		}
	}
	if want := "1\t:\t1700000000.123\t1.500\t3\t10\t0\t0\techo a"; rows[1] != want {
		t.Fatalf("row 1 = %q, want %q", rows[1], want)
	}
	if want := `echo 'b\tc\nd'`; !strings.HasSuffix(rows[2], "\t"+want) {
		t.Fatalf("row 2 = %q: the command must stay on one line and in one column", rows[2])
	}
	all, err := readJoblog(path, false)
	if err != nil || !reflect.DeepEqual(all, map[int64]bool{1: true, 2: true, 4: true, 5: true}) {
		t.Fatalf("resume set %v, %v", all, err)
	}
	ok, err := readJoblog(path, true)
	if err != nil || !reflect.DeepEqual(ok, map[int64]bool{1: true, 5: true}) {
		t.Fatalf("resume-failed set %v, %v", ok, err)
	}

	// Resuming appends without a second header.
	l, err = openJoblog(path, true)
	if err != nil {
		t.Fatal(err)
	}
	l.write(&entry{seq: 2, start: start, command: "echo b"})
	l.close()
	data, _ = os.ReadFile(path)
	if strings.Count(string(data), "Seq\t") != 1 || strings.Count(string(data), "\n") != 6 {
		t.Fatalf("after resume:\n%s", data)
	}
	ok, _ = readJoblog(path, true)
	if !reflect.DeepEqual(ok, map[int64]bool{1: true, 2: true, 5: true}) {
		t.Fatalf("a later success of job 2 must count: %v", ok)
	}
}

func TestReadJoblogEdges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing, err := readJoblog(filepath.Join(dir, "none"), false)
	if err != nil || len(missing) != 0 {
		t.Fatalf("missing log: %v, %v", missing, err)
	}
	write := func(s string) string {
		p := filepath.Join(dir, "log")
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	// A last line cut short by a crash does not count.
	p := write(joblogHeader + "1\t:\t0\t0\t0\t0\t0\t0\tx\n2\t:\t0\t0\t0\t0\t0\t0\ty")
	got, err := readJoblog(p, false)
	if err != nil || !reflect.DeepEqual(got, map[int64]bool{1: true}) {
		t.Fatalf("torn last line: %v, %v", got, err)
	}
	// parallel's own log (no header check beyond the first line).
	p = write("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n" +
		"3\t:\t1700000000.000\t0.002\t0\t2\t1\t0\tfalse a\n")
	got, err = readJoblog(p, true)
	if err != nil || len(got) != 0 {
		t.Fatalf("failed job counted as done: %v, %v", got, err)
	}
	for _, bad := range []string{"1\t:\t0\n", "x\t:\t0\t0\t0\t0\t0\t0\tcmd\n", "1\t:\t0\t0\t0\t0\tz\t0\tcmd\n"} {
		if _, err := readJoblog(write(joblogHeader+bad), false); err == nil {
			t.Errorf("log line %q accepted", bad)
		}
	}
}

func TestOpenJoblogUnwritable(t *testing.T) {
	t.Parallel()
	if _, err := openJoblog(filepath.Join(t.TempDir(), "no", "such", "dir", "log"), false); err == nil {
		t.Fatal("opened a log in a missing directory")
	}
}

func readAll(t *testing.T, in *inputs) []string {
	t.Helper()
	var got []string
	for {
		rec, err := in.next()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(rec))
	}
}

func TestInputs(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1<<20)
	cases := []struct {
		name string
		in   string
		sep  byte
		want []string
	}{
		{"empty", "", '\n', nil},
		{"lines", "a\nb\n", '\n', []string{"a", "b"}},
		{"no final newline", "a\nb", '\n', []string{"a", "b"}},
		{"empty lines kept", "\n\na\n", '\n', []string{"", "", "a"}},
		{"cr kept", "a\r\n", '\n', []string{"a\r"}},
		{"bytes kept", "\xff\x00 $x '\"\\\n", '\n', []string{"\xff\x00 $x '\"\\"}},
		{"nul", "a\nb\x00c\x00", 0, []string{"a\nb", "c"}},
		{"long line", "s\n" + long + "\ne\n", '\n', []string{"s", long, "e"}},
	}
	for _, c := range cases {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(c.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			in := &inputs{files: []string{"-"}, stdin: r, sep: c.sep, max: MaxInput}
			if got := readAll(t, in); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s (one byte at a time %v): got %d inputs %.40q, want %d", c.name, oneByte, len(got), got, len(c.want))
			}
		}
	}
}

func TestInputsFilesAndLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("1\n2"), 0o644)
	os.WriteFile(b, []byte("3\n"), 0o644)
	in := &inputs{files: []string{a, "-", b}, stdin: strings.NewReader("s\n"), sep: '\n', max: MaxInput}
	if got := readAll(t, in); !reflect.DeepEqual(got, []string{"1", "2", "s", "3"}) {
		t.Fatalf("got %q", got)
	}
	in = &inputs{files: []string{filepath.Join(dir, "missing")}, sep: '\n', max: MaxInput}
	if _, err := in.next(); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing file: %v", err)
	}
	in = &inputs{files: []string{"-"}, stdin: bytes.NewReader(bytes.Repeat([]byte("y"), 1<<20)), sep: '\n', max: 1000}
	if _, err := in.next(); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("over the limit: %v", err)
	}
	in = &inputs{args: []string{}, sep: '\n'}
	if _, err := in.next(); err != io.EOF {
		t.Fatalf("no args: %v", err)
	}
}
