package pipes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/child"
)

const python = "/root/.pyenv/versions/3.11.7/bin/python3"

// upperPy upper-cases each line with plain print: it block-buffers when
// its stdout is a pipe and PYTHONUNBUFFERED is unset.
const upperPy = "import sys\nfor l in sys.stdin: print(l.rstrip('\\n').upper())"

// filterEnv is the test's environment without PYTHONUNBUFFERED, so Python
// filters buffer as they would for a user.
func filterEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PYTHONUNBUFFERED=") {
			env = append(env, kv)
		}
	}
	return env
}

// doneLog collects the batches a filter completes.
type doneLog struct {
	mu      sync.Mutex
	batches []*Batch
	extra   []string
	ch      chan *Batch
}

func newDoneLog() *doneLog { return &doneLog{ch: make(chan *Batch, 10000)} }

func (d *doneLog) done(b *Batch) {
	d.mu.Lock()
	d.batches = append(d.batches, b)
	d.mu.Unlock()
	d.ch <- b
}

func (d *doneLog) extraLine(l []byte) {
	d.mu.Lock()
	d.extra = append(d.extra, string(l))
	d.mu.Unlock()
}

func (d *doneLog) wait(t *testing.T, what string) *Batch {
	t.Helper()
	select {
	case b := <-d.ch:
		return b
	case <-time.After(15 * time.Second):
		t.Fatalf("no batch completed: %s", what)
		return nil
	}
}

func startFilter(t *testing.T, spec FilterSpec, d *doneLog) *Filter {
	t.Helper()
	sp := child.NewSpawner()
	t.Cleanup(sp.Close)
	if spec.Env == nil {
		spec.Env = filterEnv()
	}
	spec.Done = d.done
	spec.Extra = d.extraLine
	f, err := StartFilter(sp, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Stop(errors.New("test over"), 100*time.Millisecond)
		f.Wait(100 * time.Millisecond)
	})
	return f
}

// lines makes a batch of n lines "prefix-i".
func lines(prefix string, from, n int) *Batch {
	var buf bytes.Buffer
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&buf, "%s-%d\n", prefix, i)
	}
	return NewBatch(buf.Bytes())
}

func TestBatchBookkeeping(t *testing.T) {
	t.Parallel()
	b := NewBatch([]byte("a\n\nccc\n"))
	if b.Len() != 3 || b.Answered() != 0 || b.Complete() {
		t.Fatalf("len %d answered %d", b.Len(), b.Answered())
	}
	if string(b.Line(0)) != "a" || string(b.Line(1)) != "" || string(b.Line(2)) != "ccc" {
		t.Fatalf("lines %q %q %q", b.Line(0), b.Line(1), b.Line(2))
	}
	b.Out = append(b.Out, "A\n"...)
	b.OutEnds = append(b.OutEnds, len(b.Out))
	if string(b.pending()) != "\nccc\n" {
		t.Fatalf("pending %q", b.pending())
	}
	b.Skip()
	b.Out = append(b.Out, "\n"...)
	b.OutEnds = append(b.OutEnds, len(b.Out))
	if !b.Complete() || string(b.Answer(0)) != "A" || string(b.Answer(1)) != "" || string(b.Answer(2)) != "" {
		t.Fatalf("answers %q %q %q", b.Answer(0), b.Answer(1), b.Answer(2))
	}
}

// Many batches go to one filter; every line gets its own answer, in order.
func TestFilterManyBatches(t *testing.T) {
	t.Parallel()
	d := newDoneLog()
	f := startFilter(t, FilterSpec{Path: "awk", Args: []string{"{ print toupper($0) }"}}, d)
	const nb, per = 300, 100
	sent := make([]*Batch, nb)
	for i := range nb {
		sent[i] = lines("line", i*per, per)
		if err := f.Send(context.Background(), sent[i]); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	f.CloseInput()
	ex := f.Wait(time.Second)
	if ex.Exit.Code != 0 || len(ex.Pending) != 0 || ex.ReadErr != nil {
		t.Fatalf("exit %+v", ex)
	}
	if len(d.batches) != nb {
		t.Fatalf("%d batches done, want %d", len(d.batches), nb)
	}
	for i, b := range d.batches {
		if b != sent[i] {
			t.Fatalf("batch %d completed out of order", i)
		}
		for j := range b.Len() {
			if want := strings.ToUpper(string(b.Line(j))); string(b.Answer(j)) != want {
				t.Fatalf("batch %d line %d: %q, want %q", i, j, b.Answer(j), want)
			}
		}
	}
	if f.Answers() != nb*per {
		t.Fatalf("Answers() = %d", f.Answers())
	}
}

// The filter answers only after reading all its input: Send must keep
// many batches in flight rather than wait for each to be answered.
func TestFilterPipelines(t *testing.T) {
	t.Parallel()
	d := newDoneLog()
	const nb = 50
	f := startFilter(t, FilterSpec{Path: "awk", Args: []string{"{ a[NR] = $0 } END { for (i = 1; i <= NR; i++) print a[i] }"}, MaxBatches: nb}, d)
	for i := range nb {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := f.Send(ctx, lines("x", i*10, 10))
		cancel()
		if err != nil {
			t.Fatalf("send %d with no answer yet: %v", i, err)
		}
	}
	if d, n := f.Stalled(); n != nb || d < 0 {
		t.Fatalf("Stalled() = %v, %d; want %d batches waiting", d, n, nb)
	}
	f.CloseInput()
	ex := f.Wait(time.Second)
	if len(ex.Pending) != 0 || len(d.batches) != nb {
		t.Fatalf("pending %d, done %d", len(ex.Pending), len(d.batches))
	}
}

// Send waits while the window is full, and gives up when its context ends.
func TestFilterWindowAndContext(t *testing.T) {
	t.Parallel()
	d := newDoneLog()
	// Reads its input but never answers.
	f := startFilter(t, FilterSpec{Path: "sh", Args: []string{"-c", "cat >/dev/null"}, Window: 100}, d)
	if err := f.Send(context.Background(), lines("a", 0, 40)); err != nil { // 170 bytes
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	b := lines("b", 0, 1)
	if err := f.Send(ctx, b); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send past a full window: %v, want the context's error", err)
	}
	f.Stop(errors.New("done"), time.Second)
	ex := f.Wait(time.Second)
	if len(ex.Pending) != 1 {
		t.Fatalf("%d pending; the batch refused by Send must not be among them", len(ex.Pending))
	}
}

// A filter that exits part-way leaves its batches with the right answered
// counts, so the caller can resume each at its first unanswered line.
func TestFilterExitsEarly(t *testing.T) {
	t.Parallel()
	d := newDoneLog()
	// sh's read takes one line at a time (mawk would read ahead).
	f := startFilter(t, FilterSpec{Path: "sh", Args: []string{"-c", `n=0; while IFS= read -r l; do n=$((n+1)); printf '%s\n' "$l" | tr a-z A-Z; [ $n = 6 ] && exit 3; done`}}, d)
	sent := []*Batch{lines("a", 0, 4), lines("b", 0, 4), lines("c", 0, 4)}
	for _, b := range sent {
		if err := f.Send(context.Background(), b); err != nil && !errors.Is(err, ErrFilterGone) {
			t.Fatal(err)
		}
	}
	ex := f.Wait(time.Second)
	if ex.Exit.Code != 3 {
		t.Fatalf("exit %+v, want status 3", ex.Exit)
	}
	if len(d.batches) != 1 || d.batches[0] != sent[0] {
		t.Fatalf("%d batches done, want the first", len(d.batches))
	}
	if len(ex.Pending) != 2 || ex.Pending[0] != sent[1] || ex.Pending[1] != sent[2] {
		t.Fatalf("pending %d batches, want the second and third", len(ex.Pending))
	}
	if n := sent[1].Answered(); n != 2 {
		t.Fatalf("second batch answered %d lines, want 2", n)
	}
	if string(sent[1].Answer(1)) != "B-1" {
		t.Fatalf("answer %q", sent[1].Answer(1))
	}
	if sent[2].Answered() != 0 {
		t.Fatalf("third batch answered %d", sent[2].Answered())
	}
	// A new filter picks the half-done batch up at its first unanswered line.
	d2 := newDoneLog()
	g := startFilter(t, FilterSpec{Path: "cat"}, d2)
	if err := g.Send(context.Background(), sent[1]); err != nil {
		t.Fatal(err)
	}
	d2.wait(t, "resumed batch")
	want := []string{"A-0", "B-1", "b-2", "b-3"}
	for i, w := range want[1:] {
		if got := string(sent[1].Answer(i + 1)); got != w {
			t.Fatalf("resumed answer %d = %q, want %q", i+1, got, w)
		}
	}
	g.CloseInput()
	if ex := g.Wait(time.Second); len(ex.Pending) != 0 {
		t.Fatalf("pending after resume: %d", len(ex.Pending))
	}
}

// Sends to a filter that has gone report ErrFilterGone and the batch still
// comes back from Wait.
func TestFilterSendAfterExit(t *testing.T) {
	t.Parallel()
	d := newDoneLog()
	f := startFilter(t, FilterSpec{Path: "true"}, d)
	select {
	case <-f.proc.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("true did not exit")
	}
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = f.Send(context.Background(), lines("x", i, 1))
		time.Sleep(10 * time.Millisecond)
	}
	if !errors.Is(err, ErrFilterGone) {
		t.Fatalf("send to an exited filter: %v", err)
	}
	ex := f.Wait(time.Second)
	if len(ex.Pending) == 0 {
		t.Fatal("batches sent to the dead filter were lost")
	}
	for _, b := range ex.Pending {
		if b.Answered() != 0 {
			t.Fatal("answered by a dead filter")
		}
	}
}

// Stop ends a filter that ignores SIGTERM, after the grace, and Wait
// reports why and what was left.
func TestFilterStop(t *testing.T) {
	t.Parallel()
	d := newDoneLog()
	f := startFilter(t, FilterSpec{Path: "sh", Args: []string{"-c", `trap '' TERM; while IFS= read -r l; do echo "$l"; [ "$l" = hang ] && while :; do sleep 1; done; done`}}, d)
	if err := f.Send(context.Background(), lines("x", 0, 1)); err != nil {
		t.Fatal(err)
	}
	d.wait(t, "first answer, once the TERM trap is set")
	b := NewBatch([]byte("hang\nnever\n"))
	if err := f.Send(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	// Wait for "hang" to be answered (read under the filter's lock).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		f.mu.Lock()
		n := b.Answered()
		f.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no answer to hang")
		}
	}
	why := errors.New("timed out")
	start := time.Now()
	f.Stop(why, 300*time.Millisecond)
	ex := f.Wait(300 * time.Millisecond)
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("stop took %s", el)
	}
	if ex.Stopped != why {
		t.Fatalf("Stopped = %v", ex.Stopped)
	}
	if ex.Exit.Signal != syscall.SIGKILL {
		t.Fatalf("exit %+v, want killed by SIGKILL", ex.Exit)
	}
	if len(ex.Pending) != 1 || ex.Pending[0] != b || b.Answered() != 1 {
		t.Fatalf("pending %v", ex.Pending)
	}
	if err := f.Send(context.Background(), lines("y", 0, 1)); !errors.Is(err, ErrFilterGone) {
		t.Fatalf("send after stop: %v", err)
	}
}

// A filter printing two lines per input line: the surplus is reported.
func TestFilterExtraLines(t *testing.T) {
	t.Parallel()
	d := newDoneLog()
	f := startFilter(t, FilterSpec{Path: "awk", Args: []string{"{ print; print \"extra\" }"}}, d)
	b := lines("x", 0, 2)
	if err := f.Send(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	f.CloseInput()
	f.Wait(time.Second)
	if !b.Complete() {
		t.Fatal("batch not complete")
	}
	if len(d.extra) != 2 || d.extra[0] != "x-1" || d.extra[1] != "extra" {
		t.Fatalf("extra lines %q, want the two nobody asked for", d.extra)
	}
}

// An answer over MaxLine ends the filter with a read error.
func TestFilterLineTooLong(t *testing.T) {
	t.Parallel()
	d := newDoneLog()
	f := startFilter(t, FilterSpec{Path: "sh", Args: []string{"-c", `read l; head -c 5000 /dev/zero | tr "\\0" x; echo; sleep 30`}, MaxLine: 1000}, d)
	if err := f.Send(context.Background(), lines("x", 0, 1)); err != nil {
		t.Fatal(err)
	}
	ex := f.Wait(time.Second)
	var tl *LineTooLongError
	if !errors.As(ex.ReadErr, &tl) || len(ex.Pending) != 1 {
		t.Fatalf("ReadErr %v, pending %d", ex.ReadErr, len(ex.Pending))
	}
}

// A last answer without its newline still answers its line.
func TestFilterLastAnswerWithoutNewline(t *testing.T) {
	t.Parallel()
	d := newDoneLog()
	f := startFilter(t, FilterSpec{Path: "sh", Args: []string{"-c", `read l; printf '%s' "got $l"`}}, d)
	b := lines("x", 0, 1)
	if err := f.Send(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	f.CloseInput()
	ex := f.Wait(time.Second)
	if len(ex.Pending) != 0 || string(b.Answer(0)) != "got x-0" {
		t.Fatalf("pending %d, answer %q", len(ex.Pending), b.Out)
	}
}

// Bytes pass through a filter as they are: invalid UTF-8, '\r', NUL.
func TestFilterBytesIntact(t *testing.T) {
	t.Parallel()
	for _, pty := range []bool{false, true} {
		d := newDoneLog()
		f := startFilter(t, FilterSpec{Path: "cat", PTY: pty}, d)
		in := []byte("\xff\xfe\x80\nwin\r\nnul\x00byte\n\tkeep\x1b[0m\n")
		b := NewBatch(bytes.Clone(in))
		if err := f.Send(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		d.wait(t, fmt.Sprintf("cat, pty %v", pty))
		if !bytes.Equal(b.Out, in) {
			t.Errorf("pty %v: out %q, want %q", pty, b.Out, in)
		}
		f.CloseInput()
		f.Wait(time.Second)
	}
}

// Under a pty a filter that block-buffers on a pipe answers line by line,
// and its "\n" stays "\n".
func TestFilterPTYLineByLine(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(python); err != nil {
		t.Skip("no python3 at", python)
	}
	d := newDoneLog()
	f := startFilter(t, FilterSpec{Path: python, Args: []string{"-c", upperPy}, PTY: true}, d)
	for i := range 3 {
		b := lines("word", i, 1)
		if err := f.Send(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		// The input stays open: the answer must come without EOF.
		got := d.wait(t, "python under a pty did not answer a line while its input was open")
		if got != b {
			t.Fatal("wrong batch")
		}
		if want := fmt.Sprintf("WORD-%d\n", i); string(b.Out) != want {
			t.Fatalf("answer %q, want %q (no \\r)", b.Out, want)
		}
	}
	f.CloseInput()
	if ex := f.Wait(time.Second); ex.Exit.Code != 0 || ex.ReadErr != nil {
		t.Fatalf("exit %+v", ex)
	}
}

// The same filter on a pipe holds its answer back while its input is
// open: this is what --pty is for (and it shows the PTY test means
// something).
func TestFilterPipeBlockBuffers(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(python); err != nil {
		t.Skip("no python3 at", python)
	}
	d := newDoneLog()
	f := startFilter(t, FilterSpec{Path: python, Args: []string{"-c", upperPy}}, d)
	b := lines("word", 0, 1)
	if err := f.Send(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.ch:
		t.Fatal("python answered on a pipe with PYTHONUNBUFFERED unset; expected it to buffer")
	case <-time.After(time.Second):
	}
	if st, n := f.Stalled(); st == 0 || n != 1 {
		t.Fatalf("Stalled() = %v, %d while the answer is held back", st, n)
	}
	f.CloseInput()
	d.wait(t, "python flushes at EOF")
	if string(b.Out) != "WORD-0\n" {
		t.Fatalf("answer %q", b.Out)
	}
	f.Wait(time.Second)
}
