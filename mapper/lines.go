package mapper

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/corralhq/corral/child"
	"github.com/corralhq/corral/pipes"
)

// Lines mode keeps one filter per slot and streams batches of input lines
// through it, many in flight at once; each answer line goes to the oldest
// unanswered input.
const (
	batchBytes = 64 << 10
	batchLines = 4096
	// A filter that has not answered for this long, with input waiting,
	// gets a warning (and is stopped after --timeout when one is set).
	stallWarning = 10 * time.Second
	// This many filters in a row that exit without answering a line stop
	// the run: the command is not working as a filter.
	maxBarrenFilters = 5
)

// errTimeout marks a filter stopped by the watchdog.
var errTimeout = errors.New("timed out")

// linesBatch is a batch and its bookkeeping.
type linesBatch struct {
	b        *pipes.Batch
	ord      int64
	seqs     []int64
	start    time.Time
	attempts map[int]int    // line → runs it was at the head of a filter that died
	failed   map[int]string // line → why it was given up
}

// lineQueue hands batches to slots: batches back from a dead filter first,
// then fresh input.
type lineQueue struct {
	mu          sync.Mutex
	cond        *sync.Cond
	retry       []*linesBatch
	fresh       []*linesBatch
	inputDone   bool
	outstanding int // batches read and not yet delivered
	stopped     bool
	// starved: the reader waits for batches to be printed before it reads
	// more. With --keep-order that can mean waiting for a batch a filter
	// holds back (a filter that block-buffers answers only when its buffer
	// fills, or at the end of its input): slots then end their filters'
	// input, which makes them flush.
	starved bool
}

func newLineQueue() *lineQueue {
	q := &lineQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *lineQueue) push(lb *linesBatch) {
	q.mu.Lock()
	q.fresh = append(q.fresh, lb)
	q.outstanding++
	q.cond.Broadcast()
	q.mu.Unlock()
}

func (q *lineQueue) requeue(lbs []*linesBatch) {
	if len(lbs) == 0 {
		return
	}
	q.mu.Lock()
	q.retry = append(lbs[:len(lbs):len(lbs)], q.retry...)
	q.cond.Broadcast()
	q.mu.Unlock()
}

func (q *lineQueue) delivered() {
	q.mu.Lock()
	q.outstanding--
	q.cond.Broadcast()
	q.mu.Unlock()
}

func (q *lineQueue) endInput() {
	q.mu.Lock()
	q.inputDone = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

func (q *lineQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

// wake makes waiting slots look again: a filter has ended.
func (q *lineQueue) wake() {
	q.mu.Lock()
	q.cond.Broadcast()
	q.mu.Unlock()
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (q *lineQueue) setStarved(v bool) {
	q.mu.Lock()
	q.starved = v
	q.cond.Broadcast()
	q.mu.Unlock()
}

// take returns the next batch for a slot. A slot with no filter (idle)
// waits for work, or gets nil when all is done. A slot with a filter gets
// nil when it should end the filter's input: the input has run dry, or the
// reader is starved while the filter holds unanswered input (pending
// reports that, as of now).
//
// A slot with a filter also gets nil as soon as gone reports that its
// filter has ended (it exited, or the watchdog stopped it), so what it
// left is dealt with at once, not when the next input arrives.
func (q *lineQueue) take(idle bool, pending, gone func() bool) *linesBatch {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		switch {
		case q.stopped:
			return nil
		case !idle && gone():
			return nil
		case len(q.retry) > 0:
			lb := q.retry[0]
			q.retry = q.retry[1:]
			return lb
		case len(q.fresh) > 0:
			lb := q.fresh[0]
			q.fresh = q.fresh[1:]
			return lb
		case q.inputDone && (!idle || q.outstanding == 0):
			return nil
		case !idle && q.starved && pending():
			return nil
		}
		q.cond.Wait()
	}
}

// runLines streams the inputs through Jobs filters.
func (r *run) runLines() error {
	// Enough tokens for every filter's batches in flight and as many again
	// answered and waiting to print, so that healthy filters never starve
	// the reader.
	r.window = make(chan struct{}, 16+2*pipes.DefaultMaxBatches*r.opts.Jobs)
	q := newLineQueue()
	recs := make(chan *record, 4*r.opts.Jobs)
	stopQueue := context.AfterFunc(r.jobs, q.stop)
	defer stopQueue()

	wd := r.newWatchdog()
	defer wd.close()

	var slots sync.WaitGroup
	for slot := 1; slot <= r.opts.Jobs; slot++ {
		slots.Go(func() { r.lineSlot(slot, q, recs, wd) })
	}
	emitted := r.emit(recs)
	feedErr := r.feedLines(q)
	q.endInput()
	slots.Wait()
	close(recs)
	<-emitted
	return feedErr
}

// feedLines reads the inputs into batches. A batch goes out when full, or
// as soon as no more input is buffered, so a slow trickle of input is not
// held back waiting for a batch to fill.
func (r *run) feedLines(q *lineQueue) error {
	in := r.newInputs()
	defer in.close()
	var seq, ord int64
	var cur *linesBatch
	send := func() bool {
		if cur == nil {
			return true
		}
		select {
		case r.window <- struct{}{}:
		default:
			q.setStarved(true)
			select {
			case r.window <- struct{}{}:
				q.setStarved(false)
			case <-r.dispatch.Done():
				return false
			}
		}
		cur.b = pipes.NewBatch(cur.b.Data)
		cur.ord = ord
		ord++
		q.push(cur)
		cur = nil
		return true
	}
	for {
		if in.buffered() == 0 && !send() {
			return nil
		}
		rec, err := in.next()
		if err == io.EOF {
			send()
			return nil
		}
		if err != nil {
			send()
			return err
		}
		seq++
		if r.skip[seq] {
			continue
		}
		if r.opts.Null && bytes.IndexByte(rec, '\n') >= 0 {
			r.warnf("input %d has a newline in it, which lines mode cannot send as one line; skipped", seq)
			r.countFailed(seq)
			continue
		}
		if cur == nil {
			cur = &linesBatch{b: &pipes.Batch{Data: make([]byte, 0, min(batchBytes, 2*len(rec)+64))}}
		}
		cur.b.Data = append(append(cur.b.Data, rec...), '\n')
		cur.seqs = append(cur.seqs, seq)
		if len(cur.b.Data) >= batchBytes || len(cur.seqs) >= batchLines {
			if !send() {
				return nil
			}
		}
	}
}

// countFailed counts an input that failed before reaching a job.
func (r *run) countFailed(seq int64) {
	r.count(&entry{seq: seq, failed: true, exit: -1})
}

// lineSlot runs filters for one slot until the work is done.
func (r *run) lineSlot(slot int, q *lineQueue, recs chan<- *record, wd *watchdog) {
	var f *pipes.Filter
	barren := 0
	env := append(r.env[:len(r.env):len(r.env)], "CORRAL_SLOT="+strconv.Itoa(slot))
	reap := func() {
		answers := f.Answers()
		r.reapFilter(f, q, recs, wd)
		f = nil
		if answers > 0 {
			barren = 0
		} else if barren++; barren >= maxBarrenFilters && r.jobs.Err() == nil {
			r.abort(StatusAborted, fmt.Errorf("%s keeps exiting without answering a line (%d filters in a row); stopping", r.opts.Command, barren))
			q.stop()
		}
	}
	for {
		lb := q.take(f == nil, func() bool { return f != nil && f.Pending() }, func() bool { return f != nil && isClosed(f.Gone()) })
		if lb == nil {
			if f == nil {
				return
			}
			if r.jobs.Err() != nil {
				// Stopping (a signal, halt now): the filter is stopped, not
				// waited for, as it may never end on its own.
				f.Stop(r.jobs.Err(), r.opts.Grace)
				r.reapFilter(f, q, recs, wd)
				return
			}
			// Input has run dry, or the reader waits for answers this
			// filter may hold back: let it flush what it holds.
			f.CloseInput()
			reap()
			continue
		}
		if f == nil {
			var err error
			f, err = pipes.StartFilter(r.sp, pipes.FilterSpec{
				Path: r.path, Args: r.opts.Args, Env: env, Dir: r.opts.Dir,
				Stderr: stderrFile(r.stderr), PTY: r.opts.PTY,
				Done:  func(b *pipes.Batch) { r.deliverLines(b.Tag.(*linesBatch), q, recs) },
				Extra: func(line []byte) { r.extraLine(line) },
			})
			if err != nil {
				q.requeue([]*linesBatch{lb})
				r.abort(StatusAborted, fmt.Errorf("start %s: %w", r.opts.Command, err))
				q.stop()
				return
			}
			wd.add(f)
			go func(gone <-chan struct{}) { <-gone; q.wake() }(f.Gone())
		}
		lb.b.Tag = lb
		if lb.start.IsZero() {
			lb.start = time.Now()
		}
		if err := f.Send(r.jobs, lb.b); err != nil {
			if r.jobs.Err() != nil {
				f.Stop(r.jobs.Err(), r.opts.Grace)
				r.reapFilter(f, q, recs, wd)
				return
			}
			reap()
		}
	}
}

// reapFilter waits for a filter to end and deals with what it left: the
// first unanswered line is charged with the failure (it is the one the
// filter was working on) and the rest go back in the queue, unharmed.
func (r *run) reapFilter(f *pipes.Filter, q *lineQueue, recs chan<- *record, wd *watchdog) {
	// A filter waited for to flush may never end on its own: stop it if
	// the run is stopped meanwhile.
	stop := context.AfterFunc(r.jobs, func() { f.Stop(r.jobs.Err(), r.opts.Grace) })
	ex := f.Wait(r.opts.Grace)
	stop()
	wd.remove(f)
	pending := make([]*linesBatch, 0, len(ex.Pending))
	for _, b := range ex.Pending {
		pending = append(pending, b.Tag.(*linesBatch))
	}
	if r.jobs.Err() != nil {
		return // stopping: nothing more will run or print
	}
	why := r.filterEnd(f, ex)
	if len(pending) == 0 {
		if ex.Exit.Code != 0 || ex.Exit.Signal != 0 || ex.ReadErr != nil {
			r.warnf("filter (pid %d) %s", f.Pid(), why)
		}
		return
	}
	head := pending[0]
	i := head.b.Answered()
	if head.attempts == nil {
		head.attempts = map[int]int{}
	}
	head.attempts[i]++
	if head.attempts[i] > r.opts.Retries {
		if head.failed == nil {
			head.failed = map[int]string{}
		}
		head.failed[i] = why
		head.b.Skip()
		if head.b.Complete() {
			r.deliverLines(head, q, recs)
			pending = pending[1:]
		}
	}
	q.requeue(pending)
}

// filterEnd says how a filter ended, for messages.
func (r *run) filterEnd(f *pipes.Filter, ex pipes.FilterExit) string {
	switch {
	case errors.Is(ex.Stopped, errTimeout):
		return fmt.Sprintf("gave no answer within %s and was stopped; a filter that block-buffers its output on a pipe holds answers back: run with --pty, or make it flush each line (python3 -u, grep --line-buffered, stdbuf -oL)", r.opts.Timeout)
	case ex.ReadErr != nil:
		return fmt.Sprintf("printed an answer that could not be read: %v", ex.ReadErr)
	case ex.Exit.Signal != 0:
		return fmt.Sprintf("was killed by %s before answering", child.SignalName(ex.Exit.Signal))
	default:
		return fmt.Sprintf("exited with status %d before answering", ex.Exit.Code)
	}
}

// deliverLines hands a fully answered batch to the emitter.
func (r *run) deliverLines(lb *linesBatch, q *lineQueue, recs chan<- *record) {
	rec := &record{ord: lb.ord}
	b := lb.b
	runtime := time.Since(lb.start)
	if r.log != nil || len(lb.failed) > 0 || !r.opts.Halt.Never() {
		rec.entries = make([]entry, b.Len())
		for i := range rec.entries {
			en := &rec.entries[i]
			en.seq = lb.seqs[i]
			en.start = lb.start
			en.runtime = runtime
			en.send = int64(len(b.Line(i)) + 1)
			en.recv = int64(len(b.Answer(i)) + 1)
			en.command = string(b.Line(i))
			if _, bad := lb.failed[i]; bad {
				en.failed, en.exit, en.recv = true, -1, 0
			}
		}
	} else {
		rec.ok = b.Len()
	}
	rec.print = func(w *bufio.Writer, stderr io.Writer) error {
		n := b.Len()
		if rec.limit > 0 {
			n = rec.limit
		}
		if !r.opts.Tag && len(lb.failed) == 0 && n == b.Len() {
			_, err := w.Write(b.Out)
			return err
		}
		for i := 0; i < n; i++ {
			if why, bad := lb.failed[i]; bad {
				if err := w.Flush(); err != nil {
					return err
				}
				if !r.opts.Quiet {
					fmt.Fprintf(stderr, "corral map: line %d failed: %q: the filter %s\n", lb.seqs[i], clip(b.Line(i)), why)
				}
				continue
			}
			if r.opts.Tag {
				w.Write(b.Line(i))
				w.WriteByte('\t')
			}
			w.Write(b.Answer(i))
			if err := w.WriteByte('\n'); err != nil {
				return err
			}
		}
		return nil
	}
	q.delivered()
	recs <- rec
}

// extraLine reports an answer nobody asked for.
func (r *run) extraLine(line []byte) {
	r.warnf("a filter printed a line with no input waiting for it (%q): it prints more lines than it reads, so its answers may have gone to the wrong inputs; lines mode needs exactly one line out per line in", clip(line))
	r.mu.Lock()
	r.failed++
	r.mu.Unlock()
}

func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// watchdog stops filters that sit on their input longer than --timeout,
// and warns about those that stall without one.
type watchdog struct {
	r        *run
	mu       sync.Mutex
	filters  map[*pipes.Filter]bool // → warned about the current stall
	stop     chan struct{}
	done     chan struct{}
	stopping sync.WaitGroup // filters being stopped
}

func (r *run) newWatchdog() *watchdog {
	w := &watchdog{r: r, filters: map[*pipes.Filter]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	tick := time.Second
	if t := r.opts.Timeout; t > 0 {
		tick = min(max(t/20, 10*time.Millisecond), time.Second)
	}
	go w.loop(tick)
	return w
}

func (w *watchdog) add(f *pipes.Filter) {
	w.mu.Lock()
	w.filters[f] = false
	w.mu.Unlock()
}

func (w *watchdog) remove(f *pipes.Filter) {
	w.mu.Lock()
	delete(w.filters, f)
	w.mu.Unlock()
}

func (w *watchdog) close() {
	close(w.stop)
	<-w.done
	w.stopping.Wait()
}

func (w *watchdog) loop(tick time.Duration) {
	defer close(w.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		w.mu.Lock()
		var stop []*pipes.Filter
		for f, warned := range w.filters {
			d, n := f.Stalled()
			switch {
			case d == 0:
				w.filters[f] = false
			case w.r.opts.Timeout > 0 && d >= w.r.opts.Timeout:
				stop = append(stop, f)
				delete(w.filters, f)
			case w.r.opts.Timeout == 0 && d >= stallWarning && !warned:
				w.filters[f] = true
				w.r.warnf("filter (pid %d) has not answered for %s with %d batches of input waiting; if it block-buffers its output on a pipe it will answer only at the end: run with --pty, or give --timeout to stop it", f.Pid(), d.Round(time.Second), n)
			}
		}
		w.mu.Unlock()
		for _, f := range stop {
			w.stopping.Go(func() { f.Stop(errTimeout, w.r.opts.Grace) })
		}
	}
}

// stderrFile is where filters write their stderr: straight to ours when it
// is a file, so their messages appear as they write them.
func stderrFile(w io.Writer) *os.File {
	if f, ok := w.(*os.File); ok {
		return f
	}
	return nil
}
