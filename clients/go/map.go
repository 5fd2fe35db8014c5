package corral

import (
	"context"
	"fmt"
	"iter"
	"sort"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/protocol"
)

// MapOption tunes Map, Starmap, Imap and ImapUnordered.
type MapOption func(*mapConfig)

type mapConfig struct {
	chunksize int
}

// Chunksize sets how many items go to a worker at once. By default the
// supervisor picks ceil(len(items) / (4 * workers)), as multiprocessing
// does.
func Chunksize(n int) MapOption {
	return func(c *mapConfig) { c.chunksize = n }
}

func mapParams[A any](p *Pool, fn string, items []A, star bool, opts []MapOption) (protocol.MapParams, error) {
	var cfg mapConfig
	for _, o := range opts {
		o(&cfg)
	}
	raw, err := encodeItems(items)
	if err != nil {
		return protocol.MapParams{}, err
	}
	return protocol.MapParams{Pool: p.name, Fn: fn, Items: raw, Chunksize: cfg.chunksize, Star: star}, nil
}

// encodeItems encodes items as one JSON array (never null).
func encodeItems[A any](items []A) (json.RawMessage, error) {
	if len(items) == 0 {
		return json.RawMessage("[]"), nil
	}
	raw, err := json.Append(make([]byte, 0, 8*len(items)+2), items, json.SortMapKeys)
	if err != nil {
		return nil, fmt.Errorf("encode items: %w", err)
	}
	return raw, nil
}

// encodeParams encodes params whose items are already JSON into one
// buffer of the right size, so that the connection sends it as it is
// instead of growing a copy of a large array.
func encodeParams(params protocol.MapParams) (json.RawMessage, error) {
	b, err := json.Append(make([]byte, 0, len(params.Items)+len(params.Pool)+len(params.Fn)+128), params, json.TrustRawMessage)
	if err != nil {
		return nil, fmt.Errorf("encode params: %w", err)
	}
	return b, nil
}

// Map applies fn to every item on the pool's workers and returns the
// results in input order, like Pool.map. Items travel as one JSON array and
// the results are decoded into []R in one pass. If any chunk fails, Map
// returns its error (an *Error whose Data.Index locates the item).
func Map[R, A any](ctx context.Context, p *Pool, fn string, items []A, opts ...MapOption) ([]R, error) {
	return mapAll[R](ctx, p, fn, items, false, opts)
}

// Starmap is Map for functions of several arguments: each item is encoded
// as the JSON array of one call's arguments (a slice, an array, or a
// []any), like Pool.starmap.
func Starmap[R, A any](ctx context.Context, p *Pool, fn string, items []A, opts ...MapOption) ([]R, error) {
	return mapAll[R](ctx, p, fn, items, true, opts)
}

func mapAll[R, A any](ctx context.Context, p *Pool, fn string, items []A, star bool, opts []MapOption) ([]R, error) {
	res, err := mapCall[R](ctx, p, fn, items, star, opts)
	if err != nil {
		return nil, fmt.Errorf("pool %s: map %s: %w", p.name, fn, err)
	}
	return res, nil
}

func mapCall[R, A any](ctx context.Context, p *Pool, fn string, items []A, star bool, opts []MapOption) ([]R, error) {
	params, err := mapParams(p, fn, items, star, opts)
	if err != nil {
		return nil, err
	}
	req, err := encodeParams(params)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := p.c.call(ctx, protocol.MethodPoolMap, req, &raw); err != nil {
		return nil, err
	}
	// One pass over the results, into a slice of the known size.
	res := struct {
		Results []R `json:"results"`
	}{Results: make([]R, 0, len(items))}
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("decode results: %w", err)
	}
	if len(res.Results) != len(items) {
		return nil, fmt.Errorf("got %d results for %d items", len(res.Results), len(items))
	}
	return res.Results, nil
}

// Imap is Map as an iterator, like Pool.imap: results come in input order
// as chunks finish, while later chunks still run. A failed chunk yields one
// error in its place (its items yield no results) and iteration goes on.
// Breaking out of the loop (or ctx ending) cancels the rest of the map
// (map.cancel): chunks not yet started never run.
func Imap[R, A any](ctx context.Context, p *Pool, fn string, items []A, opts ...MapOption) iter.Seq2[R, error] {
	return imap[R](ctx, p, fn, items, true, opts)
}

// ImapUnordered is Imap yielding each chunk's results as soon as the chunk
// finishes, like Pool.imap_unordered. Within a chunk, results keep their
// order.
func ImapUnordered[R, A any](ctx context.Context, p *Pool, fn string, items []A, opts ...MapOption) iter.Seq2[R, error] {
	return imap[R](ctx, p, fn, items, false, opts)
}

func imap[R, A any](ctx context.Context, p *Pool, fn string, items []A, ordered bool, opts []MapOption) iter.Seq2[R, error] {
	return func(yield func(R, error) bool) {
		var zero R
		fail := func(err error) { yield(zero, fmt.Errorf("pool %s: imap %s: %w", p.name, fn, err)) }
		params, err := mapParams(p, fn, items, false, opts)
		if err != nil {
			fail(err)
			return
		}
		params.Ordered = ordered
		// Register the stream before asking: its first results may be
		// read before the reply.
		id, s := p.c.openStream()
		defer p.c.closeStream(id)
		params.Map = id
		var started protocol.ImapStarted
		if err := p.c.call(ctx, protocol.MethodPoolImap, params, &started); err != nil {
			fail(err)
			return
		}
		finished := false
		defer func() {
			if !finished {
				// The loop stopped early: the rest need not run.
				p.c.cancelStream(id)
			}
		}()
		r := &reorder{ordered: ordered, pending: make(map[int]protocol.MapResults)}
		out := func(m protocol.MapResults) bool { return emit(p, fn, m, yield) }
		seen := 0
		for {
			batch, done, err := s.take(ctx, p.c.conn.Done())
			if err != nil {
				fail(err)
				return
			}
			for _, m := range batch {
				seen += max(m.Count, 0)
				if !r.add(m, out) {
					return
				}
			}
			if done {
				finished = true
				if seen < started.Count {
					if !yield(zero, fmt.Errorf("pool %s: imap %s: the stream ended after %d of %d items", p.name, fn, seen, started.Count)) {
						return
					}
				}
				r.flush(out)
				return
			}
		}
	}
}

// emit yields the results of one chunk, or its error.
func emit[R any](p *Pool, fn string, m protocol.MapResults, yield func(R, error) bool) bool {
	var zero R
	if m.Error != nil {
		return yield(zero, fmt.Errorf("pool %s: imap %s: items from %d: %w", p.name, fn, m.Index, remoteError(m.Error)))
	}
	var rs []R
	if err := json.Unmarshal(m.Results, &rs); err != nil {
		return yield(zero, fmt.Errorf("pool %s: imap %s: items from %d: decode results: %w", p.name, fn, m.Index, err))
	}
	for _, v := range rs {
		if !yield(v, nil) {
			return false
		}
	}
	return true
}

// reorder releases chunks in input order (when ordered) by the index of
// their first item, holding back those that arrive early.
type reorder struct {
	ordered bool
	next    int
	pending map[int]protocol.MapResults
}

func (r *reorder) add(m protocol.MapResults, out func(protocol.MapResults) bool) bool {
	if !r.ordered {
		return out(m)
	}
	r.pending[m.Index] = m
	for {
		m, ok := r.pending[r.next]
		if !ok {
			return true
		}
		delete(r.pending, r.next)
		n := m.Count
		if n <= 0 {
			n = 1 // a malformed chunk must not stall the stream
		}
		r.next += n
		if !out(m) {
			return false
		}
	}
}

// flush releases what is held back at the end of the stream (chunks after
// a gap the supervisor never filled), in index order.
func (r *reorder) flush(out func(protocol.MapResults) bool) {
	idx := make([]int, 0, len(r.pending))
	for i := range r.pending {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		if !out(r.pending[i]) {
			return
		}
	}
}
