package pipes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/corralhq/corral/child"
)

// Batch is a run of input lines for a filter and the lines it answered,
// one for one. The caller fills Data and Ends; the filter fills Out and
// OutEnds. A batch that a filter left half answered (it exited, or was
// stopped) can be sent to another filter, which resumes at the first
// unanswered line.
type Batch struct {
	// Data holds the lines, each ending in '\n'.
	Data []byte
	// Ends[i] is where line i ends in Data (just past its '\n').
	Ends []int
	// Out holds the answers so far, each ending in '\n'; OutEnds[i] is
	// where answer i ends. A line the caller gave up on gets an empty
	// answer (see Skip).
	Out     []byte
	OutEnds []int
	// Tag is the caller's.
	Tag any

	sent int // bytes of Data in flight on the current filter
}

// NewBatch returns a batch over data, whose lines each end in '\n'.
func NewBatch(data []byte) *Batch {
	b := &Batch{Data: data}
	for off := 0; off < len(data); {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
		b.Ends = append(b.Ends, off)
	}
	return b
}

// Len is the number of lines in the batch.
func (b *Batch) Len() int { return len(b.Ends) }

// Answered is the number of lines answered (or skipped) so far.
func (b *Batch) Answered() int { return len(b.OutEnds) }

// Complete reports whether every line has its answer.
func (b *Batch) Complete() bool { return len(b.OutEnds) == len(b.Ends) }

// Line returns input line i without its '\n'.
func (b *Batch) Line(i int) []byte {
	start := 0
	if i > 0 {
		start = b.Ends[i-1]
	}
	return b.Data[start : b.Ends[i]-1]
}

// Answer returns the answer to line i without its '\n'.
func (b *Batch) Answer(i int) []byte {
	start := 0
	if i > 0 {
		start = b.OutEnds[i-1]
	}
	end := b.OutEnds[i]
	if end == start {
		return b.Out[start:end]
	}
	return b.Out[start : end-1]
}

// Skip gives the first unanswered line an empty answer, so that the batch
// can go on without it; the caller records why.
func (b *Batch) Skip() {
	b.OutEnds = append(b.OutEnds, len(b.Out))
}

// pending is the unanswered part of Data.
func (b *Batch) pending() []byte {
	if n := len(b.OutEnds); n > 0 {
		return b.Data[b.Ends[n-1]:]
	}
	return b.Data
}

// FilterSpec says how to run a filter: a long-lived command that answers
// each line on its stdin with one line on its stdout.
type FilterSpec struct {
	Path string
	Args []string
	Env  []string
	Dir  string
	// Stderr receives the filter's stderr; nil means /dev/null.
	Stderr *os.File
	// PTY makes the filter's stdout a pseudo-terminal in raw mode, so a
	// program that block-buffers when writing to a pipe (C stdio, python3
	// without -u) answers line by line.
	PTY bool
	// Window caps the bytes of input in flight (sent, not yet answered);
	// DefaultWindow when zero.
	Window int
	// MaxBatches caps the batches in flight; DefaultMaxBatches when zero.
	MaxBatches int
	// MaxLine caps an answer's length; DefaultMaxLine when zero.
	MaxLine int
	// Done is called, on the filter's reader goroutine, with each batch once
	// every line of it is answered. It should not block for long.
	Done func(*Batch)
	// Extra is called with an answer line that arrived when no input was
	// waiting for one: the filter printed more lines than it read.
	Extra func(line []byte)
}

// DefaultWindow is the input a filter may hold unanswered: enough to keep
// a fast filter busy between reads, little enough to bound memory.
const DefaultWindow = 1 << 20

// DefaultMaxBatches bounds the batches in flight on one filter, whatever
// their size, so a caller can bound how many batches it has out in all.
const DefaultMaxBatches = 16

// ErrFilterGone is returned by Send when the filter can no longer take
// input: it exited, closed its stdin, or was stopped.
var ErrFilterGone = errors.New("filter is gone")

// Filter is a running filter process.
type Filter struct {
	spec  FilterSpec
	proc  *child.Proc
	stdin *os.File
	out   *os.File

	mu        sync.Mutex
	cond      *sync.Cond // signalled when the window opens or the filter ends
	fifo      []*Batch   // sent, not fully answered, in order
	inflight  int
	progress  time.Time // last answer, or when the fifo became non-empty
	answers   int64     // lines answered over the filter's life
	ended     bool      // stdout reached EOF
	inClosed  bool
	readErr   error
	stopWhy   error
	readerEnd chan struct{}
}

// StartFilter starts a filter with sp.
func StartFilter(sp *child.Spawner, spec FilterSpec) (*Filter, error) {
	if spec.MaxBatches <= 0 {
		spec.MaxBatches = DefaultMaxBatches
	}
	if spec.Window <= 0 {
		spec.Window = DefaultWindow
	}
	if spec.MaxLine <= 0 {
		spec.MaxLine = DefaultMaxLine
	}
	inR, inW, err := child.Pipe()
	if err != nil {
		return nil, err
	}
	var outR, outW *os.File
	if spec.PTY {
		outR, outW, err = openRawPTY()
	} else {
		outR, outW, err = child.Pipe()
	}
	if err != nil {
		child.CloseAll(inR, inW)
		return nil, err
	}
	p, err := sp.Start(child.Spec{
		Path: spec.Path, Args: spec.Args, Env: spec.Env, Dir: spec.Dir,
		Stdin: inR, Stdout: outW, Stderr: spec.Stderr,
		KillGroupOnExit: true,
	})
	child.CloseAll(inR, outW)
	if err != nil {
		child.CloseAll(inW, outR)
		return nil, err
	}
	f := &Filter{spec: spec, proc: p, stdin: inW, out: outR, readerEnd: make(chan struct{})}
	f.cond = sync.NewCond(&f.mu)
	go f.read()
	return f, nil
}

// Pid is the filter's process id.
func (f *Filter) Pid() int { return f.proc.Pid() }

// Send hands b to the filter, from its first unanswered line. It waits
// while the window is full. Once the filter cannot take input it returns
// ErrFilterGone, with b counted as the filter's all the same, so Wait
// returns it among the pending batches. When ctx ends first, b is not
// taken and ctx's error is returned; when it ends while b is being written
// (the filter has stopped reading), Send returns ErrFilterGone. One
// goroutine at a time may call Send.
func (f *Filter) Send(ctx context.Context, b *Batch) error {
	data := b.pending()
	f.mu.Lock()
	full := func() bool {
		return f.inflight > 0 && (f.inflight+len(data) > f.spec.Window || len(f.fifo) >= f.spec.MaxBatches) &&
			!f.ended && !f.inClosed && ctx.Err() == nil
	}
	if full() {
		// Wake the wait below when ctx ends.
		stop := context.AfterFunc(ctx, func() {
			f.mu.Lock()
			f.cond.Broadcast()
			f.mu.Unlock()
		})
		for full() {
			f.cond.Wait()
		}
		f.mu.Unlock()
		stop()
		f.mu.Lock()
	}
	if err := ctx.Err(); err != nil {
		f.mu.Unlock()
		return err
	}
	gone := f.ended || f.inClosed
	if len(f.fifo) == 0 {
		f.progress = time.Now()
	}
	b.sent = len(data)
	f.inflight += len(data)
	f.fifo = append(f.fifo, b)
	f.mu.Unlock()
	if gone {
		return ErrFilterGone
	}
	// A filter that stops reading blocks the write: give it up when ctx
	// ends, so the caller can stop the filter.
	unblock := context.AfterFunc(ctx, func() { f.stdin.SetWriteDeadline(time.Now()) })
	_, err := f.stdin.Write(data)
	unblock()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrFilterGone, err)
	}
	return nil
}

// CloseInput closes the filter's stdin: no more input is coming, so it may
// flush what it holds and exit.
func (f *Filter) CloseInput() {
	f.mu.Lock()
	f.inClosed = true
	f.cond.Broadcast()
	f.mu.Unlock()
	f.stdin.Close()
}

// Answers is the number of lines the filter has answered.
func (f *Filter) Answers() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.answers
}

// Gone is closed once the filter's output has ended: it exited, closed its
// stdout, or was stopped. Wait then returns without waiting for output.
func (f *Filter) Gone() <-chan struct{} { return f.readerEnd }

// Pending reports whether some input sent is still unanswered.
func (f *Filter) Pending() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.fifo) > 0
}

// Stalled reports how long the oldest unanswered line has waited for its
// answer, and how many batches are waiting; zero when none is.
func (f *Filter) Stalled() (time.Duration, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.fifo) == 0 || f.ended {
		return 0, 0
	}
	return time.Since(f.progress), len(f.fifo)
}

// Stop ends the filter (SIGTERM to its group, grace, SIGKILL), recording
// why for Wait.
func (f *Filter) Stop(why error, grace time.Duration) {
	f.mu.Lock()
	if f.stopWhy == nil {
		f.stopWhy = why
	}
	f.inClosed = true // Send takes no more
	f.cond.Broadcast()
	f.mu.Unlock()
	// Signal before closing its input: EOF first would let it flush and
	// answer as if it had not been stopped (a timed-out filter that
	// block-buffers would then look like it answered in time).
	f.proc.Stop(grace)
	f.stdin.Close()
}

// FilterExit is how a filter ended.
type FilterExit struct {
	Exit child.Exit
	// Stopped is the reason given to Stop, if it was stopped.
	Stopped error
	// ReadErr is set when its output could not be read (e.g. a line over
	// the limit).
	ReadErr error
	// Pending are the batches it had not fully answered, in the order they
	// were sent.
	Pending []*Batch
}

// Wait waits for the filter's output to end and the filter to exit, and
// returns what it left unanswered. A filter that closes its stdout but
// lives on is stopped after grace.
func (f *Filter) Wait(grace time.Duration) FilterExit {
	<-f.readerEnd
	t := time.NewTimer(grace)
	select {
	case <-f.proc.Done():
	case <-t.C:
		f.proc.Stop(grace)
	}
	t.Stop()
	f.stdin.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	ex := FilterExit{Exit: f.proc.Exit(), Stopped: f.stopWhy, ReadErr: f.readErr, Pending: f.fifo}
	for _, b := range f.fifo {
		b.sent = 0
	}
	f.fifo = nil
	return ex
}

// read is the one reader of the filter's stdout: it hands each answer to
// the oldest batch waiting for one.
func (f *Filter) read() {
	defer close(f.readerEnd)
	defer f.out.Close()
	buf := make([]byte, 64<<10)
	var partial []byte // an answer split across reads
	var done []*Batch
	var extra [][]byte
	for {
		n, err := f.out.Read(buf)
		chunk := buf[:n]
		f.mu.Lock()
		for len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				partial = append(partial, chunk...)
				if len(partial) > f.spec.MaxLine {
					f.readErr = &LineTooLongError{Limit: f.spec.MaxLine}
				}
				break
			}
			line := chunk[:i+1]
			chunk = chunk[i+1:]
			if partial != nil {
				line = append(partial, line...)
				partial = nil
			}
			if len(line)-1 > f.spec.MaxLine {
				f.readErr = &LineTooLongError{Limit: f.spec.MaxLine}
				break
			}
			if len(f.fifo) == 0 {
				extra = append(extra, bytes.Clone(line[:len(line)-1]))
				continue
			}
			if b := f.answer(line); b != nil {
				done = append(done, b)
			}
		}
		if f.readErr == nil && err != nil && partial != nil && len(f.fifo) > 0 {
			// A last answer without its newline still counts.
			if b := f.answer(append(partial, '\n')); b != nil {
				done = append(done, b)
			}
			partial = nil
		}
		if err != nil || f.readErr != nil {
			f.ended = true
			if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, syscall.EIO) && f.readErr == nil {
				f.readErr = err
			}
			f.cond.Broadcast()
		}
		ended := f.ended
		f.mu.Unlock()
		for _, b := range done {
			f.spec.Done(b)
		}
		for _, l := range extra {
			if f.spec.Extra != nil {
				f.spec.Extra(l)
			}
		}
		done, extra = done[:0], extra[:0]
		if ended {
			if f.readErr != nil {
				f.proc.Stop(time.Second)
			}
			return
		}
	}
}

// answer gives line to the oldest waiting batch and returns that batch if
// it is now complete. f.mu is held.
func (f *Filter) answer(line []byte) *Batch {
	b := f.fifo[0]
	b.Out = append(b.Out, line...)
	b.OutEnds = append(b.OutEnds, len(b.Out))
	f.progress = time.Now()
	f.answers++
	if !b.Complete() {
		return nil
	}
	f.fifo = f.fifo[1:]
	f.inflight -= b.sent
	b.sent = 0
	f.cond.Broadcast()
	return b
}
