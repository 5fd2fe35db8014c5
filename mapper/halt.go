package mapper

import (
	"fmt"
	"strconv"
	"strings"
)

// Halt is when a run stops early, as GNU parallel's --halt: after Count
// failed (or, with OnSuccess, succeeded) jobs, or that Percent of the jobs
// done so far; Now kills the running jobs, otherwise ("soon") no new job
// starts and the running ones finish.
type Halt struct {
	Now       bool
	OnSuccess bool
	Count     int
	Percent   float64 // 0 < Percent <= 100 when set
}

// Never is the zero Halt: the run goes on whatever fails.
func (h Halt) Never() bool { return h.Count == 0 && h.Percent == 0 }

// ParseHalt reads "never", "now,fail=1", "soon,fail=N", "now,success=1",
// "soon,fail=10%" and parallel's short forms 0, 1 (soon,fail=1) and 2
// (now,fail=1).
func ParseHalt(s string) (Halt, error) {
	switch s {
	case "", "never", "0":
		return Halt{}, nil
	case "1":
		return Halt{Count: 1}, nil
	case "2":
		return Halt{Now: true, Count: 1}, nil
	}
	when, cond, ok := strings.Cut(s, ",")
	var h Halt
	switch when {
	case "now":
		h.Now = true
	case "soon":
	default:
		ok = false
	}
	what, n, ok2 := strings.Cut(cond, "=")
	switch what {
	case "fail":
	case "success":
		h.OnSuccess = true
	default:
		ok2 = false
	}
	if !ok || !ok2 {
		return Halt{}, fmt.Errorf("--halt %q: want WHEN,WHAT=N with WHEN now or soon and WHAT fail or success (e.g. now,fail=1 or soon,fail=10%%)", s)
	}
	if p, isPct := strings.CutSuffix(n, "%"); isPct {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v <= 0 || v > 100 {
			return Halt{}, fmt.Errorf("--halt %q: the percentage must be in (0, 100]", s)
		}
		h.Percent = v
		return h, nil
	}
	v, err := strconv.Atoi(n)
	if err != nil || v < 1 {
		return Halt{}, fmt.Errorf("--halt %q: the count must be a whole number of at least 1", s)
	}
	h.Count = v
	return h, nil
}

// triggered reports whether the counts so far call for a halt.
func (h Halt) triggered(done, failed int) bool {
	if h.Never() {
		return false
	}
	n := failed
	if h.OnSuccess {
		n = done - failed
	}
	if h.Count > 0 {
		return n >= h.Count
	}
	return done > 0 && float64(n)*100 >= h.Percent*float64(done) && n > 0
}
