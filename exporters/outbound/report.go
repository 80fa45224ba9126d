package outbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.opentelemetry.io/otel"
)

// Report writes one line per exporter and signal to w (meant for stderr at
// exit), e.g.
//
//	meshobs: export: jaeger traces: 1000 accepted, 0 exported, 1000 dropped (1000 in failed exports, 0 never sent: queue full or unsent at the deadline)
//
// Nothing is written when no exporter is on.
func (s *Set) Report(w io.Writer) {
	for _, st := range s.Stats() {
		fmt.Fprintf(w, "meshobs: export: %s %s: %d accepted, %d exported, %d dropped",
			st.Exporter, st.Signal, st.Accepted, st.Exported, st.Dropped)
		if st.Dropped != 0 {
			fmt.Fprintf(w, " (%d in failed exports, %d never sent: queue full or unsent at the deadline)", st.Failed, st.Queued())
		}
		fmt.Fprintln(w)
	}
}

// ErrorHandler is an otel.ErrorHandler for a process exporting over the
// network: it writes the first few errors the SDK reports (a failed export,
// a dropped batch) to w, one line each, and counts the rest, so that an
// unreachable endpoint yields a handful of lines rather than one per batch
// for as long as it lasts. An export error of a Set's exporter names the
// exporter and signal, e.g.
//
//	meshobs: export otlp traces: Post "https://collector:4318/v1/traces": http: server gave HTTP response to HTTPS client; the endpoint does not speak TLS: ...
//
// with a hint on how to fix the usual mistakes; an error response body
// (an HTML page, say) is cut to a short line. Safe for concurrent use.
type ErrorHandler struct {
	w     io.Writer
	limit int

	mu         sync.Mutex
	seen       int
	suppressed int
}

// NewErrorHandler returns a handler writing at most limit errors to w.
func NewErrorHandler(w io.Writer, limit int) *ErrorHandler {
	return &ErrorHandler{w: w, limit: limit}
}

// Handle reports or counts err.
func (h *ErrorHandler) Handle(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen++
	if h.seen > h.limit {
		h.suppressed++
		return
	}
	var ee *exportError
	if errors.As(err, &ee) {
		fmt.Fprintf(h.w, "meshobs: %s\n", oneLine(err.Error(), maxErrorLine+maxHint+60))
	} else {
		fmt.Fprintf(h.w, "meshobs: opentelemetry: %s\n", cleanMessage(err.Error()))
	}
	if h.seen == h.limit {
		fmt.Fprintf(h.w, "meshobs: opentelemetry: further errors are counted, not shown\n")
	}
}

// Suppressed returns how many errors were counted but not shown.
func (h *ErrorHandler) Suppressed() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.suppressed
}

var _ otel.ErrorHandler = (*ErrorHandler)(nil)

// exportError is a failed export of one exporter and signal, as the
// counting exporters return it to the SDK: its message names both, is one
// short line, and says how to fix a plaintext/TLS mismatch.
type exportError struct {
	exporter, signal string
	timeout          time.Duration
	err              error
}

func (e *exportError) Error() string {
	msg := cleanMessage(e.err.Error())
	for _, p := range []string{"traces export: ", "logs export: ", "metrics export: ", "failed to upload metrics: "} {
		msg = strings.TrimPrefix(msg, p) // the exporter packages' own prefixes, redundant here
	}
	if msg == context.DeadlineExceeded.Error() && e.timeout > 0 {
		msg += fmt.Sprintf(": no answer within the %s export timeout", e.timeout)
	}
	if h := e.hint(msg); h != "" {
		msg += "; " + h
	}
	return fmt.Sprintf("export %s %s: %s", e.exporter, e.signal, msg)
}

func (e *exportError) Unwrap() error { return e.err }

// Messages that mean the two ends disagree about TLS.
var (
	// A TLS client got plaintext: crypto/tls, and net/http for an HTTP/1 answer.
	tlsToPlaintext = []string{"first record does not look like a TLS handshake", "server gave HTTP response to HTTPS client"}
	// A plaintext client got TLS: Go's HTTPS servers answer 400 with this
	// text, others an alert record (0x15 0x03) that net/http cannot parse.
	plaintextToTLS = []string{"Client sent an HTTP request to an HTTPS server", `malformed HTTP response "\x15\x03`}
)

// hint says how to fix what msg reports, for the exporter's config keys.
func (e *exportError) hint(msg string) string {
	has := func(subs []string) bool {
		return slices.ContainsFunc(subs, func(s string) bool { return strings.Contains(msg, s) })
	}
	switch {
	case has(tlsToPlaintext) && e.exporter == "otlp":
		return "the endpoint does not speak TLS: set exporters.otlp.insecure: true (or OTEL_EXPORTER_OTLP_INSECURE=true), or give an http:// URL"
	case has(tlsToPlaintext) && e.exporter == "jaeger":
		return "the endpoint does not speak TLS: give exporters.jaeger.endpoint as host:port or an http:// URL"
	case has(plaintextToTLS) && e.exporter == "otlp":
		return "the endpoint expects TLS: give an https:// URL, or host:port without insecure: true"
	case has(plaintextToTLS) && e.exporter == "jaeger":
		return "the endpoint expects TLS: give exporters.jaeger.endpoint as an https:// URL"
	}
	return ""
}

// Bounds on what one error line may take, in runes.
const (
	maxErrorLine = 300 // the error itself
	maxErrorBody = 100 // a response body quoted in it
	maxHint      = 160 // a hint appended to it
)

// cleanMessage makes an error message one short line: a response body
// quoted in it (the OTLP/HTTP exporters quote the whole body, an HTML page
// from a proxy, say) is reduced to its text and cut, and the whole message
// is cut to maxErrorLine.
func cleanMessage(msg string) string {
	if i := strings.Index(msg, "body: "); i >= 0 {
		body, tail := msg[i+len("body: "):], ""
		if strings.HasSuffix(body, ")") && strings.Contains(msg[:i], "(") {
			body, tail = body[:len(body)-1], ")"
		}
		if strings.Contains(body, "<") && strings.Contains(body, ">") {
			body = htmlTag.ReplaceAllString(body, " ")
		}
		msg = msg[:i] + "body: " + oneLine(body, maxErrorBody) + tail
	}
	return oneLine(msg, maxErrorLine)
}

var htmlTag = regexp.MustCompile(`<[^<>]*>`)

// oneLine collapses every run of white space and control characters into
// one space and cuts s to at most n runes, marking a cut with "…".
func oneLine(s string, n int) string {
	var b strings.Builder
	space := false
	runes := 0
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			runes++
		}
		space = false
		if runes >= n {
			return strings.TrimRight(b.String(), " ") + "…"
		}
		b.WriteRune(r)
		runes++
	}
	return b.String()
}
