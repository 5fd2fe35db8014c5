package corral

import (
	"errors"
	"fmt"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
)

// Error is an error answered by the supervisor (or made by this package in
// its place, such as a timeout). Code and Name are corral/1's stable error
// code and name; Data carries the details of task errors: the type, message
// and traceback the worker reported, and where it ran.
//
// errors.Is(err, ErrWorkerLost) and the like compare codes, so a caller
// can test for a kind of failure however the error was wrapped.
type Error struct {
	Code    int64
	Name    string
	Message string
	Data    protocol.ErrorData
}

func (e *Error) Error() string {
	switch {
	case e.Message != "":
		return e.Message
	case e.Name != "":
		return e.Name
	}
	return fmt.Sprintf("corral error %d", e.Code)
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

func sentinel(code int64) *Error {
	name := protocol.ErrorNames[code]
	return &Error{Code: code, Name: name, Message: name}
}

// Sentinel errors, for errors.Is. Each matches any *Error with its code.
var (
	// ErrTimeout: a wait ran out of time; what was waited for carries on
	// (a task keeps running, a process keeps running).
	ErrTimeout = sentinel(protocol.CodeTimeout)
	// ErrTaskFailed: the function returned an error or panicked in the
	// worker; Data has its type, message and traceback.
	ErrTaskFailed = sentinel(protocol.CodeTaskFailed)
	// ErrWorkerLost: the worker running the task exited or was killed.
	ErrWorkerLost = sentinel(protocol.CodeWorkerLost)
	// ErrTaskTimeout: the task ran past the pool's task_timeout and its
	// worker was stopped.
	ErrTaskTimeout = sentinel(protocol.CodeTaskTimeout)
	// ErrPoolBroken: the pool's workers died faster than its restart
	// intensity allows.
	ErrPoolBroken = sentinel(protocol.CodePoolBroken)
	// ErrTerminated: the pool or supervisor was terminated first.
	ErrTerminated = sentinel(protocol.CodeTerminated)
	// ErrUnknownFunction: the pool's workers do not serve the function.
	ErrUnknownFunction = sentinel(protocol.CodeUnknownFunction)
	// ErrNotFound: no pool, task or process of that name.
	ErrNotFound = sentinel(protocol.CodeNotFound)
	// ErrClosed: the pool is closed to new work, or the connection to the
	// supervisor has ended.
	ErrClosed = sentinel(protocol.CodeClosed)
	// ErrSpawnFailed: a worker or process could not be started.
	ErrSpawnFailed = sentinel(protocol.CodeSpawnFailed)
)

// fromWire turns what jsonrpc.Conn.Call returns into this package's errors:
// remote errors become *Error, a closed connection matches ErrClosed.
func fromWire(err error) error {
	if err == nil {
		return nil
	}
	var je *jsonrpc.Error
	if errors.As(err, &je) {
		return remoteError(je)
	}
	if errors.Is(err, jsonrpc.ErrClosed) {
		return &connClosedError{}
	}
	return err
}

func remoteError(je *jsonrpc.Error) *Error {
	e := &Error{Code: je.Code, Name: protocol.ErrorNames[je.Code], Message: je.Message}
	if len(je.Data) > 0 && je.Data[0] == '{' {
		// Data of other shapes (version_mismatch's "supported") is not
		// ErrorData; what does not fit is left out.
		_ = json.Unmarshal(je.Data, &e.Data)
	}
	return e
}

// connClosedError reports a call on a connection that has ended.
type connClosedError struct {
	detail string
}

func (e *connClosedError) Error() string {
	if e.detail != "" {
		return "connection to the corral supervisor is closed (" + e.detail + ")"
	}
	return "connection to the corral supervisor is closed"
}

// Is matches ErrClosed and jsonrpc.ErrClosed.
func (e *connClosedError) Is(target error) bool {
	return target == ErrClosed || target == jsonrpc.ErrClosed
}

// timeoutError is made here when a wait ends without the supervisor's own
// timeout answer (it was late, or the wait was never sent).
func timeoutError(format string, args ...any) *Error {
	return &Error{Code: protocol.CodeTimeout, Name: "timeout", Message: fmt.Sprintf(format, args...)}
}
