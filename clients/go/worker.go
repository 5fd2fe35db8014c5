package corral

import (
	"context"
	"fmt"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/jsonrpc"
)

// Worker serves functions to a corral pool. Register every function with
// Handle or HandleArgs before calling Serve; the registry is read, not
// locked, while serving.
type Worker struct {
	name   string
	funcs  map[string]*function
	order  []string
	client workerClient
}

// function is a registered function, ready for task.run and task.map.
// Both return the result as JSON, or a *jsonrpc.Error to send as it is.
// runMap takes the whole params of the task.map and decodes the items
// itself, in one pass, into what the function takes.
type function struct {
	run    func(ctx context.Context, args, kwargs json.RawMessage) (json.RawMessage, *jsonrpc.Error)
	runMap func(ctx context.Context, params json.RawMessage, star bool) (json.RawMessage, *jsonrpc.Error)
}

// NewWorker returns a worker that introduces itself as name (the program's
// base name when empty).
func NewWorker(name string) *Worker {
	if name == "" {
		name = workerName()
	}
	return &Worker{name: name, funcs: make(map[string]*function)}
}

// Name is the name the worker gives in its hello.
func (w *Worker) Name() string { return w.name }

// Functions lists the registered functions in registration order.
func (w *Worker) Functions() []string { return append([]string(nil), w.order...) }

func (w *Worker) register(fn string, f *function) {
	if fn == "" {
		panic("corral: function name is empty")
	}
	if _, dup := w.funcs[fn]; dup {
		panic(fmt.Sprintf("corral: function %q registered twice", fn))
	}
	w.funcs[fn] = f
	w.order = append(w.order, fn)
}

// Handle registers f as the one-argument function fn. Its argument is
// decoded from JSON into an A, its result encoded from an R. JSON null is
// refused (a TypeError) unless an A can hold it: a pointer, interface,
// slice or map, or a type with its own UnmarshalJSON.
//
// A task.map of fn decodes all its items into one []A with one decode and
// encodes all results with one encode, so small items cost little more
// than the function itself. An error (or panic) fails the whole batch,
// naming the index of the item.
func Handle[A, R any](w *Worker, fn string, f func(ctx context.Context, arg A) (R, error)) {
	t := argTypeOf[A]()
	w.register(fn, &function{
		run: func(ctx context.Context, args, kwargs json.RawMessage) (out json.RawMessage, jerr *jsonrpc.Error) {
			var a A
			if err := decodeOneArg(t, fn, args, kwargs, &a); err != nil {
				return nil, taskFailed(fn, err, -1)
			}
			return callOne(fn, 16, func() (R, error) { return f(ctx, a) })
		},
		runMap: func(ctx context.Context, params json.RawMessage, star bool) (out json.RawMessage, jerr *jsonrpc.Error) {
			in, i, err := decodeItems[A](t, fn, params, star)
			if err != nil {
				return nil, taskFailed(fn, err, i)
			}
			res := make([]R, len(in))
			i = 0
			defer func() {
				if p := recover(); p != nil {
					out, jerr = nil, taskFailed(fn, panicError(p), i)
				}
			}()
			for ; i < len(in); i++ {
				r, err := f(ctx, in[i])
				if err != nil {
					return nil, taskFailed(fn, err, i)
				}
				res[i] = r
			}
			return encodeResult(fn, res, 8*len(res)+2)
		},
	})
}

// HandleArgs registers f as the function fn, taking any number of
// positional and keyword arguments. The result may be any value that
// encodes to JSON (a json.RawMessage is sent as it is).
//
// In a task.map each item is the single argument of one call, or with
// star (starmap) an array of arguments.
func (w *Worker) HandleArgs(fn string, f func(ctx context.Context, args Args) (any, error)) {
	w.register(fn, &function{
		run: func(ctx context.Context, args, kwargs json.RawMessage) (out json.RawMessage, jerr *jsonrpc.Error) {
			a, err := parseArgs(args, kwargs)
			if err != nil {
				return nil, taskFailed(fn, err, -1)
			}
			return callOne(fn, 64, func() (any, error) { return f(ctx, a) })
		},
		runMap: func(ctx context.Context, params json.RawMessage, star bool) (out json.RawMessage, jerr *jsonrpc.Error) {
			var p struct {
				Items []json.RawMessage `json:"items"`
			}
			if err := json.Unmarshal(params, &p); err != nil {
				return nil, taskFailed(fn, typeError("items: %v", err), -1)
			}
			res := make([]any, len(p.Items))
			i := 0
			defer func() {
				if p := recover(); p != nil {
					out, jerr = nil, taskFailed(fn, panicError(p), i)
				}
			}()
			for ; i < len(p.Items); i++ {
				a := Args{pos: p.Items[i : i+1 : i+1]}
				if star {
					var err error
					if a, err = parseArgs(p.Items[i], nil); err != nil {
						return nil, taskFailed(fn, err, i)
					}
				}
				r, err := f(ctx, a)
				if err != nil {
					return nil, taskFailed(fn, err, i)
				}
				res[i] = r
			}
			return encodeResult(fn, res, 16*len(res)+2)
		},
	})
}

// callOne runs one call of a handler and encodes its result; an error or a
// panic (in the call or the encoding) becomes task_failed.
func callOne[R any](fn string, sizeHint int, call func() (R, error)) (out json.RawMessage, jerr *jsonrpc.Error) {
	defer func() {
		if p := recover(); p != nil {
			out, jerr = nil, taskFailed(fn, panicError(p), -1)
		}
	}()
	r, err := call()
	if err != nil {
		return nil, taskFailed(fn, err, -1)
	}
	return encodeResult(fn, r, sizeHint)
}

// encodeResult encodes a handler's result; sizeHint presizes the buffer.
func encodeResult(fn string, v any, sizeHint int) (json.RawMessage, *jsonrpc.Error) {
	b, err := json.Append(make([]byte, 0, sizeHint), v, json.SortMapKeys)
	if err != nil {
		return nil, taskFailed(fn, typeError("cannot encode the result as JSON: %v", err), -1)
	}
	return b, nil
}
