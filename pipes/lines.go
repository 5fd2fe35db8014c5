// Package pipes is corral's stdio plumbing: newline-delimited framing with a
// size limit, and the forwarding of a child's output lines into the log.
package pipes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// DefaultMaxLine is the largest line a LineReader accepts unless told
// otherwise: 64 MiB, enough for a map of millions of small items in one
// message while still refusing a peer that never sends a newline.
const DefaultMaxLine = 64 << 20

// ErrLineTooLong is returned (wrapped in a *LineTooLongError) when a line
// exceeds the reader's limit.
var ErrLineTooLong = errors.New("line too long")

// LineTooLongError reports a line over the limit. The reader cannot recover
// from it: the rest of that line is unread, so the stream must be closed.
type LineTooLongError struct {
	Limit int
}

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("line longer than the %d-byte limit", e.Limit)
}

// Unwrap lets errors.Is match ErrLineTooLong.
func (e *LineTooLongError) Unwrap() error { return ErrLineTooLong }

// LineReader reads '\n'-terminated lines. Every returned slice is owned by
// the caller, so decoders may keep references into it (zero-copy raw JSON)
// without the next read overwriting them. It reads straight into its own
// buffer: a large line is read into memory once and handed over, not copied
// out of a fixed-size buffer.
type LineReader struct {
	r          io.Reader
	buf        []byte
	start, end int // buf[start:end] is read and not yet returned
	max        int
	err        error
}

const (
	minBuffer = 64 << 10
	// Lines at least this long are returned in the buffer they were read
	// into; shorter ones are copied out, so the buffer can be reused.
	handOver = 256 << 10
	// maxStartBuffer caps the buffer a reader keeps after a large line.
	maxStartBuffer = 8 << 20
)

// NewLineReader returns a LineReader over r that refuses lines longer than
// max bytes (DefaultMaxLine when max <= 0).
func NewLineReader(r io.Reader, max int) *LineReader {
	if max <= 0 {
		max = DefaultMaxLine
	}
	return &LineReader{r: r, buf: make([]byte, minBuffer), max: max}
}

// ReadLine returns the next line without its terminator ("\n" or "\r\n").
// A final line without a newline is returned before io.EOF. An error
// wrapping os.ErrDeadlineExceeded (a read stopped by its deadline) leaves
// the reader as it was: the next call goes on with the same line.
func (lr *LineReader) ReadLine() ([]byte, error) {
	scanned := lr.start
	for {
		if i := bytes.IndexByte(lr.buf[scanned:lr.end], '\n'); i >= 0 {
			nl := scanned + i
			line := lr.buf[lr.start:nl:nl]
			if len(line) > lr.max {
				return nil, &LineTooLongError{Limit: lr.max}
			}
			lr.start = nl + 1
			if len(line) < handOver {
				return trimCR(bytes.Clone(line)), nil
			}
			// Peers that send one large message tend to send more: the next
			// buffer starts at half this line's size, so it grows once or
			// twice rather than from the minimum.
			rest := lr.buf[lr.start:lr.end]
			nb := make([]byte, max(minBuffer, 2*len(rest), min(len(line)/2, maxStartBuffer)))
			lr.end = copy(nb, rest)
			lr.buf, lr.start = nb, 0
			return trimCR(line), nil
		}
		if lr.end-lr.start > lr.max {
			return nil, &LineTooLongError{Limit: lr.max}
		}
		if lr.err != nil {
			if lr.end > lr.start {
				line := bytes.Clone(lr.buf[lr.start:lr.end])
				lr.start = lr.end
				return line, nil
			}
			return nil, lr.err
		}
		scanned = lr.end
		if lr.end == len(lr.buf) {
			n := lr.end - lr.start
			if lr.start > 0 && n <= len(lr.buf)/2 {
				copy(lr.buf, lr.buf[lr.start:lr.end])
			} else {
				nb := make([]byte, 4*len(lr.buf))
				copy(nb, lr.buf[lr.start:lr.end])
				lr.buf = nb
			}
			scanned -= lr.start
			lr.start, lr.end = 0, n
		}
		n, err := lr.r.Read(lr.buf[lr.end:])
		lr.end += n
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// A read stopped by a deadline is not the end of the stream:
			// what was read stays buffered and the next call goes on.
			return nil, err
		}
		if err != nil {
			lr.err = err
		}
	}
}

// Buffered reports whether a whole line is already read, so that the next
// ReadLine returns it without reading.
func (lr *LineReader) Buffered() bool {
	return bytes.IndexByte(lr.buf[lr.start:lr.end], '\n') >= 0
}

func trimCR(b []byte) []byte {
	return bytes.TrimSuffix(b, []byte{'\r'})
}
