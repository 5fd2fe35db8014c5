package mapper

import (
	"bytes"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress is the --bar display: jobs done, rate and ETA on stderr. A nil
// *progress shows nothing.
type progress struct {
	bar  *progressbar.ProgressBar
	stop chan struct{}
	done chan struct{}
}

// newProgress starts a bar. total is the number of inputs when known at
// once; when the inputs are regular files it is counted in the background
// (at disk speed) and the bar learns it then; until then it shows a count
// and a rate.
func newProgress(w io.Writer, total int64, files []*os.File, sep byte) *progress {
	max := total
	if max <= 0 {
		max = -1
	}
	p := &progress{
		bar: progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("corral map"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("jobs"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionFullWidth(),
			progressbar.OptionOnCompletion(func() { io.WriteString(w, "\n") }),
		),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	if total > 0 || len(files) == 0 {
		close(p.done)
		return p
	}
	go func() {
		defer close(p.done)
		var n int64
		for _, f := range files {
			c, ok := countRecords(f, sep, p.stop)
			if !ok {
				return
			}
			n += c
		}
		if n > 0 {
			p.bar.ChangeMax64(n)
		}
	}()
	return p
}

// countRecords counts the records in a regular file without moving its
// offset (ReadAt), so the run reading it is undisturbed.
func countRecords(f *os.File, sep byte, stop <-chan struct{}) (int64, bool) {
	buf := make([]byte, 1<<20)
	var off, n int64
	last := byte(sep)
	for {
		select {
		case <-stop:
			return 0, false
		default:
		}
		m, err := f.ReadAt(buf, off)
		n += int64(bytes.Count(buf[:m], []byte{sep}))
		if m > 0 {
			last = buf[m-1]
		}
		off += int64(m)
		if err != nil {
			if err != io.EOF {
				return 0, false
			}
			if last != sep {
				n++ // a last record without its separator
			}
			return n, true
		}
	}
}

func (p *progress) add(n int) {
	if p != nil {
		p.bar.Add(n)
	}
}

func (p *progress) finish() {
	if p == nil {
		return
	}
	close(p.stop)
	<-p.done
	p.bar.Finish()
}

// barInputs returns what newProgress needs to size the bar: the count of
// inputs given on the command line, or the regular files to count.
func (r *run) barInputs() (int64, []*os.File) {
	if r.opts.InputArgs != nil {
		return int64(len(r.opts.InputArgs)), nil
	}
	var files []*os.File
	for _, name := range r.opts.Files {
		var f *os.File
		if name == "-" {
			sf, ok := r.opts.Stdin.(*os.File)
			if !ok {
				return 0, nil
			}
			f = sf
		} else {
			of, err := os.Open(name)
			if err != nil {
				return 0, nil
			}
			r.closeAtEnd = append(r.closeAtEnd, of)
			f = of
		}
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			return 0, nil
		}
		files = append(files, f)
	}
	return 0, files
}
