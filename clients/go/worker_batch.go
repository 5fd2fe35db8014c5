package corral

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/corralhq/corral/jsonrpc"
)

// ItemError is a HandleBatch function's error about one item of its batch.
type ItemError struct {
	Index int
	Err   error
}

func (e *ItemError) Error() string { return fmt.Sprintf("item %d: %v", e.Index, e.Err) }
func (e *ItemError) Unwrap() error { return e.Err }

// HandleBatch registers fn as a one-argument function whose calls f
// answers a batch at a time: a task.map chunk is one call of f with all its
// items, a task.run a call with one. It suits functions that pipeline work
// (a filter process fed many lines at once) or pay a fixed cost per call.
// f must return one result per item; an *ItemError names the item that
// failed, any other error fails the whole batch.
func HandleBatch[A, R any](w *Worker, fn string, f func(ctx context.Context, args []A) ([]R, error)) {
	t := argTypeOf[A]()
	call := func(ctx context.Context, in []A) (out json.RawMessage, jerr *jsonrpc.Error) {
		defer func() {
			if p := recover(); p != nil {
				out, jerr = nil, taskFailed(fn, panicError(p), -1)
			}
		}()
		res, err := f(ctx, in)
		if err != nil {
			var ie *ItemError
			if errors.As(err, &ie) {
				return nil, taskFailed(fn, ie.Err, ie.Index)
			}
			return nil, taskFailed(fn, err, -1)
		}
		if len(res) != len(in) {
			return nil, taskFailed(fn, fmt.Errorf("%d results for %d items", len(res), len(in)), -1)
		}
		return encodeResult(fn, res, 16*len(res)+2)
	}
	w.register(fn, &function{
		run: func(ctx context.Context, args, kwargs json.RawMessage) (json.RawMessage, *jsonrpc.Error) {
			var a A
			if err := decodeOneArg(t, fn, args, kwargs, &a); err != nil {
				return nil, taskFailed(fn, err, -1)
			}
			out, jerr := call(ctx, []A{a})
			if jerr != nil {
				return nil, jerr
			}
			// One result in an array: unwrap it.
			var one []json.RawMessage
			if err := json.Unmarshal(out, &one); err != nil || len(one) != 1 {
				return nil, taskFailed(fn, fmt.Errorf("encode result: %v", err), -1)
			}
			return one[0], nil
		},
		runMap: func(ctx context.Context, params json.RawMessage, star bool) (json.RawMessage, *jsonrpc.Error) {
			in, i, err := decodeItems[A](t, fn, params, star)
			if err != nil {
				return nil, taskFailed(fn, err, i)
			}
			return call(ctx, in)
		},
	})
}
