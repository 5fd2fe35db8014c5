package sharedstate

import (
	json "github.com/segmentio/encoding/json"
	"sync"
)

// Queue is a FIFO queue of JSON items, as multiprocessing.Queue; the
// SimpleQueue kind is an unbounded Queue.
//
// Close is Python-faithful for a queue that many processes share: it acts as
// queue.Queue.shutdown() (Python 3.13), because a shared queue has one state
// for everyone rather than a per-process handle. After Close, Put fails with
// ErrClosed (parked putters too), Get still drains the items left and then
// fails with ErrClosed (parked getters are failed when the queue is empty),
// and Join keeps waiting for task_done as before.
type Queue interface {
	Object
	// Put adds item, waiting for room as w says; ErrFull when there is
	// none in time. The item is stored as given, not copied: the caller
	// must not modify it afterwards.
	Put(item json.RawMessage, w Wait, done func(err error)) (cancel func())
	// Get removes the oldest item, waiting for one as w says; ErrEmpty when
	// none comes in time.
	Get(w Wait, done func(item json.RawMessage, err error)) (cancel func())
	// Qsize is the number of items held.
	Qsize() int
	// Empty reports whether no item is held.
	Empty() bool
	// Full reports whether a bounded queue is at its maxsize.
	Full() bool
	// Maxsize is the bound; 0 is unbounded.
	Maxsize() int
	// Close refuses further puts; see the type's doc.
	Close()
}

// JoinableQueue is a Queue that counts unfinished tasks, as
// multiprocessing.JoinableQueue: each Put adds one, TaskDone takes one away,
// Join waits until none are left.
type JoinableQueue interface {
	Queue
	// TaskDone marks one item finished; ErrValue when called more times
	// than items were put.
	TaskDone() error
	// Join completes when every item put has been marked done. Python's
	// join has no timeout; a Wait with one fails with ErrTimeout.
	Join(w Wait, done func(err error)) (cancel func())
	// Unfinished is the number of items put and not yet marked done.
	Unfinished() int
}

type putWait struct {
	item json.RawMessage
	done func(error)
}

// memQueue implements Queue and JoinableQueue in memory.
type memQueue struct {
	base
	maxsize  int
	joinable bool

	mu         sync.Mutex
	items      []json.RawMessage // items[head:] are held, oldest first
	head       int
	closed     bool
	unfinished int
	// Getters park only while the queue is empty and putters only while it
	// is full, so a freed item or slot always goes to the longest waiter.
	getters waitq[func(json.RawMessage, error)]
	putters waitq[putWait]
	joiners waitq[func(error)]
}

func newQueue(b base, maxsize int, joinable bool) *memQueue {
	return &memQueue{base: b, maxsize: maxsize, joinable: joinable}
}

func (q *memQueue) n() int { return len(q.items) - q.head }

func (q *memQueue) push(item json.RawMessage) {
	q.items = append(q.items, item)
}

func (q *memQueue) pop() json.RawMessage {
	it := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
	case q.head >= 64 && q.head*2 >= len(q.items):
		// Slide the live part down so a long-lived queue does not grow
		// without bound while it is never quite empty.
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return it
}

// Put implements Queue.
func (q *memQueue) Put(item json.RawMessage, w Wait, done func(error)) func() {
	if err := w.check(); err != nil {
		done(err)
		return nop
	}
	if err := q.checkItem(item); err != nil {
		done(err)
		return nop
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		done(errorf(ErrClosed, "%s is closed", q.label()))
		return nop
	}
	if g := q.getters.pop(); g != nil {
		// A getter waits only on an empty queue: hand the item over.
		q.unfinished++
		q.mu.Unlock()
		g.v(item, nil)
		done(nil)
		return nop
	}
	if q.maxsize <= 0 || q.n() < q.maxsize {
		q.push(item)
		q.unfinished++
		q.mu.Unlock()
		done(nil)
		return nop
	}
	if !w.Block {
		q.mu.Unlock()
		done(errorf(ErrFull, "%s is full (maxsize %d)", q.label(), q.maxsize))
		return nop
	}
	pw := &waiter[putWait]{owner: w.Owner, v: putWait{item, done}}
	q.putters.push(pw, w.Timeout, q.expirePut)
	q.mu.Unlock()
	return func() { q.cancelPut(pw) }
}

func (q *memQueue) expirePut(pw *waiter[putWait]) {
	q.mu.Lock()
	ok := q.putters.remove(pw)
	q.mu.Unlock()
	if ok {
		pw.v.done(errorf(ErrFull, "%s is full (maxsize %d)", q.label(), q.maxsize))
	}
}

func (q *memQueue) cancelPut(pw *waiter[putWait]) {
	q.mu.Lock()
	q.putters.remove(pw)
	q.mu.Unlock()
}

// Get implements Queue.
func (q *memQueue) Get(w Wait, done func(json.RawMessage, error)) func() {
	if err := w.check(); err != nil {
		done(nil, err)
		return nop
	}
	q.mu.Lock()
	if q.n() > 0 {
		item := q.pop()
		// A putter waits only on a full queue: its item takes the slot.
		p := q.putters.pop()
		if p != nil {
			q.push(p.v.item)
			q.unfinished++
		}
		q.mu.Unlock()
		if p != nil {
			p.v.done(nil)
		}
		done(item, nil)
		return nop
	}
	if q.closed {
		q.mu.Unlock()
		done(nil, errorf(ErrClosed, "%s is closed", q.label()))
		return nop
	}
	if !w.Block {
		q.mu.Unlock()
		done(nil, errorf(ErrEmpty, "%s is empty", q.label()))
		return nop
	}
	g := &waiter[func(json.RawMessage, error)]{owner: w.Owner, v: done}
	q.getters.push(g, w.Timeout, q.expireGet)
	q.mu.Unlock()
	return func() { q.cancelGet(g) }
}

func (q *memQueue) expireGet(g *waiter[func(json.RawMessage, error)]) {
	q.mu.Lock()
	ok := q.getters.remove(g)
	q.mu.Unlock()
	if ok {
		g.v(nil, errorf(ErrEmpty, "%s is empty", q.label()))
	}
}

func (q *memQueue) cancelGet(g *waiter[func(json.RawMessage, error)]) {
	q.mu.Lock()
	q.getters.remove(g)
	q.mu.Unlock()
}

// Qsize implements Queue.
func (q *memQueue) Qsize() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n()
}

// Empty implements Queue.
func (q *memQueue) Empty() bool { return q.Qsize() == 0 }

// Full implements Queue.
func (q *memQueue) Full() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.maxsize > 0 && q.n() >= q.maxsize
}

// Maxsize implements Queue.
func (q *memQueue) Maxsize() int { return q.maxsize }

// Close implements Queue.
func (q *memQueue) Close() {
	q.mu.Lock()
	q.closed = true
	putters := q.putters.drain()
	var getters []*waiter[func(json.RawMessage, error)]
	if q.n() == 0 {
		getters = q.getters.drain()
	}
	q.mu.Unlock()
	err := errorf(ErrClosed, "%s is closed", q.label())
	for _, p := range putters {
		p.v.done(err)
	}
	for _, g := range getters {
		g.v(nil, err)
	}
}

// TaskDone implements JoinableQueue.
func (q *memQueue) TaskDone() error {
	if !q.joinable {
		return errorf(ErrWrongKind, "%s is not joinable", q.label())
	}
	q.mu.Lock()
	if q.unfinished <= 0 {
		q.mu.Unlock()
		return errorf(ErrValue, "%s: task_done() called too many times", q.label())
	}
	q.unfinished--
	var joiners []*waiter[func(error)]
	if q.unfinished == 0 {
		joiners = q.joiners.drain()
	}
	q.mu.Unlock()
	for _, j := range joiners {
		j.v(nil)
	}
	return nil
}

// Join implements JoinableQueue.
func (q *memQueue) Join(w Wait, done func(error)) func() {
	if err := w.check(); err != nil {
		done(err)
		return nop
	}
	if !q.joinable {
		done(errorf(ErrWrongKind, "%s is not joinable", q.label()))
		return nop
	}
	q.mu.Lock()
	if q.unfinished == 0 {
		q.mu.Unlock()
		done(nil)
		return nop
	}
	if !w.Block {
		n := q.unfinished
		q.mu.Unlock()
		done(errorf(ErrTimeout, "%s: %d tasks unfinished", q.label(), n))
		return nop
	}
	j := &waiter[func(error)]{owner: w.Owner, v: done}
	q.joiners.push(j, w.Timeout, q.expireJoin)
	q.mu.Unlock()
	return func() {
		q.mu.Lock()
		q.joiners.remove(j)
		q.mu.Unlock()
	}
}

func (q *memQueue) expireJoin(j *waiter[func(error)]) {
	q.mu.Lock()
	ok := q.joiners.remove(j)
	n := q.unfinished
	q.mu.Unlock()
	if ok {
		j.v(errorf(ErrTimeout, "%s: %d tasks unfinished", q.label(), n))
	}
}

// Unfinished implements JoinableQueue.
func (q *memQueue) Unfinished() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.unfinished
}

// Status implements Object.
func (q *memQueue) Status() Status {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := Status{Kind: q.kind, Name: q.name, Depth: q.n(),
		Waiters: q.getters.n + q.putters.n + q.joiners.n}
	if q.closed {
		s.Detail = "closed"
	}
	return s
}

func (q *memQueue) releaseOwner(o Owner) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.getters.removeOwner(o) + q.putters.removeOwner(o) + q.joiners.removeOwner(o)
	return releasedWaits(n, "waits", &q.base, o)
}

func (q *memQueue) shutdown() {
	q.mu.Lock()
	g, p, j := q.getters.drain(), q.putters.drain(), q.joiners.drain()
	q.mu.Unlock()
	err := errorf(ErrClosed, "%s: the store is closed", q.label())
	for _, w := range g {
		w.v(nil, err)
	}
	for _, w := range p {
		w.v.done(err)
	}
	for _, w := range j {
		w.v(err)
	}
}
