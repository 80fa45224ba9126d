package outbound

import (
	"fmt"
	"io"
	"sync"

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
// a dropped batch) to w and counts the rest, so that an unreachable endpoint
// yields a handful of lines rather than one per batch for as long as it
// lasts. Safe for concurrent use.
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
	fmt.Fprintf(h.w, "meshobs: opentelemetry: %v\n", err)
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
