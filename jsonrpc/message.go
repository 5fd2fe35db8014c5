// Package jsonrpc is a JSON-RPC 2.0 connection over a newline-delimited
// stream: one JSON object per line, either side may call the other.
//
// Requests are handled inline on the connection's read loop, in arrival
// order. A handler that cannot answer at once (a queue get, a task wait)
// returns ErrAsync, parks the request with whatever will answer it, and later
// calls Conn.Reply exactly once. Writes go through a per-connection queue
// drained by one writer goroutine, so replying never blocks the replier on a
// slow peer; Notify is the one call that waits, for flow control.
//
// Payloads (params, results) are kept as raw JSON and never re-encoded: a
// message is scanned once when read and copied once when written.
package jsonrpc

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/corralhq/corral/internal/jsonx"

	json "github.com/segmentio/encoding/json"
)

// Standard JSON-RPC 2.0 error codes.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
)

// ID is a request id as it appeared on the wire: the raw JSON text of a
// number or a string ("7", `"a-1"`), or "null". Keeping the raw text means an
// id is echoed back byte for byte, whatever its type.
type ID string

// NullID is the id of a response to a request whose id could not be read.
const NullID ID = "null"

// Request is an incoming call or notification.
type Request struct {
	// ID is empty for a notification.
	ID     ID
	Method string
	// Params is the raw JSON of the params member, nil when absent.
	Params json.RawMessage
}

// IsNotification reports whether the request expects no response.
func (r *Request) IsNotification() bool { return r.ID == "" }

// Error is a JSON-RPC error object. It is also the Go error a Call returns
// when the peer answered with an error.
type Error struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (code %d)", e.Message, e.Code)
}

// NewError returns an *Error with data marshalled from data (omitted when nil).
func NewError(code int64, message string, data any) *Error {
	e := &Error{Code: code, Message: message}
	if data != nil {
		if b, err := json.Marshal(data); err == nil {
			e.Data = b
		}
	}
	return e
}

// Errorf returns an *Error with a formatted message and no data.
func Errorf(code int64, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// wire is the envelope of any message; payloads stay raw.
type wire struct {
	JSONRPC string
	ID      json.RawMessage
	Method  *string
	Params  json.RawMessage
	Result  json.RawMessage
	Error   *Error
	bad     string // why a well-formed object is not a valid message
}

// parseEnvelope validates line once, as it splits it into members: the
// payload members are kept as raw bytes of line, and only the small
// envelope members are decoded. A nil wire means the line is not a valid
// JSON object; a non-nil one with an error has a member of the wrong type.
func parseEnvelope(line []byte) (*wire, error) {
	ms, err := jsonx.Members(line)
	if err != nil {
		return nil, err
	}
	m := &wire{}
	for _, mem := range ms {
		switch mem.Key {
		case "jsonrpc":
			if err := json.Unmarshal(mem.Value, &m.JSONRPC); err != nil {
				m.bad = `"jsonrpc" must be "2.0"`
			}
		case "id":
			m.ID = mem.Value
		case "method":
			if string(mem.Value) == "null" {
				continue
			}
			var s string
			if err := json.Unmarshal(mem.Value, &s); err != nil {
				m.bad = `"method" must be a string`
				continue
			}
			m.Method = &s
		case "params":
			m.Params = mem.Value
		case "result":
			m.Result = mem.Value
		case "error":
			if string(mem.Value) == "null" {
				continue
			}
			var e Error
			if err := json.Unmarshal(mem.Value, &e); err != nil {
				m.bad = `"error" must be an object with an integer "code" and a string "message"`
				continue
			}
			m.Error = &e
		}
	}
	if m.bad != "" {
		return m, errors.New(m.bad)
	}
	return m, nil
}

// validID reports whether raw is a legal request id: a string or a number
// (null is tolerated, as the spec allows it, though discouraged).
func validID(raw []byte) bool {
	if len(raw) == 0 {
		return false
	}
	switch c := raw[0]; {
	case c == '"', c == '-', c >= '0' && c <= '9':
		return true
	case bytes.Equal(raw, []byte("null")):
		return true
	}
	return false
}

var (
	prefix     = []byte(`{"jsonrpc":"2.0","id":`)
	prefixNote = []byte(`{"jsonrpc":"2.0","method":`)
)

// encodeValue returns v as JSON. json.RawMessage values are trusted: they
// were produced by this process or came out of a decoded message.
func encodeValue(v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return []byte("null"), nil
	case json.RawMessage:
		if len(v) == 0 {
			return []byte("null"), nil
		}
		return v, nil
	}
	return json.Append(nil, v, json.TrustRawMessage)
}

func appendRequest(b []byte, id ID, method string, params []byte) []byte {
	if id == "" {
		b = append(b, prefixNote...)
	} else {
		b = append(b, prefix...)
		b = append(b, id...)
		b = append(b, `,"method":`...)
	}
	b = json.AppendEscape(b, method, 0)
	if params != nil {
		b = append(b, `,"params":`...)
		b = append(b, params...)
	}
	return append(b, "}\n"...)
}

func appendResult(b []byte, id ID, result []byte) []byte {
	b = append(b, prefix...)
	b = append(b, id...)
	b = append(b, `,"result":`...)
	b = append(b, result...)
	return append(b, "}\n"...)
}

func appendError(b []byte, id ID, e *Error) []byte {
	eb, err := json.Append(nil, e, json.TrustRawMessage)
	if err != nil {
		eb, _ = json.Marshal(&Error{Code: CodeInternalError, Message: e.Message})
	}
	b = append(b, prefix...)
	b = append(b, id...)
	b = append(b, `,"error":`...)
	b = append(b, eb...)
	return append(b, "}\n"...)
}

// asError converts a handler's error into the wire error sent to the peer.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternalError, Message: err.Error()}
}
