package supervisor

import (
	"fmt"

	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
)

// handlePoolCreate: pool.create, answered once every worker said hello.
func (c *client) handlePoolCreate(req *jsonrpc.Request) (any, error) {
	var spec protocol.PoolSpec
	if err := protocol.Decode(req.Params, &spec); err != nil {
		return nil, err
	}
	if err := ValidatePool(&spec); err != nil {
		return nil, err
	}
	// Replacing an ended pool waits for its workers to be reaped, and
	// starting one waits for hellos: neither may hold up the read loop.
	c.s.goFunc(func() {
		c.s.replaceEnded(spec.Name)
		p, err := c.s.createPool(spec)
		if err != nil {
			c.reply(req.ID, nil, err)
			return
		}
		select {
		case <-p.ready:
		case <-c.conn.Done():
			return
		}
		if p.readyErr != nil {
			c.reply(req.ID, nil, p.readyErr)
			return
		}
		p.mu.Lock()
		res := protocol.PoolCreateResult{Name: p.spec.Name, Workers: p.spec.Workers, Functions: p.functions}
		p.mu.Unlock()
		c.reply(req.ID, res, nil)
	})
	return nil, jsonrpc.ErrAsync
}

// replaceEnded forgets a terminated or broken pool, so that its name can be
// used again.
func (s *Supervisor) replaceEnded(name string) {
	s.mu.Lock()
	p, ok := s.pools[name]
	s.mu.Unlock()
	if ok && p.isEnded() {
		p.wg.Wait()
		s.mu.Lock()
		if s.pools[name] == p {
			delete(s.pools, name)
		}
		s.mu.Unlock()
	}
}

func (c *client) poolRef(req *jsonrpc.Request) (*Pool, error) {
	var ref protocol.PoolRef
	if err := protocol.Decode(req.Params, &ref); err != nil {
		return nil, err
	}
	return c.s.pool(ref.Pool)
}

// handlePoolClose: pool.close.
func (c *client) handlePoolClose(req *jsonrpc.Request) (any, error) {
	p, err := c.poolRef(req)
	if err != nil {
		return nil, err
	}
	p.close()
	return struct{}{}, nil
}

// handlePoolJoin: pool.join, answered when the closed pool has no work left.
func (c *client) handlePoolJoin(req *jsonrpc.Request) (any, error) {
	var params protocol.PoolJoinParams
	if err := protocol.Decode(req.Params, &params); err != nil {
		return nil, err
	}
	p, err := c.s.pool(params.Pool)
	if err != nil {
		return nil, err
	}
	ch, jerr := p.joinChan()
	if jerr != nil {
		return nil, jerr
	}
	select {
	case <-ch:
		return struct{}{}, nil
	default:
	}
	c.awaitThen(ch, params.Timeout, func(timedOut bool) {
		if timedOut {
			c.reply(req.ID, nil, protocol.Errorf(protocol.CodeTimeout,
				"timeout: pool %s still has work after %v", p.spec.Name, params.Timeout.Duration()))
			return
		}
		c.reply(req.ID, struct{}{}, nil)
	})
	return nil, jsonrpc.ErrAsync
}

// handlePoolTerminate: pool.terminate, answered once the workers are gone.
func (c *client) handlePoolTerminate(req *jsonrpc.Request) (any, error) {
	p, err := c.poolRef(req)
	if err != nil {
		return nil, err
	}
	// The state changes before the next request on this connection is
	// read; only the wait for the workers to be reaped is parked.
	p.stopNow(fmt.Sprintf("pool.terminate from %s", c.describe()))
	c.s.goFunc(func() {
		p.wg.Wait()
		c.reply(req.ID, struct{}{}, nil)
	})
	return nil, jsonrpc.ErrAsync
}

// handlePoolStats: pool.stats.
func (c *client) handlePoolStats(req *jsonrpc.Request) (any, error) {
	p, err := c.poolRef(req)
	if err != nil {
		return nil, err
	}
	return p.stats(), nil
}

func (c *client) describe() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.name != "" {
		return c.name
	}
	return c.via
}
