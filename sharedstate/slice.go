package sharedstate

import "math"

// Omit is an omitted slice bound, as a[:hi] or a[::-1]: Slice(Omit, Omit, -1)
// reverses. Any other int is an index, negative counting from the end.
const Omit = math.MinInt

// sliceIndices resolves a Python slice against a length, as
// slice.indices(): bounds are clamped, never out of range. It returns the
// start, the step and the number of elements selected.
func sliceIndices(lo, hi, step, length int) (start, n int, err error) {
	if step == 0 {
		return 0, 0, errorf(ErrValue, "slice step cannot be zero")
	}
	lower, upper := 0, length
	if step < 0 {
		lower, upper = -1, length-1
	}
	clamp := func(i, omitted int) int {
		if i == Omit {
			return omitted
		}
		if i < 0 {
			i += length
			if i < lower {
				i = lower
			}
		} else if i > upper {
			i = upper
		}
		return i
	}
	if step > 0 {
		start, stop := clamp(lo, lower), clamp(hi, upper)
		if stop > start {
			n = (stop - start + step - 1) / step
		}
		return start, n, nil
	}
	start, stop := clamp(lo, upper), clamp(hi, lower)
	if start > stop {
		n = (start - stop - step - 1) / -step
	}
	return start, n, nil
}

// index resolves a Python index against a length: negative counts from the
// end; out of range is ErrIndex.
func index(i, length int, what string) (int, error) {
	j := i
	if j < 0 {
		j += length
	}
	if j < 0 || j >= length {
		return 0, errorf(ErrIndex, "%s index %d out of range (length %d)", what, i, length)
	}
	return j, nil
}
