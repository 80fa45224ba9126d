package node

import "fmt"

// Maelstrom error codes used by meshobs.
const (
	CodeCrash            = 13 // an internal failure; the node keeps running
	CodeNotSupported     = 10 // unknown message type
	CodeMalformedRequest = 12 // unparseable, missing, mistyped or out-of-range input
	CodeKeyDoesNotExist  = 20 // get_trace for a trace the node does not hold
)

// Error is a Maelstrom error reply.
type Error struct {
	// Code is the Maelstrom error code (CodeMalformedRequest, ...).
	Code int
	// Text says what was wrong, naming the field.
	Text string
}

// Error formats the reply as an error message.
func (e *Error) Error() string { return fmt.Sprintf("error %d: %s", e.Code, e.Text) }

func malformed(format string, args ...any) *Error {
	return &Error{Code: CodeMalformedRequest, Text: fmt.Sprintf(format, args...)}
}
