// Package jsonx splits and joins JSON arrays without decoding their elements.
// The supervisor moves task arguments and results between peers as raw bytes;
// it only needs element boundaries, and a full decode would cost more than
// everything else it does per item.
//
// Inputs must already be valid JSON (they come out of a decoded message);
// the scanner checks structure, not every token.
package jsonx

import (
	"bytes"
	"errors"
)

// ErrNotArray is returned when the value is not a JSON array.
var ErrNotArray = errors.New("not a JSON array")

var errTruncated = errors.New("truncated JSON value")

// Inner returns the bytes between an array's brackets, trimmed of space.
func Inner(a []byte) ([]byte, error) {
	a = bytes.TrimSpace(a)
	if len(a) < 2 || a[0] != '[' || a[len(a)-1] != ']' {
		return nil, ErrNotArray
	}
	return bytes.TrimSpace(a[1 : len(a)-1]), nil
}

// Count returns the number of elements of the array a.
func Count(a []byte) (int, error) {
	in, err := Inner(a)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := 0; i < len(in); {
		j, err := skipValue(in, i)
		if err != nil {
			return 0, err
		}
		n++
		i = skipSep(in, j)
	}
	return n, nil
}

// Chunks splits the array a into runs of at most size elements. Each run is
// returned as the bytes between brackets ("1,2,3"), so that a run can be sent
// on as an array by wrapping it, with no copy of its elements. n is the total
// element count.
func Chunks(a []byte, size int) (runs [][]byte, n int, err error) {
	runs, counts, err := ChunksLimit(a, size, 0)
	for _, c := range counts {
		n += c
	}
	return runs, n, err
}

// ChunksLimit is Chunks where a run also ends once it holds maxBytes or
// more (0: no byte limit), so that runs of large items stay small. It
// returns each run's element count.
func ChunksLimit(a []byte, size, maxBytes int) (runs [][]byte, counts []int, err error) {
	if size < 1 {
		size = 1
	}
	in, err := Inner(a)
	if err != nil {
		return nil, nil, err
	}
	if maxBytes <= 0 {
		maxBytes = len(in) + 1
	}
	start, k := 0, 0
	for i := 0; i < len(in); {
		j, err := skipValue(in, i)
		if err != nil {
			return nil, nil, err
		}
		k++
		if k == size || j-start >= maxBytes {
			runs = append(runs, in[start:j])
			counts = append(counts, k)
			k = 0
			start = skipSep(in, j)
			i = start
			continue
		}
		i = skipSep(in, j)
	}
	if k > 0 {
		runs = append(runs, bytes.TrimSpace(in[start:]))
		counts = append(counts, k)
	}
	return runs, counts, nil
}

// Join writes the runs (array interiors, as Chunks returns them) as one array.
func Join(runs [][]byte) []byte { return JoinWith("", runs, "") }

// JoinWith is Join with text around the array, so that a message holding a
// large array is built with a single copy of it.
func JoinWith(before string, runs [][]byte, after string) []byte {
	size := len(before) + len(after) + 2
	for _, r := range runs {
		size += len(r) + 1
	}
	out := make([]byte, 0, size)
	out = append(out, before...)
	out = append(out, '[')
	first := true
	for _, r := range runs {
		if len(r) == 0 {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		out = append(out, r...)
		first = false
	}
	out = append(out, ']')
	return append(out, after...)
}

// skipSep moves past whitespace and one comma.
func skipSep(b []byte, i int) int {
	for i < len(b) && space[b[i]] {
		i++
	}
	if i < len(b) && b[i] == ',' {
		i++
		for i < len(b) && space[b[i]] {
			i++
		}
	}
	return i
}

// space and scalarEnd are lookup tables: one load per byte in the loops
// that run over every byte of a payload.
var space, scalarEnd [256]bool

func init() {
	for _, c := range " \t\n\r" {
		space[c] = true
		scalarEnd[c] = true
	}
	for _, c := range ",]}" {
		scalarEnd[c] = true
	}
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errTruncated
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '[', '{':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				j, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = j
				continue
			case '[', '{':
				depth++
			case ']', '}':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errTruncated
	default:
		// Number, true, false or null: runs to the next delimiter.
		j := i + 1
		for j < len(b) && !scalarEnd[b[j]] {
			j++
		}
		return j, nil
	}
}

func skipString(b []byte, i int) (int, error) {
	i++ // opening quote
	for {
		k := bytes.IndexAny(b[i:], "\"\\")
		if k < 0 {
			return 0, errTruncated
		}
		i += k
		if b[i] == '"' {
			return i + 1, nil
		}
		i += 2 // backslash and the escaped byte
	}
}

// TrustedMembers splits an object already known to be valid JSON into its
// members without validating it again.
func TrustedMembers(obj []byte) ([]Member, error) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var ms []Member
	i = skipSpace(obj, i+1)
	for i < len(obj) && obj[i] != '}' {
		kend, err := skipString(obj, i)
		if err != nil {
			return nil, err
		}
		key := string(obj[i+1 : kend-1])
		j := skipSpace(obj, kend)
		if j >= len(obj) || obj[j] != ':' {
			return nil, errTruncated
		}
		vstart := skipSpace(obj, j+1)
		vend, err := skipValue(obj, vstart)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Member{Key: key, Value: obj[vstart:vend]})
		i = skipSep(obj, vend)
	}
	return ms, nil
}
