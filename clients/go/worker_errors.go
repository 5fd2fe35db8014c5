package corral

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
)

// TaskError is a task failure with an explicit type, message and
// traceback. A handler may return one to control what the client sees;
// the worker sends it as it is.
type TaskError struct {
	Type      string
	Message   string
	Traceback string
}

func (e *TaskError) Error() string {
	if e.Type == "" {
		return e.Message
	}
	return e.Type + ": " + e.Message
}

// ErrorType returns e.Type.
func (e *TaskError) ErrorType() string { return e.Type }

// typedError is what a handler's error may implement to name its type.
type typedError interface {
	ErrorType() string
}

// taskFailed converts a handler's error into the task_failed error sent to
// the supervisor. index is the position within a task.map's items, or -1.
// A Go error carries no traceback of its own: it gets its "%+v" form (a
// stack, for errors that record one) and the function it came from.
func taskFailed(fn string, err error, index int) *jsonrpc.Error {
	var data protocol.ErrorData
	var te *TaskError
	var typed typedError
	switch {
	case errors.As(err, &te):
		data.Type, data.Message, data.Traceback = te.Type, te.Message, te.Traceback
	case errors.As(err, &typed):
		data.Type, data.Message = typed.ErrorType(), err.Error()
	default:
		data.Type, data.Message = "error", err.Error()
	}
	if data.Type == "" {
		data.Type = "error"
	}
	where := "in " + fn
	if index >= 0 {
		data.Index = &index
		where = fmt.Sprintf("in %s, item %d", fn, index)
	}
	if data.Traceback == "" {
		data.Traceback = fmt.Sprintf("%+v\n\t%s", err, where)
	}
	msg := data.Type + ": " + data.Message
	if data.Type == "error" {
		msg = data.Message
	}
	if index >= 0 {
		msg = fmt.Sprintf("item %d: %s", index, msg)
	}
	return protocol.ErrorWith(protocol.CodeTaskFailed, msg, data)
}

// panicError describes a recovered handler panic; call it from the
// deferred function that recovered, so the stack shows where it happened.
func panicError(v any) *TaskError {
	return &TaskError{Type: "panic", Message: fmt.Sprint(v), Traceback: string(debug.Stack())}
}

// typeError is the failure of a call whose arguments do not fit the
// function, as Python raises TypeError.
func typeError(format string, args ...any) *TaskError {
	return &TaskError{Type: "TypeError", Message: fmt.Sprintf(format, args...)}
}
