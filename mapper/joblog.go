package mapper

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// joblogHeader is GNU parallel's --joblog header; corral writes the same
// columns so tools that read parallel's logs read corral's.
const joblogHeader = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"

// joblog records one line per finished job.
type joblog struct {
	f *os.File
	w *bufio.Writer
}

// openJoblog opens path for the run: appending when resuming, else
// truncating and writing the header. It fails before any job runs when the
// path is not writable.
func openJoblog(path string, resume bool) (*joblog, error) {
	flags := os.O_WRONLY | os.O_CREATE
	if resume {
		flags |= os.O_APPEND
	} else {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--joblog: %w", err)
	}
	l := &joblog{f: f, w: bufio.NewWriterSize(f, 64<<10)}
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		l.w.WriteString(joblogHeader)
	}
	return l, nil
}

// entry is one finished job.
type entry struct {
	seq     int64
	start   time.Time
	runtime time.Duration
	send    int64
	recv    int64
	exit    int
	signal  int
	command string
	failed  bool
}

func (l *joblog) write(e *entry) {
	fmt.Fprintf(l.w, "%d\t:\t%.3f\t%.3f\t%d\t%d\t%d\t%d\t%s\n",
		e.seq, float64(e.start.UnixMicro())/1e6, e.runtime.Seconds(),
		e.send, e.recv, e.exit, e.signal, oneLine(e.command))
}

// flush pushes buffered lines to the file, so a crash loses little.
func (l *joblog) flush() error { return l.w.Flush() }

func (l *joblog) close() error {
	err := l.w.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// oneLine keeps a command on its log line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\n\t\r") {
		return s
	}
	return strings.NewReplacer("\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(s)
}

// readJoblog returns the job numbers a previous run finished: all of them,
// or with onlyOK just those that exited 0 without a signal (so
// --resume-failed reruns the rest). A missing file means nothing was done.
func readJoblog(path string, onlyOK bool) (map[int64]bool, error) {
	done := map[int64]bool{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return done, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--resume: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		line, err := r.ReadString('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			cols := strings.SplitN(line[:len(line)-1], "\t", 9)
			if n == 1 && len(cols) > 0 && cols[0] == "Seq" {
				continue
			}
			if len(cols) < 9 {
				return nil, fmt.Errorf("--resume: %s:%d: want 9 tab-separated columns, got %d", path, n, len(cols))
			}
			seq, err1 := strconv.ParseInt(cols[0], 10, 64)
			exit, err2 := strconv.Atoi(cols[6])
			sig, err3 := strconv.Atoi(cols[7])
			if err := errors.Join(err1, err2, err3); err != nil {
				return nil, fmt.Errorf("--resume: %s:%d: %w", path, n, err)
			}
			if !onlyOK || (exit == 0 && sig == 0) {
				done[seq] = true
			} else {
				delete(done, seq) // a later line for the same job wins
			}
		}
		// A last line without its newline was cut short by a crash: the
		// job it describes is not known to be done.
		if err == io.EOF {
			return done, nil
		}
		if err != nil {
			return nil, fmt.Errorf("--resume: %w", err)
		}
	}
}
