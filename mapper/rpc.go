package mapper

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	corral "github.com/corralhq/corral/clients/go"
	"github.com/corralhq/corral/pipes"
	"github.com/corralhq/corral/protocol"
)

// rpcBlock is the most inputs sent as one streamed map, and rpcInFlight how
// many such maps run at once, so workers never idle between blocks.
const (
	rpcBlock    = 512
	rpcInFlight = 3
	rpcChunk    = 64 // the most items in one call to a worker
)

// runRPC starts a pool of protocol workers on the run's supervisor and
// calls the chosen function once per input, with the input as
// its one string argument.
func (r *run) runRPC() error {
	c, err := corral.Dial(r.jobs, r.sv.SocketPath())
	if err != nil {
		return err
	}
	defer c.Close()
	spec := protocol.PoolSpec{
		Name: "map", Command: r.path, Args: r.opts.Args, Workers: r.opts.Jobs,
		Cwd: r.opts.Dir, Retries: r.opts.Retries, Env: map[string]string{},
		StopGrace: protocol.SecondsOf(r.opts.Grace),
	}
	if r.opts.Timeout > 0 {
		spec.TaskTimeout = protocol.SecondsOf(r.opts.Timeout)
	}
	// The pool's workers take the supervisor's environment: give them
	// the jobs' PYTHONUNBUFFERED, which jobEnv settled.
	if v, ok := envValue(r.env, "PYTHONUNBUFFERED"); ok {
		spec.Env["PYTHONUNBUFFERED"] = v
	}
	pool, err := c.CreatePool(r.jobs, spec)
	if err != nil {
		return &StatusError{Status: StatusAborted, Err: fmt.Errorf("start workers: %w", err)}
	}
	fn, err := pickFunction(r.opts.Fn, pool.Functions())
	if err != nil {
		return &StatusError{Status: 2, Err: err}
	}

	r.window = make(chan struct{}, rpcInFlight*rpcBlock)
	units := make(chan unit, rpcBlock)
	recs := make(chan *record, rpcInFlight)
	emitted := r.emit(recs)
	var blocks sync.WaitGroup
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		sem := make(chan struct{}, rpcInFlight)
		var ord int64
		for u := range units {
			block := []unit{u}
		more:
			for len(block) < rpcBlock {
				select {
				case u, ok := <-units:
					if !ok {
						break more
					}
					block = append(block, u)
				default:
					break more
				}
			}
			sem <- struct{}{}
			o := ord
			ord++
			blocks.Go(func() {
				defer func() { <-sem }()
				recs <- r.rpcBlock(pool, fn, o, block)
			})
		}
	}()
	feedErr := r.feed(units)
	<-collected
	blocks.Wait()
	close(recs)
	<-emitted
	return feedErr
}

func hasEnv(env []string, name string) bool {
	_, ok := envValue(env, name)
	return ok
}

// envValue is name's value in env; the last entry wins, as in exec.
func envValue(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// pickFunction chooses what to call: --fn, or the worker's one function.
func pickFunction(fn string, served []string) (string, error) {
	if fn != "" {
		if len(served) > 0 && !slices.Contains(served, fn) {
			return "", fmt.Errorf("--fn %s: the worker serves %s", fn, strings.Join(served, ", "))
		}
		return fn, nil
	}
	switch len(served) {
	case 1:
		return served[0], nil
	case 0:
		return "", errors.New("the worker does not say what functions it serves; name one with --fn NAME")
	default:
		return "", fmt.Errorf("the worker serves %d functions (%s); pick one with --fn NAME", len(served), strings.Join(served, ", "))
	}
}

// rpcBlock runs one block of inputs as a streamed map, one call per input.
func (r *run) rpcBlock(pool *corral.Pool, fn string, ord int64, block []unit) *record {
	// Each input is the call's argument: a JSON string of the line, or
	// with --json the line itself, which must then be JSON.
	items := make([]json.RawMessage, 0, len(block))
	at := make([]int, 0, len(block)) // items[k] is block[at[k]]
	results := make([]json.RawMessage, len(block))
	errs := make([]error, len(block))
	for i, u := range block {
		if !r.opts.JSON {
			b, _ := json.Marshal(string(u.input))
			items, at = append(items, b), append(at, i)
			continue
		}
		if !json.Valid(u.input) {
			errs[i] = errors.New("the input is not JSON (--json)")
			continue
		}
		items, at = append(items, json.RawMessage(u.input)), append(at, i)
	}
	start := time.Now()
	r.callAll(pool, fn, items, func(k int, res json.RawMessage, err error) {
		results[at[k]], errs[at[k]] = res, err
	})
	runtime := time.Since(start)
	rec := &record{ord: ord, tokens: len(block), entries: make([]entry, len(block))}
	for i, u := range block {
		en := &rec.entries[i]
		en.seq, en.start, en.runtime = u.seq, start, runtime
		en.send = int64(len(u.input))
		en.recv = int64(len(results[i]))
		en.command = fn + " " + pipes.ShellQuote(string(u.input))
		if errs[i] != nil {
			en.failed, en.exit = true, 1
		}
	}
	rec.print = func(w *bufio.Writer, stderr io.Writer) error {
		for i, u := range block {
			if rec.limit > 0 && i >= rec.limit {
				break
			}
			if errs[i] != nil {
				if err := w.Flush(); err != nil {
					return err
				}
				if !r.opts.Quiet {
					fmt.Fprintf(stderr, "corral map: job %d failed: %s(%q): %v\n", u.seq, fn, clip(u.input), errs[i])
				}
				continue
			}
			if r.opts.Tag {
				w.Write(u.input)
				w.WriteByte('\t')
			}
			writeResult(w, results[i])
			if err := w.WriteByte('\n'); err != nil {
				return err
			}
		}
		return nil
	}
	return rec
}

// callAll calls fn on every item and reports each outcome. Items go out
// in chunks, so that workers are not paid a round trip per item; a chunk
// that fails is run again one item at a time, so that every item gets its
// own result or error (the items before the failing one in that chunk run
// twice: rpc functions should be idempotent).
func (r *run) callAll(pool *corral.Pool, fn string, items []json.RawMessage, report func(k int, res json.RawMessage, err error)) {
	if len(items) == 0 {
		return
	}
	chunk := max(1, min(rpcChunk, len(items)/(2*r.opts.Jobs)))
	var again []int
	k := 0
	for res, err := range corral.Imap[json.RawMessage](r.jobs, pool, fn, items, corral.Chunksize(chunk)) {
		if err == nil {
			if k < len(items) {
				report(k, res, nil)
			}
			k++
			continue
		}
		// A failed chunk yields one error in place of its items.
		for end := min(k+chunk, len(items)); k < end; k++ {
			if chunk == 1 || r.jobs.Err() != nil {
				report(k, nil, err)
			} else {
				again = append(again, k)
			}
		}
	}
	for ; k < len(items); k++ {
		report(k, nil, stopped(r.jobs))
	}
	if len(again) == 0 {
		return
	}
	one := make([]json.RawMessage, len(again))
	for i, k := range again {
		one[i] = items[k]
	}
	i := 0
	for res, err := range corral.Imap[json.RawMessage](r.jobs, pool, fn, one, corral.Chunksize(1)) {
		if i < len(again) {
			report(again[i], res, err)
		}
		i++
	}
	for ; i < len(again); i++ {
		report(again[i], nil, stopped(r.jobs))
	}
}

func stopped(ctx context.Context) error {
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return errors.New("no result")
}

// writeResult prints a string result as its text and anything else as
// compact JSON.
func writeResult(w *bufio.Writer, raw json.RawMessage) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			w.WriteString(s)
			return
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		w.Write(buf.Bytes())
		return
	}
	w.Write(raw)
}
