package sharedstate

import (
	"errors"
	"fmt"
)

// Sentinel errors. Operations wrap them with context (fmt.Errorf("%w")), so
// test with errors.Is. Each maps to one protocol error code; the Python
// exception each stands for is named so that shims can raise the native one.
var (
	// ErrEmpty: a non-blocking or timed get found nothing (queue.Empty).
	ErrEmpty = errors.New("empty")
	// ErrFull: a non-blocking or timed put found no room (queue.Full).
	ErrFull = errors.New("full")
	// ErrTimeout: a wait that has no False to return ran out of time
	// (JoinableQueue.join with a timeout, Pipe.Recv with a timeout).
	ErrTimeout = errors.New("timeout")
	// ErrClosed: the object, or this end of it, is closed (ValueError /
	// OSError "handle is closed", queue.ShutDown).
	ErrClosed = errors.New("closed")
	// ErrNotOwner: release of a lock or use of a condition by an owner that
	// does not hold the lock (RuntimeError / AssertionError in Python).
	ErrNotOwner = errors.New("not owner")
	// ErrBrokenBarrier: the barrier is broken (threading.BrokenBarrierError).
	ErrBrokenBarrier = errors.New("broken barrier")
	// ErrValue: a value not valid in the object's state (ValueError).
	ErrValue = errors.New("value error")
	// ErrKey: a missing dict key (KeyError).
	ErrKey = errors.New("key error")
	// ErrIndex: an index out of range (IndexError).
	ErrIndex = errors.New("index error")
	// ErrType: a value of the wrong type (TypeError).
	ErrType = errors.New("type error")
	// ErrRange: a number outside the range of a typecode (OverflowError).
	ErrRange = errors.New("out of range")
	// ErrAttribute: a missing namespace attribute (AttributeError).
	ErrAttribute = errors.New("attribute error")
	// ErrEOF: the other end of a pipe is closed and nothing is buffered
	// (EOFError).
	ErrEOF = errors.New("EOF")
	// ErrDirection: the wrong end of a simplex pipe was used.
	ErrDirection = errors.New("wrong direction")
	// ErrConflict: the name exists with another kind or other parameters.
	ErrConflict = errors.New("conflict")
	// ErrNotFound: no object of that name (and auto-create is off).
	ErrNotFound = errors.New("not found")
	// ErrWrongKind: the operation does not apply to the object's kind.
	ErrWrongKind = errors.New("wrong kind")
	// ErrName: an invalid object name.
	ErrName = errors.New("invalid name")
	// ErrTooLarge: an item is over the store's size limit.
	ErrTooLarge = errors.New("too large")
)

// errorf wraps a sentinel with a formatted message, keeping errors.Is working.
// The message comes first so the log reads like Python's exception text.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), sentinel)
}

// errorIs is errors.Is, named here so files need not import errors for it.
func errorIs(err, target error) bool { return errors.Is(err, target) }
