// Package pipes is corral's stdio plumbing: newline-delimited framing with a
// size limit, and the forwarding of a child's output lines into the log.
package pipes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
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

// LineReader reads '\n'-terminated lines. Every returned slice is freshly
// allocated and owned by the caller, so decoders may keep references into it
// (zero-copy raw JSON) without the next read overwriting them.
type LineReader struct {
	br  *bufio.Reader
	max int
}

// NewLineReader returns a LineReader over r that refuses lines longer than
// max bytes (DefaultMaxLine when max <= 0).
func NewLineReader(r io.Reader, max int) *LineReader {
	if max <= 0 {
		max = DefaultMaxLine
	}
	return &LineReader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// ReadLine returns the next line without its terminator ("\n" or "\r\n").
// A final line without a newline is returned before io.EOF.
func (lr *LineReader) ReadLine() ([]byte, error) {
	frag, err := lr.br.ReadSlice('\n')
	if err == nil {
		if len(frag)-1 > lr.max {
			return nil, &LineTooLongError{Limit: lr.max}
		}
		return trimEOL(bytes.Clone(frag)), nil
	}
	var line []byte
	for errors.Is(err, bufio.ErrBufferFull) {
		line = append(line, frag...)
		if len(line) > lr.max {
			return nil, &LineTooLongError{Limit: lr.max}
		}
		frag, err = lr.br.ReadSlice('\n')
	}
	line = append(line, frag...)
	if len(line) > lr.max+1 || (err != nil && len(line) > lr.max) {
		return nil, &LineTooLongError{Limit: lr.max}
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			return line, nil
		}
		return nil, err
	}
	return trimEOL(line), nil
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}
