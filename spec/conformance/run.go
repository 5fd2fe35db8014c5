package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

// RunCommand starts a worker as cmd says, runs c against it, and kills and
// reaps the worker (and anything it started) before returning.
func RunCommand(ctx context.Context, cmd Command, c Case, opts Options) Result {
	start := time.Now()
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
	r := &runner{t: t, timeout: timeout}
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
		r.lastSent = st.Send
		return r.t.Send(ctx, st.Send)
	case st.SendRaw != nil:
		r.lastSent = []byte(*st.SendRaw)
		return r.t.Send(ctx, r.lastSent)
	case st.CloseStdin:
		return r.t.CloseSend()
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
	if err := Match(st.Expect, v); err != nil {
		if bytes.Equal(line, r.lastSent) {
			return errors.New("the peer echoed our message back unchanged, so it does not speak corral/1 (is it cat?)")
		}
		return fmt.Errorf("%v; the message was %s", err, clip(string(line), 200))
	}
	return nil
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
