package node

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/meshobs/meshobs/telemetry"
)

// DefaultMaxLineBytes is the default limit on one input line.
const DefaultMaxLineBytes = 1 << 20

// Node is a stdio node serving the meshobs protocol from one Pipeline: it
// decodes and validates each line, calls the pipeline (write side) or its
// query layer (read side), and encodes the reply.
type Node struct {
	p       *telemetry.Pipeline
	q       *telemetry.Query
	maxLine int
	log     *slog.Logger

	mu   sync.Mutex
	stop context.CancelFunc // ends the Run in progress; nil when none

	replies, rejected atomic.Int64 // reply lines written, and how many were errors

	id                string // node_id from init, else each request's dest
	out               *bufio.Writer
	dec               decoder
	wl                wireLine // reused decode target
	reply             []byte   // reused reply buffer
	head              []byte   // the last envelope head written, from headSrc to headDest
	headSrc, headDest string
}

// Option configures a Node.
type Option func(*Node)

// WithMaxLineBytes sets the longest line accepted (default DefaultMaxLineBytes).
func WithMaxLineBytes(n int) Option {
	return func(nd *Node) {
		if n > 0 {
			nd.maxLine = n
		}
	}
}

// WithLogger sets where diagnostics go (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(nd *Node) { nd.log = l } }

// New returns a Node writing into p and answering from p.Query().
func New(p *telemetry.Pipeline, opts ...Option) *Node {
	n := &Node{p: p, q: p.Query(), maxLine: DefaultMaxLineBytes, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(n)
	}
	return n
}

// ErrStopped is returned by Run when Stop ended it.
var ErrStopped = errors.New("node: stopped")

// Run serves requests from r and writes replies to w until r ends (nil), w
// fails, ctx is done (ctx.Err()) or Stop is called (ErrStopped). It returns
// promptly in the last two cases even while waiting for input: the line in
// progress, if any, is answered first, and every reply written is flushed.
// Replies are flushed before every read that may block, and at the end.
// One Run at a time.
//
// A reader with a read deadline (a pipe, a socket, a pollable *os.File)
// and a regular file are read on Run's goroutine: a read waiting for input
// is ended by setting the deadline in the past, and no read is left behind.
// Any other reader is read on a goroutine of its own, so that Run need not
// wait for it: a read still blocked when Run returns ends when r yields
// data or fails.
func (n *Node) Run(ctx context.Context, r io.Reader, w io.Writer) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	n.mu.Lock()
	n.stop = func() { cancel(ErrStopped) }
	n.out = bufio.NewWriterSize(w, 64<<10)
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.stop = nil
		n.mu.Unlock()
	}()

	in, closeInput := newInput(ctx, r)
	defer closeInput()
	lr := newLineReader(in, n.maxLine)
	for {
		if !lr.lineBuffered() {
			if err := n.flush(); err != nil {
				return err
			}
		}
		line, tooLong, err := lr.next()
		switch {
		case err == io.EOF:
			return n.flush()
		case errors.Is(err, errInterrupted):
			return errors.Join(n.flush(), context.Cause(ctx))
		case err != nil:
			_ = n.flush()
			return fmt.Errorf("node: reading input: %w", err)
		}
		if tooLong {
			n.rejected.Add(1)
			n.reply = appendErrorBody(n.reply[:0], msgID{}, malformed("line longer than %d bytes skipped", n.maxLine))
			err = n.writeLine(nil, n.reply)
		} else {
			err = n.handleLine(line)
		}
		if err != nil {
			return err
		}
	}
}

// Stop makes the Run in progress return after the line it is answering, if
// any, with every reply flushed. It may be called from any goroutine, e.g.
// a signal handler, and does nothing when no Run is in progress.
func (n *Node) Stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stop != nil {
		n.stop()
	}
}

func (n *Node) flush() error {
	if err := n.out.Flush(); err != nil {
		return fmt.Errorf("node: writing replies: %w", err)
	}
	return nil
}

// handleLine answers one line.
func (n *Node) handleLine(line []byte) error {
	// JSON whitespace only: bytes.TrimSpace would also drop \v, \f, NEL and
	// NBSP around a line, which JSON does not allow.
	line = trimJSONSpace(line)
	if len(line) == 0 {
		return nil
	}
	rerr, framed := n.dec.decode(line, &n.wl)
	var env *envelope
	if framed && n.wl.envelope {
		env = &envelope{src: deref(n.wl.Src.get()), dest: deref(n.wl.Dest.get())}
	}
	body := n.wl.body()
	n.reply = n.reply[:0]
	if rerr != nil {
		n.reply = appendErrorBody(n.reply, body.MsgID, rerr)
	} else {
		n.reply = n.dispatch(n.reply, body)
	}
	if bytes.HasPrefix(n.reply, errorHead) {
		n.rejected.Add(1)
	}
	return n.writeLine(env, n.reply)
}

// trimJSONSpace returns b without the JSON whitespace around it.
func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && isJSONSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isJSONSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// dispatch appends the reply body for one decoded request, turning a panic
// into a crash error so that one bad message never stops the node.
func (n *Node) dispatch(b []byte, body *wireBody) (out []byte) {
	start := len(b)
	defer func() {
		if r := recover(); r != nil {
			n.log.Error("internal failure", "panic", r, "stack", string(debug.Stack()))
			out = appendErrorBody(b[:start], body.MsgID, &Error{Code: CodeCrash, Text: fmt.Sprintf("internal failure: %v", r)})
		}
	}()
	if body.MsgID.bad {
		return appendErrorBody(b, msgID{}, malformed("msg_id must be an integer"))
	}
	typ := body.Type.get()
	if typ == nil {
		return appendErrorBody(b, body.MsgID, malformed("missing required field type"))
	}
	h, ok := handlerOf(*typ)
	if !ok {
		return appendErrorBody(b, body.MsgID, &Error{Code: CodeNotSupported, Text: fmt.Sprintf("unknown message type %q", *typ)})
	}
	out, err := h(n, context.Background(), b, body)
	if err != nil {
		return appendErrorBody(b[:start], body.MsgID, err)
	}
	return out
}

type envelope struct{ src, dest string }

// errorHead starts every error reply body.
var errorHead = []byte(`{"type":"error"`)

// Counts returns how many reply lines the node has written and how many of
// them were errors (rejected lines); safe to call concurrently with Run.
func (n *Node) Counts() (replies, rejected int64) { return n.replies.Load(), n.rejected.Load() }

// writeLine writes one reply, framed as the request was.
func (n *Node) writeLine(env *envelope, body []byte) error {
	n.replies.Add(1)
	w := n.out
	if env != nil {
		src := n.id
		if src == "" {
			src = env.dest
		}
		// A stream's envelopes mostly repeat: the head is built again only
		// when its ends change.
		if src != n.headSrc || env.src != n.headDest || len(n.head) == 0 {
			h := append(n.head[:0], `{"src":`...)
			h = telemetry.AppendString(h, src)
			h = append(h, `,"dest":`...)
			h = telemetry.AppendString(h, env.src)
			h = append(h, `,"body":`...)
			n.head, n.headSrc, n.headDest = h, src, env.src
		}
		w.Write(n.head)
		w.Write(body)
		w.WriteByte('}')
	} else {
		w.Write(body)
	}
	if err := w.WriteByte('\n'); err != nil {
		return fmt.Errorf("node: writing replies: %w", err)
	}
	return nil
}

func appendErrorBody(b []byte, id msgID, e *Error) []byte {
	b = appendHeader(b, e.Type(), id)
	b = e.AppendFields(b)
	return append(b, '}')
}

// appendHeader opens a reply body: {"type":T[,"in_reply_to":N]
func appendHeader(b []byte, typ string, id msgID) []byte {
	b = telemetry.AppendHeader(b, typ)
	if id.set {
		b = append(b, `,"in_reply_to":`...)
		b = strconv.AppendInt(b, id.v, 10)
	}
	return b
}

// Error is a Maelstrom error reply (the query layer's error type).
type Error = telemetry.Error

// Maelstrom error codes used by meshobs.
const (
	CodeCrash            = telemetry.CodeCrash
	CodeNotSupported     = telemetry.CodeNotSupported
	CodeMalformedRequest = telemetry.CodeMalformedRequest
	CodeKeyDoesNotExist  = telemetry.CodeKeyDoesNotExist
)

var malformed = telemetry.Malformed

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
