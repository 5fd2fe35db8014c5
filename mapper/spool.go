package mapper

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// spoolMemory is how much of one job's output is kept in memory; the rest
// goes to a temporary file, so a job printing gigabytes while it waits its
// turn (with --keep-order) costs disk, not memory.
const spoolMemory = 4 << 20

// spool holds one job's output until it is printed.
type spool struct {
	mem  bytes.Buffer
	file *os.File
	n    int64
	err  error
}

func (s *spool) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	if s.file == nil && s.mem.Len()+len(p) <= spoolMemory {
		return s.mem.Write(p)
	}
	if s.file == nil && s.err == nil {
		s.file, s.err = os.CreateTemp("", "corral-map-*")
		if s.err == nil {
			os.Remove(s.file.Name()) // gone with its last descriptor
		}
	}
	if s.err != nil {
		return 0, fmt.Errorf("spool job output: %w", s.err)
	}
	return s.file.Write(p)
}

// ReadFrom fills the spool from r until EOF.
func (s *spool) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := s.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err != nil {
			if err == io.EOF {
				return total, nil
			}
			return total, err
		}
	}
}

// Len is the number of bytes spooled.
func (s *spool) Len() int64 { return s.n }

// WriteTo copies the spooled bytes to w, memory first.
func (s *spool) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(s.mem.Bytes())
	total := int64(n)
	if err != nil || s.file == nil {
		return total, err
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return total, err
	}
	m, err := io.Copy(w, s.file)
	return total + m, err
}

// Bytes returns the spooled bytes when they are all in memory.
func (s *spool) Bytes() ([]byte, bool) {
	return s.mem.Bytes(), s.file == nil
}

func (s *spool) Close() {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
}
