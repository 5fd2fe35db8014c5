package mapper

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxInput is the longest input a run accepts: one line (or NUL-separated
// record) of up to 64 MiB.
const MaxInput = 64 << 20

// inputs yields the run's inputs one at a time, in order: the arguments
// given after ::: or else the records of each input file in turn.
type inputs struct {
	args  []string
	files []string // "-" is stdin
	stdin io.Reader
	sep   byte
	max   int

	r    *bufio.Reader
	cur  io.Closer
	name string
	acc  []byte
	read int64 // bytes consumed, for progress
}

// next returns the next input, valid until the following call, or io.EOF.
func (in *inputs) next() ([]byte, error) {
	if in.args != nil {
		if len(in.args) == 0 {
			return nil, io.EOF
		}
		a := in.args[0]
		in.args = in.args[1:]
		return []byte(a), nil
	}
	for {
		if in.r == nil {
			if err := in.open(); err != nil {
				return nil, err
			}
		}
		rec, err := in.record()
		if err == io.EOF {
			in.closeCur()
			continue
		}
		return rec, err
	}
}

// buffered is how much input is at hand without another read.
func (in *inputs) buffered() int {
	if in.args != nil {
		return len(in.args)
	}
	if in.r == nil {
		return 0
	}
	return in.r.Buffered()
}

func (in *inputs) open() error {
	if len(in.files) == 0 {
		return io.EOF
	}
	name := in.files[0]
	in.files = in.files[1:]
	in.name = name
	if name == "-" {
		in.r = bufio.NewReaderSize(in.stdin, 256<<10)
		return nil
	}
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("read inputs: %w", err)
	}
	in.cur = f
	in.r = bufio.NewReaderSize(f, 256<<10)
	return nil
}

func (in *inputs) closeCur() {
	if in.cur != nil {
		in.cur.Close()
		in.cur = nil
	}
	in.r = nil
}

func (in *inputs) close() { in.closeCur() }

// record reads up to the next separator and drops it; everything else,
// a '\r' before the '\n' included, passes byte for byte.
func (in *inputs) record() ([]byte, error) {
	in.acc = in.acc[:0]
	for {
		b, err := in.r.ReadSlice(in.sep)
		in.read += int64(len(b))
		switch {
		case err == nil:
			if len(in.acc) == 0 {
				return b[:len(b)-1], nil
			}
			in.acc = append(in.acc, b[:len(b)-1]...)
			return in.acc, in.checkLen()
		case errors.Is(err, bufio.ErrBufferFull):
			in.acc = append(in.acc, b...)
			if err := in.checkLen(); err != nil {
				return nil, err
			}
		case errors.Is(err, io.EOF):
			in.acc = append(in.acc, b...)
			if len(in.acc) > 0 {
				// A last record without its separator.
				return in.acc, in.checkLen()
			}
			return nil, io.EOF
		default:
			return nil, fmt.Errorf("read inputs from %s: %w", in.display(), err)
		}
	}
}

func (in *inputs) checkLen() error {
	if len(in.acc) > in.max {
		return fmt.Errorf("read inputs from %s: an input is longer than the %d MiB limit", in.display(), in.max>>20)
	}
	return nil
}

func (in *inputs) display() string {
	if in.name == "-" {
		return "stdin"
	}
	return in.name
}
