package corral

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/corralhq/corral/protocol"
)

// answerGrace is how long past a wait's deadline a call still waits for
// the supervisor's own answer (its timeout error, or the result that came
// just in time) before giving up on it.
const answerGrace = 5 * time.Second

// waitTimeout turns ctx's deadline into the timeout of a wait done by the
// supervisor; nil (no deadline) waits as long as it takes.
func waitTimeout(ctx context.Context) *protocol.Seconds {
	dl, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	s := protocol.SecondsOf(time.Until(dl))
	if s < 0 {
		s = 0
	}
	return &s
}

// callWait makes a call whose params carry waitTimeout(ctx). The deadline
// is the supervisor's to enforce, so the call itself outlives it by
// answerGrace; cancelling ctx still ends the call at once.
func (c *Client) callWait(ctx context.Context, method string, params, result any) error {
	dl, ok := ctx.Deadline()
	if !ok {
		return c.call(ctx, method, params, result)
	}
	cctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), dl.Add(answerGrace))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cancel()
		}
	})
	defer stop()
	err := c.call(cctx, method, params, result)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w (%w)", timeoutError("no answer from the supervisor %v after the deadline", answerGrace), err)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return ctx.Err()
	}
	return err
}
