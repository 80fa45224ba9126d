package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxLine is the longest accepted line, newline excluded.
const maxLine = 1 << 20

// Maelstrom error codes.
const (
	codeNotSupported     = 10
	codeMalformedRequest = 12
	codeCrash            = 13
	codeKeyDoesNotExist  = 20
)

// rpcError is a request the node answers with an error body.
type rpcError struct {
	code int
	text string
}

func (e *rpcError) Error() string { return fmt.Sprintf("code %d: %s", e.code, e.text) }

func malformed(format string, args ...any) *rpcError {
	return &rpcError{code: codeMalformedRequest, text: fmt.Sprintf(format, args...)}
}

// envelopeOut frames a reply to an enveloped request.
type envelopeOut struct {
	Src  string `json:"src"`
	Dest string `json:"dest"`
	Body any    `json:"body"`
}

type errorBody struct {
	Type      string `json:"type"`
	InReplyTo *int64 `json:"in_reply_to,omitempty"`
	Code      int    `json:"code"`
	Text      string `json:"text"`
}

// flushingReader flushes the replies written so far before every read of more
// input, so an interactive client is never left waiting on a buffered answer.
type flushingReader struct {
	r io.Reader
	w *bufio.Writer
}

func (f flushingReader) Read(p []byte) (int, error) {
	if err := f.w.Flush(); err != nil {
		return 0, err
	}
	return f.r.Read(p)
}

// lineSplitter is a bufio.SplitFunc that skips lines longer than maxLine
// instead of failing the whole scan, reporting each through overlong.
type lineSplitter struct {
	skipping bool
	overlong bool
}

func (s *lineSplitter) split(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		if s.skipping {
			s.skipping, s.overlong = false, true
			return i + 1, []byte{}, nil
		}
		return i + 1, bytes.TrimSuffix(data[:i], []byte{'\r'}), nil
	}
	if atEOF {
		if s.skipping {
			s.skipping, s.overlong = false, true
			return len(data), []byte{}, nil
		}
		if len(data) == 0 {
			return 0, nil, nil
		}
		return len(data), data, nil
	}
	// The scanner's buffer is maxLine+1 bytes: full without a newline means the
	// line is over the limit; drop what we hold and keep dropping until its end.
	if s.skipping || len(data) > maxLine {
		s.skipping = true
		return len(data), nil, nil
	}
	return 0, nil, nil
}

// run answers every line of in on out until EOF.
func (n *node) run(in io.Reader, out io.Writer) error {
	bw := bufio.NewWriterSize(out, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	var split lineSplitter
	sc := bufio.NewScanner(flushingReader{r: in, w: bw})
	sc.Split(split.split)
	sc.Buffer(make([]byte, 64<<10), maxLine+1)
	for sc.Scan() {
		var reply any
		switch line := sc.Bytes(); {
		case split.overlong:
			split.overlong = false
			reply = errorBody{Type: "error", Code: codeMalformedRequest,
				Text: fmt.Sprintf("line longer than %d bytes skipped", maxLine)}
		case len(bytes.TrimSpace(line)) == 0:
			continue
		default:
			reply = n.handleLine(line)
		}
		if err := enc.Encode(reply); err != nil {
			return fmt.Errorf("write reply: %w", err)
		}
	}
	scanErr := sc.Err()
	if err := bw.Flush(); err != nil {
		return errors.Join(scanErr, fmt.Errorf("flush: %w", err))
	}
	return scanErr
}

// handleLine decodes one line and returns the reply to encode, framed like the
// request.
func (n *node) handleLine(line []byte) any {
	if bytes.TrimSpace(line)[0] != '{' {
		return errorBody{Type: "error", Code: codeMalformedRequest, Text: "line: not a JSON object"}
	}
	var req request
	err := json.Unmarshal(line, &req)
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return errorBody{Type: "error", Code: codeMalformedRequest, Text: "unparseable line: " + err.Error()}
	}
	if req.Body == nil {
		return n.handleBody(&req, err)
	}
	// Enveloped: the body is decoded on its own.
	var src, dest string
	if req.Src != nil {
		src = *req.Src
	}
	if req.Dest != nil {
		dest = *req.Dest
	}
	var body request
	switch {
	case err != nil:
		// The envelope itself had a field of the wrong type.
	case len(bytes.TrimSpace(req.Body)) == 0 || bytes.TrimSpace(req.Body)[0] != '{':
		err = malformed("body: not an object")
	default:
		err = json.Unmarshal(req.Body, &body)
	}
	from := n.nodeID
	reply := n.handleBody(&body, err)
	if from == "" {
		from = n.nodeID // an init in this very message names the node
	}
	if from == "" {
		from = dest
	}
	return envelopeOut{Src: from, Dest: src, Body: reply}
}

// handleBody dispatches a decoded body; decodeErr is the error decoding it, if any.
func (n *node) handleBody(req *request, decodeErr error) any {
	if decodeErr == nil && req.Type == "" {
		decodeErr = malformed("type: required")
	}
	if decodeErr != nil {
		if req.Type != "" && !knownTypes[req.Type] {
			return unknownType(req)
		}
		var rpc *rpcError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(decodeErr, &rpc):
		case errors.As(decodeErr, &typeErr):
			rpc = malformed("%s: want %s, got %s", typeErr.Field, typeErr.Type, typeErr.Value)
		default:
			rpc = malformed("%s", decodeErr.Error())
		}
		return errorBody{Type: "error", InReplyTo: req.MsgID, Code: rpc.code, Text: rpc.text}
	}
	reply, err := n.dispatch(req)
	if err != nil {
		var rpc *rpcError
		if !errors.As(err, &rpc) {
			rpc = &rpcError{code: codeCrash, text: err.Error()}
		}
		return errorBody{Type: "error", InReplyTo: req.MsgID, Code: rpc.code, Text: rpc.text}
	}
	return reply
}

var knownTypes = map[string]bool{
	"init": true, "record": true, "trace": true, "query": true,
	"generate": true, "get_trace": true, "stats": true,
}

func unknownType(req *request) errorBody {
	return errorBody{Type: "error", InReplyTo: req.MsgID, Code: codeNotSupported,
		Text: fmt.Sprintf("type: %q not supported", req.Type)}
}

func (n *node) dispatch(req *request) (any, error) {
	switch req.Type {
	case "init":
		return n.init(req)
	case "record":
		return n.record(req)
	case "trace":
		return n.trace(req)
	case "query":
		return n.query(req)
	case "generate":
		return n.generate(req)
	case "get_trace":
		return n.getTrace(req)
	case "stats":
		return n.stats(req)
	}
	return unknownType(req), nil
}
