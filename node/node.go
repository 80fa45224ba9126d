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
	"sync"

	"github.com/meshobs/meshobs/exporters/outbound"
	"github.com/meshobs/meshobs/telemetry"
)

// DefaultMaxLineBytes is the default limit on one input line.
const DefaultMaxLineBytes = 1 << 20

// Node is a stdio node serving the meshobs protocol from one Pipeline.
type Node struct {
	p       *telemetry.Pipeline
	maxLine int
	log     *slog.Logger
	exports func() []outbound.Stat // outbound exporters' counts for stats; nil: none

	mu      sync.Mutex // held while a line is handled, so Stop waits for it
	id      string     // node_id from init, else each request's dest
	out     *bufio.Writer
	stopped bool

	wl    wireLine // reused decode target
	reply []byte   // reused reply buffer
	head  []byte   // reused envelope head buffer
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

// WithExports makes stats replies carry the outbound exporters' counts,
// as returned by f (e.g. (*outbound.Set).Stats), in an "exports" field
// present when f returns any.
func WithExports(f func() []outbound.Stat) Option { return func(nd *Node) { nd.exports = f } }

// WithLogger sets where diagnostics go (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(nd *Node) { nd.log = l } }

// New returns a Node answering from p.
func New(p *telemetry.Pipeline, opts ...Option) *Node {
	n := &Node{p: p, maxLine: DefaultMaxLineBytes, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(n)
	}
	return n
}

// ErrStopped is returned by Run when Stop ended it.
var ErrStopped = errors.New("node: stopped")

// Run serves requests from r and writes replies to w until r ends (nil), w
// fails, or Stop is called (ErrStopped). Replies are flushed before every read
// that may block, and at the end.
func (n *Node) Run(r io.Reader, w io.Writer) error {
	n.mu.Lock()
	n.out = bufio.NewWriterSize(w, 64<<10)
	n.mu.Unlock()
	lr := newLineReader(r, n.maxLine)
	for {
		if !lr.lineBuffered() {
			if err := n.flush(); err != nil {
				return err
			}
		}
		line, tooLong, err := lr.next()
		if err == io.EOF {
			return n.flush()
		}
		if err != nil {
			_ = n.flush()
			return fmt.Errorf("node: reading input: %w", err)
		}
		n.mu.Lock()
		if n.stopped {
			n.mu.Unlock()
			return ErrStopped
		}
		if tooLong {
			n.reply = appendErrorBody(n.reply[:0], msgID{}, malformed("line longer than %d bytes skipped", n.maxLine))
			err = n.writeLine(nil, n.reply)
		} else {
			err = n.handleLine(line)
		}
		n.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// Stop makes Run return after the line in progress, flushing every reply
// written so far. It may be called from any goroutine, e.g. a signal handler.
func (n *Node) Stop() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stopped = true
	if n.out == nil {
		return nil
	}
	return n.out.Flush()
}

func (n *Node) flush() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.out.Flush(); err != nil {
		return fmt.Errorf("node: writing replies: %w", err)
	}
	return nil
}

// handleLine answers one line; it must be called with n.mu held.
func (n *Node) handleLine(line []byte) error {
	// JSON whitespace only: bytes.TrimSpace would also drop \v, \f, NEL and
	// NBSP around a line, which JSON does not allow.
	line = bytes.Trim(line, " \t\r\n")
	if len(line) == 0 {
		return nil
	}
	rerr, framed := decodeLine(line, &n.wl)
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
	return n.writeLine(env, n.reply)
}

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
	h, ok := handlers[*typ]
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

// writeLine writes one reply, framed as the request was.
func (n *Node) writeLine(env *envelope, body []byte) error {
	w := n.out
	if env != nil {
		src := n.id
		if src == "" {
			src = env.dest
		}
		h := append(n.head[:0], `{"src":`...)
		h = appendString(h, src)
		h = append(h, `,"dest":`...)
		h = appendString(h, env.src)
		h = append(h, `,"body":`...)
		n.head = h
		w.Write(h)
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
	b = appendHeader(b, "error", id)
	b = append(b, `,"code":`...)
	b = fmt.Appendf(b, "%d", e.Code)
	b = append(b, `,"text":`...)
	b = appendString(b, e.Text)
	return append(b, '}')
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
