package telemetry

import (
	"errors"
	"fmt"
)

// Maelstrom error codes: every front door answers a failed request with one.
const (
	CodeCrash            = 13 // an internal failure; the node keeps running
	CodeNotSupported     = 10 // unknown message type
	CodeMalformedRequest = 12 // unparseable, missing, mistyped or out-of-range input
	CodeKeyDoesNotExist  = 20 // e.g. a trace the node does not hold
)

// Error is a failed request as every front door reports it: a Maelstrom
// error body on stdio, the same body with an HTTP status on the API.
type Error struct {
	// Code is the Maelstrom error code (CodeMalformedRequest, ...).
	Code int
	// Text says what was wrong, naming the field.
	Text string
}

// Error formats the error as a message.
func (e *Error) Error() string { return fmt.Sprintf("error %d: %s", e.Code, e.Text) }

// Type is the reply type of an error body.
func (e *Error) Type() string { return "error" }

// AppendFields appends the error body's code and text.
func (e *Error) AppendFields(b []byte) []byte {
	b = append(b, `,"code":`...)
	b = appendInt(b, int64(e.Code))
	b = append(b, `,"text":`...)
	return AppendString(b, e.Text)
}

// Malformed returns a CodeMalformedRequest error with a formatted text.
func Malformed(format string, args ...any) *Error {
	return &Error{Code: CodeMalformedRequest, Text: fmt.Sprintf(format, args...)}
}

// AsError turns err into an *Error: itself when it is one, else a crash.
func AsError(err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	return &Error{Code: CodeCrash, Text: err.Error()}
}
