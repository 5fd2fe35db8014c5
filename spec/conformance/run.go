package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultTimeout bounds each step unless Options say otherwise: long enough
// for a slow interpreter to start, short enough that a peer which never
// answers (cat > /dev/null) fails the run instead of hanging it.
const DefaultTimeout = 5 * time.Second

// Options tune a run.
type Options struct {
	// Timeout bounds each step (DefaultTimeout when 0).
	Timeout time.Duration
	// Vars holds values for the case's variables ("${NAME}", see
	// Case.Vars): any value encoding/json can encode. A case that needs a
	// variable this lacks fails before it starts.
	Vars map[string]any
}

// Result is the outcome of one case.
type Result struct {
	Case    string
	Pass    bool
	Reason  string // one line saying why the case failed; empty when it passed
	Elapsed time.Duration
}

// String is "PASS name" or "FAIL name: reason".
func (r Result) String() string {
	if r.Pass {
		return "PASS " + r.Case
	}
	return "FAIL " + r.Case + ": " + r.Reason
}

// RunCommand starts a worker (or a supervisor) as cmd says, runs c against
// it, and kills and reaps it (and anything it started) before returning.
func RunCommand(ctx context.Context, cmd Command, c Case, opts Options) Result {
	start := time.Now()
	if _, err := startVars(c, opts.Vars); err != nil {
		return Result{Case: c.Name, Reason: err.Error()}
	}
	p, err := Start(cmd)
	if err != nil {
		return Result{Case: c.Name, Reason: err.Error(), Elapsed: time.Since(start)}
	}
	defer p.Close()
	return Run(ctx, p, c, opts)
}

// Run runs c over t. It does not close t.
func Run(ctx context.Context, t Transport, c Case, opts Options) Result {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	vars, err := startVars(c, opts.Vars)
	if err != nil {
		return Result{Case: c.Name, Reason: err.Error()}
	}
	r := &runner{t: t, timeout: timeout, vars: vars}
	start := time.Now()
	for i := range c.Steps {
		st := &c.Steps[i]
		if err := r.step(ctx, st); err != nil {
			return Result{Case: c.Name, Reason: fmt.Sprintf("step %d (%s): %v", i+1, st.Kind(), err), Elapsed: time.Since(start)}
		}
	}
	return Result{Case: c.Name, Pass: true, Elapsed: time.Since(start)}
}

type runner struct {
	t        Transport
	timeout  time.Duration
	vars     map[string]any // given, and captured by the steps so far
	lastSent []byte
	skipped  int    // lines that were not messages, since the last message
	noise    []byte // the last of them
}

func (r *runner) step(parent context.Context, st *Step) error {
	limit := r.timeout
	if st.ExpectSilence > 0 {
		limit = st.ExpectSilence
	}
	ctx, cancel := context.WithTimeout(parent, limit)
	defer cancel()
	// timedOut tells the step's own deadline from the caller giving up.
	timedOut := func(err error) bool {
		return errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil
	}

	switch {
	case st.Send != nil:
		msg, err := substitute(st.Send, r.vars)
		if err != nil {
			return err
		}
		r.lastSent = msg
		return r.t.Send(ctx, msg)
	case st.SendRaw != nil:
		r.lastSent = []byte(*st.SendRaw)
		return r.t.Send(ctx, r.lastSent)
	case st.CloseStdin:
		return r.t.CloseSend()
	case st.ExpectUnordered != nil:
		return r.expectUnordered(ctx, st.ExpectUnordered, timedOut)
	case st.ExpectSilence > 0:
		_, line, err := r.next(ctx)
		switch {
		case err == nil:
			return fmt.Errorf("expected no message for %s, got %s", st.ExpectSilence, clip(string(line), 200))
		case timedOut(err), errors.Is(err, ErrOutputClosed):
			return nil // silence; an exit will show in the steps that follow
		}
		return err
	case st.ExpectExit != nil:
		w, ok := r.t.(ExitWaiter)
		if !ok {
			return errors.New("this transport has no exit status to check")
		}
		code, err := w.Wait(ctx)
		if timedOut(err) {
			return fmt.Errorf("still running %s after its input was closed; want it to exit with status %d", r.timeout, *st.ExpectExit)
		}
		if err != nil {
			return err
		}
		if code != *st.ExpectExit {
			return fmt.Errorf("exited with status %d, want %d", code, *st.ExpectExit)
		}
		return nil
	}

	v, line, err := r.next(ctx)
	if timedOut(err) {
		return fmt.Errorf("no message within %s%s", r.timeout, r.noiseHint())
	}
	if err != nil {
		return fmt.Errorf("%v%s", err, r.noiseHint())
	}
	bound, err := matchVars(st.Expect, v, r.vars)
	if err != nil {
		if bytes.Equal(line, r.lastSent) {
			return errors.New("the peer echoed our message back unchanged, so it does not speak corral/1 (is it cat?)")
		}
		return fmt.Errorf("%v; the message was %s", err, clip(string(line), 200))
	}
	r.capture(bound)
	return nil
}

func (r *runner) capture(bound map[string]any) {
	for n, v := range bound {
		r.vars[n] = v
	}
}

// expectUnordered reads len(patterns) messages and matches them to the
// patterns one to one, in any order. A message that matches none of them
// fails the step at once.
func (r *runner) expectUnordered(ctx context.Context, patterns []any, timedOut func(error) bool) error {
	var msgs []any
	for len(msgs) < len(patterns) {
		v, line, err := r.next(ctx)
		if timedOut(err) {
			return fmt.Errorf("no message within %s: got %d of the %d expected in any order%s", r.timeout, len(msgs), len(patterns), r.noiseHint())
		}
		if err != nil {
			return fmt.Errorf("%v (after %d of the %d messages expected in any order)%s", err, len(msgs), len(patterns), r.noiseHint())
		}
		var why []string
		for i, p := range patterns {
			_, err := matchVars(p, v, r.vars)
			if err == nil {
				why = nil
				break
			}
			why = append(why, fmt.Sprintf("pattern %d: %v", i+1, err))
		}
		if why != nil {
			return fmt.Errorf("message %d matches none of the patterns (%s); the message was %s", len(msgs)+1, clip(strings.Join(why, "; "), 400), clip(string(line), 200))
		}
		msgs = append(msgs, v)
	}
	bound, ok := pairUp(patterns, msgs, make([]bool, len(patterns)), r.vars)
	if !ok {
		return fmt.Errorf("each of the %d messages matches a pattern, but they do not match the patterns one to one", len(msgs))
	}
	r.capture(bound)
	return nil
}

// pairUp pairs each of msgs with a pattern of its own, not yet used, under
// vars and what the pairs before it captured, and returns what they all
// captured. It tries every order: the sets are small.
func pairUp(patterns, msgs []any, used []bool, vars map[string]any) (map[string]any, bool) {
	if len(msgs) == 0 {
		return map[string]any{}, true
	}
	for i, p := range patterns {
		if used[i] {
			continue
		}
		bound, err := matchVars(p, msgs[0], vars)
		if err != nil {
			continue
		}
		next := vars
		if len(bound) > 0 {
			next = make(map[string]any, len(vars)+len(bound))
			for n, v := range vars {
				next[n] = v
			}
			for n, v := range bound {
				next[n] = v
			}
		}
		used[i] = true
		rest, ok := pairUp(patterns, msgs[1:], used, next)
		used[i] = false
		if ok {
			for n, v := range bound {
				rest[n] = v
			}
			return rest, true
		}
	}
	return nil, false
}

// next returns the peer's next message. A line that is not a JSON object
// with a "jsonrpc" member is the worker's own output, as it is for the
// supervisor, and is skipped. The member's value is left to the patterns,
// so that a wrong version gets a precise reason rather than a timeout.
func (r *runner) next(ctx context.Context) (any, []byte, error) {
	for {
		line, err := r.t.Next(ctx)
		if err != nil {
			return nil, nil, err
		}
		if v, err := decodeJSON(line); err == nil {
			if m, ok := v.(map[string]any); ok {
				if _, ok := m["jsonrpc"]; ok {
					r.skipped, r.noise = 0, nil
					return v, line, nil
				}
			}
		}
		r.skipped++
		r.noise = line
	}
}

func (r *runner) noiseHint() string {
	if r.skipped == 0 {
		return ""
	}
	return fmt.Sprintf(" (skipped %d line(s) that are not JSON-RPC messages, the last: %q)", r.skipped, clip(string(r.noise), 120))
}
