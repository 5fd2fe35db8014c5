package mapper

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"github.com/corralhq/corral/child"
	"github.com/corralhq/corral/pipes"
)

// unit is one input, numbered: seq is its job number (1, 2, … over all
// inputs, skipped ones included, as the job log counts), ord its place
// among the inputs this run dispatches.
type unit struct {
	ord   int64
	seq   int64
	input []byte
}

// feed reads the inputs and hands out one unit per input not already done,
// taking a window token for each; it closes out at the end.
func (r *run) feed(out chan<- unit) error {
	defer close(out)
	in := r.newInputs()
	defer in.close()
	var seq, ord int64
	for {
		rec, err := in.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		seq++
		if r.skip[seq] {
			continue
		}
		select {
		case r.window <- struct{}{}:
		case <-r.dispatch.Done():
			return nil
		}
		select {
		case out <- unit{ord: ord, seq: seq, input: bytes.Clone(rec)}:
			ord++
		case <-r.dispatch.Done():
			<-r.window
			return nil
		}
	}
}

func (r *run) newInputs() *inputs {
	sep := byte('\n')
	if r.opts.Null {
		sep = 0
	}
	return &inputs{args: r.opts.InputArgs, files: r.opts.Files, stdin: r.opts.Stdin, sep: sep, max: MaxInput}
}

// runExec runs a process per input on Jobs slots.
func (r *run) runExec() error {
	r.window = make(chan struct{}, max(1024, 64*r.opts.Jobs))
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer devnull.Close()
	r.devnull = int(devnull.Fd())
	tmpl := pipes.ParseTemplate(r.opts.Args)
	units := make(chan unit, r.opts.Jobs)
	recs := make(chan *record, r.opts.Jobs)
	var slots sync.WaitGroup
	for slot := 1; slot <= r.opts.Jobs; slot++ {
		slots.Go(func() {
			// Jobs are forked from this goroutine's thread, and Pdeathsig
			// ties them to it: keep it until the slot is done.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for u := range units {
				if r.dispatch.Err() != nil {
					<-r.window // drained, never run
					continue
				}
				rec := r.execUnit(tmpl, u, slot)
				r.account(rec)
				recs <- rec
			}
		})
	}
	emitted := r.emit(recs)
	feedErr := r.feed(units)
	slots.Wait()
	close(recs)
	<-emitted
	return feedErr
}

// execUnit runs one input to the end, retrying a failure up to Retries
// times.
func (r *run) execUnit(tmpl *pipes.Template, u unit, slot int) *record {
	args := tmpl.Expand(string(u.input), u.seq, slot)
	env := append(r.env[:len(r.env):len(r.env)],
		"CORRAL_SEQ="+strconv.FormatInt(u.seq, 10), "CORRAL_SLOT="+strconv.Itoa(slot))
	var j *execJob
	for attempt := 0; ; attempt++ {
		if j != nil {
			j.free()
		}
		j = r.execOnce(args, env)
		if !j.entry.failed || attempt >= r.opts.Retries || r.jobs.Err() != nil {
			break
		}
	}
	j.entry.seq = u.seq
	j.entry.command = pipes.CommandLine(r.opts.Command, args)
	input := u.input
	return &record{
		ord:     u.ord,
		entries: []entry{j.entry},
		print: func(w *bufio.Writer, stderr io.Writer) error {
			return j.print(r, input, w, stderr)
		},
		free: j.free,
	}
}

// execJob is one run of the command.
type execJob struct {
	stdout, stderr spool
	entry          entry
	msg            string // why it failed, when corral knows better than its stderr
}

func (j *execJob) free() {
	j.stdout.Close()
	j.stderr.Close()
}

// print writes a finished job's output: stdout, then stderr, then a line
// saying why it failed when its exit status alone does not say.
func (j *execJob) print(r *run, input []byte, w *bufio.Writer, stderr io.Writer) error {
	if r.opts.Tag {
		if err := writeTagged(w, input, &j.stdout); err != nil {
			return err
		}
	} else if _, err := j.stdout.WriteTo(w); err != nil {
		return err
	}
	if j.stderr.Len() > 0 {
		if err := w.Flush(); err != nil {
			return err
		}
		if r.opts.Tag {
			bw := bufio.NewWriter(stderr)
			writeTagged(bw, input, &j.stderr)
			bw.Flush()
		} else {
			j.stderr.WriteTo(stderr)
		}
	}
	if j.entry.failed && !r.opts.Quiet {
		why := j.msg
		if why == "" {
			if j.entry.signal != 0 {
				why = "killed by " + child.SignalName(syscall.Signal(j.entry.signal))
			} else {
				why = fmt.Sprintf("exit status %d", j.entry.exit)
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "corral map: job %d failed: %s: %s\n", j.entry.seq, j.entry.command, why)
	}
	return nil
}

// writeTagged prefixes each line of s with the input and a tab, as
// parallel --tag does.
func writeTagged(w *bufio.Writer, input []byte, s *spool) error {
	var buf bytes.Buffer
	if b, ok := s.Bytes(); ok {
		return tagLines(w, input, b)
	}
	s.WriteTo(&buf)
	return tagLines(w, input, buf.Bytes())
}

func tagLines(w *bufio.Writer, input, b []byte) error {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i+1], b[i+1:]
		} else {
			b = nil
		}
		w.Write(input)
		w.WriteByte('\t')
		w.Write(line)
		if line[len(line)-1] != '\n' {
			w.WriteByte('\n')
		}
	}
	return nil
}
