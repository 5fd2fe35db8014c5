// Package sharedstate holds the shared objects corral hosts for its peers:
// queues, locks, semaphores, events, conditions, barriers, typed values and
// arrays, dicts, lists, namespaces and pipes, with the semantics of Python's
// multiprocessing and threading modules.
//
// The objects are plain data structures: they know nothing of JSON-RPC or
// connections. Each kind is an interface, so that a Redis-backed Store can
// implement the same contract later; the memory implementation here is the
// default.
//
// # Never block the caller
//
// The supervisor calls these objects from a connection's read loop, which
// must never block. Every operation that can wait therefore takes a
// completion callback and returns at once with a cancel function:
//
//	cancel := q.Get(sharedstate.Wait{Block: true, Timeout: time.Second, Owner: o},
//		func(item json.RawMessage, err error) { ... })
//
// The callback is called exactly once: synchronously, before the method
// returns, when the answer is known at once; otherwise later, from the
// goroutine whose operation makes the answer possible (a Put completes a
// parked Get) or from a timer. Calling cancel before the answer is decided
// guarantees the callback is never called; once the answer is decided,
// cancel is a no-op. Callbacks are never called with an internal lock held,
// so they may call back into the package.
//
// Waiters are served first come, first served: a freed lock, permit, item or
// slot is handed directly to the longest waiter, so a newcomer cannot barge
// ahead of it. Timeouts use time.AfterFunc, never polling.
//
// # Ownership
//
// An Owner names a holder (a connection). Locks, RLocks and semaphores record
// which owner holds what, and Store.ReleaseAll gives it all back when the
// connection ends, cancels the owner's parked waits, and breaks any barrier it
// was waiting at.
//
// # Errors
//
// Errors wrap the exported sentinels (ErrEmpty, ErrFull, ...) with context,
// so callers test them with errors.Is and map them to protocol codes.
package sharedstate
