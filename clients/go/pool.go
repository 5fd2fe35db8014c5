package corral

import (
	"context"
	"fmt"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/protocol"
)

// Pool is a pool of workers in the supervisor, like multiprocessing.Pool.
type Pool struct {
	c    *Client
	name string
	info protocol.PoolCreateResult
}

// CreatePool creates a pool as spec says and returns once every worker has
// said hello. A command that cannot be started fails with ErrSpawnFailed; a
// name already in use with a conflict error.
func (c *Client) CreatePool(ctx context.Context, spec protocol.PoolSpec) (*Pool, error) {
	p := &Pool{c: c, name: spec.Name}
	if err := c.call(ctx, protocol.MethodPoolCreate, spec, &p.info); err != nil {
		return nil, fmt.Errorf("create pool %s: %w", spec.Name, err)
	}
	if p.info.Name != "" {
		p.name = p.info.Name
	}
	return p, nil
}

// Pool returns a handle on an existing pool (one from the supervisor's
// config, or created by another client). It does not check that it exists.
func (c *Client) Pool(name string) *Pool {
	return &Pool{c: c, name: name}
}

// Name is the pool's name.
func (p *Pool) Name() string { return p.name }

// Functions lists what the pool's workers serve, as they said when the
// pool was created (nil for a handle from Client.Pool).
func (p *Pool) Functions() []string { return p.info.Functions }

// Kwargs, passed as the last argument of Submit or Apply, are the call's
// keyword arguments.
type Kwargs map[string]any

// encodeArgs encodes a call's arguments: positional ones as a JSON array,
// and a trailing Kwargs as an object.
func encodeArgs(args []any) (pos, kw json.RawMessage, err error) {
	if n := len(args); n > 0 {
		if k, ok := args[n-1].(Kwargs); ok {
			args = args[:n-1]
			if kw, err = json.Marshal(map[string]any(k)); err != nil {
				return nil, nil, fmt.Errorf("encode keyword arguments: %w", err)
			}
		}
	}
	if args == nil {
		args = []any{}
	}
	if pos, err = json.Marshal(args); err != nil {
		return nil, nil, fmt.Errorf("encode arguments: %w", err)
	}
	return pos, kw, nil
}

// Submit starts fn(args...) on a worker and returns at once, like
// apply_async. A trailing Kwargs argument holds keyword arguments.
func (p *Pool) Submit(ctx context.Context, fn string, args ...any) (*AsyncResult, error) {
	pos, kw, err := encodeArgs(args)
	if err != nil {
		return nil, fmt.Errorf("pool %s: submit %s: %w", p.name, fn, err)
	}
	var res protocol.SubmitResult
	err = p.c.call(ctx, protocol.MethodPoolSubmit, protocol.SubmitParams{Pool: p.name, Fn: fn, Args: pos, Kwargs: kw}, &res)
	if err != nil {
		return nil, fmt.Errorf("pool %s: submit %s: %w", p.name, fn, err)
	}
	return &AsyncResult{pool: p, fn: fn, id: res.Task}, nil
}

// Apply runs fn(args...) on a worker and decodes its result into out (a
// pointer, or nil to drop it). ctx's deadline bounds the wait: past it,
// Apply fails with ErrTimeout and the task keeps running.
func (p *Pool) Apply(ctx context.Context, out any, fn string, args ...any) error {
	pos, kw, err := encodeArgs(args)
	if err != nil {
		return fmt.Errorf("pool %s: apply %s: %w", p.name, fn, err)
	}
	var res protocol.TaskResult
	err = p.c.callWait(ctx, protocol.MethodPoolApply, protocol.SubmitParams{
		Pool: p.name, Fn: fn, Args: pos, Kwargs: kw, Timeout: waitTimeout(ctx),
	}, &res)
	if err == nil {
		err = decodeResult(res.Result, out)
	}
	if err != nil {
		return fmt.Errorf("pool %s: apply %s: %w", p.name, fn, err)
	}
	return nil
}

// decodeResult unmarshals a task's result into out, unless out is nil.
func decodeResult(raw json.RawMessage, out any) error {
	if out == nil {
		return nil
	}
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode result: %w", err)
	}
	return nil
}

// Close stops the pool taking new work; what was submitted still runs.
func (p *Pool) Close(ctx context.Context) error {
	return p.simple(ctx, protocol.MethodPoolClose, "close")
}

// Terminate stops the pool's workers now; unfinished tasks fail with
// ErrTerminated.
func (p *Pool) Terminate(ctx context.Context) error {
	return p.simple(ctx, protocol.MethodPoolTerminate, "terminate")
}

func (p *Pool) simple(ctx context.Context, method, verb string) error {
	if err := p.c.call(ctx, method, protocol.PoolRef{Pool: p.name}, nil); err != nil {
		return fmt.Errorf("pool %s: %s: %w", p.name, verb, err)
	}
	return nil
}

// Join waits until every task of the pool is done (after Close or
// Terminate). ctx's deadline bounds the wait: past it, Join fails with
// ErrTimeout.
func (p *Pool) Join(ctx context.Context) error {
	err := p.c.callWait(ctx, protocol.MethodPoolJoin, protocol.PoolJoinParams{Pool: p.name, Timeout: waitTimeout(ctx)}, nil)
	if err != nil {
		return fmt.Errorf("pool %s: join: %w", p.name, err)
	}
	return nil
}

// Stats reports the pool's state, workers and task counts.
func (p *Pool) Stats(ctx context.Context) (protocol.PoolStats, error) {
	var st protocol.PoolStats
	if err := p.c.call(ctx, protocol.MethodPoolStats, protocol.PoolRef{Pool: p.name}, &st); err != nil {
		return st, fmt.Errorf("pool %s: stats: %w", p.name, err)
	}
	return st, nil
}
