package corral

import (
	"context"
	"fmt"
	"sync"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/protocol"
)

// Ref is a shared object as it travels in task arguments and results:
// {"$corral": "queue", "name": "jobs"}. Every typed object marshals to
// one, so a driver hands a queue or a lock to a task written in any
// language, and a Go worker takes a Ref argument and opens it with its
// own connection (Worker.Client).
type Ref struct {
	Kind string `json:"$corral"`
	Name string `json:"name"`
}

// Object opens the referred object on c.
func (r Ref) Object(c *Client) *Object {
	family, ok := protocol.ObjectFamilies[r.Kind]
	if !ok {
		family = r.Kind
	}
	return c.Object(family, r.Name)
}

// Ref is the object's handle.
func (o *Object) Ref() Ref { return Ref{Kind: o.family, Name: o.name} }

// MarshalJSON sends an object as its handle.
func (o *Object) MarshalJSON() ([]byte, error) { return json.Marshal(o.Ref()) }

// MarshalJSON sends the queue as its handle.
func (q *Queue) MarshalJSON() ([]byte, error) { return q.o.MarshalJSON() }

// MarshalJSON sends the lock as its handle.
func (l *Lock) MarshalJSON() ([]byte, error) { return l.o.MarshalJSON() }

// MarshalJSON sends the event as its handle.
func (e *Event) MarshalJSON() ([]byte, error) { return e.o.MarshalJSON() }

// MarshalJSON sends the value as its handle.
func (v *Value) MarshalJSON() ([]byte, error) { return v.o.MarshalJSON() }

// MarshalJSON sends the dict as its handle.
func (d *Dict) MarshalJSON() ([]byte, error) { return d.o.MarshalJSON() }

// workerClient is the connection a worker opens to the supervisor's socket
// for its tasks' own calls (shared objects, nested pools), once, on first
// use; it is closed when Serve returns.
type workerClient struct {
	once sync.Once
	c    *Client
	err  error
}

// Client returns a connection from this worker to its supervisor (dialed
// through $CORRAL_SOCKET on first use and shared by all its tasks), for
// using shared objects — a Ref argument, or any object by name — and
// pools from inside a task. It is closed when Serve returns.
func (w *Worker) Client(ctx context.Context) (*Client, error) {
	w.client.once.Do(func() {
		w.client.c, w.client.err = Dial(ctx, "")
		if w.client.err != nil {
			w.client.err = fmt.Errorf("worker %s: connect to the supervisor: %w", w.name, w.client.err)
		}
	})
	return w.client.c, w.client.err
}

// closeClient closes the connection Client opened, if any.
func (w *Worker) closeClient() {
	w.client.once.Do(func() {}) // no dial after this
	if w.client.c != nil {
		w.client.c.Close()
	}
}

// MarshalJSON sends the semaphore as its handle.
func (s *Semaphore) MarshalJSON() ([]byte, error) { return s.o.MarshalJSON() }

// MarshalJSON sends the condition as its handle.
func (c *Condition) MarshalJSON() ([]byte, error) { return c.o.MarshalJSON() }

// MarshalJSON sends the barrier as its handle.
func (b *Barrier) MarshalJSON() ([]byte, error) { return b.o.MarshalJSON() }

// MarshalJSON sends the array as its handle.
func (a *Array) MarshalJSON() ([]byte, error) { return a.o.MarshalJSON() }

// MarshalJSON sends the list as its handle.
func (l *List) MarshalJSON() ([]byte, error) { return l.o.MarshalJSON() }

// MarshalJSON sends the namespace as its handle.
func (n *Namespace) MarshalJSON() ([]byte, error) { return n.o.MarshalJSON() }

// MarshalJSON sends the pipe as its handle.
func (p *Pipe) MarshalJSON() ([]byte, error) { return p.o.MarshalJSON() }
