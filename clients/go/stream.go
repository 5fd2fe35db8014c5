package corral

import (
	"context"
	"sync"

	"github.com/corralhq/corral/protocol"
)

// stream queues the map.results of one pool.imap as the connection's read
// loop delivers them (never blocking it) until the consumer takes them.
type stream struct {
	mu    sync.Mutex
	queue []protocol.MapResults
	done  bool
	wake  chan struct{} // holds a token while there is news
}

func newStream() *stream {
	return &stream{wake: make(chan struct{}, 1)}
}

func (s *stream) push(m protocol.MapResults) {
	s.mu.Lock()
	s.queue = append(s.queue, m)
	s.mu.Unlock()
	s.signal()
}

// finish records map.done: no more results will come.
func (s *stream) finish() {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
	s.signal()
}

func (s *stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take waits for news and returns every queued chunk, and whether the
// stream has ended. It fails when ctx ends or the connection closes.
func (s *stream) take(ctx context.Context, closed <-chan struct{}) ([]protocol.MapResults, bool, error) {
	gone := false
	for {
		s.mu.Lock()
		batch, done := s.queue, s.done
		s.queue = nil
		s.mu.Unlock()
		if len(batch) > 0 || done {
			return batch, done, nil
		}
		if gone {
			return nil, false, &connClosedError{}
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-closed:
			// What the read loop queued before it ended is still due.
			gone = true
		}
	}
}
