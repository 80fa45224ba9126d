package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/meshobs/meshobs/bench/otlp/meshtrace"
)

// template is one encoded export request (ExportTraceServiceRequest,
// protobuf) with the offsets of its ids, so that each send can give the
// same spans new trace and span ids without encoding again.
type template struct {
	raw     []byte
	traces  []int // offsets of the 16-byte trace ids
	spans   []int // offsets of the 8-byte span ids and parent span ids
	n       int   // spans in the request
	nTraces int   // traces in the request
}

// newTemplate encodes td and finds its ids in the encoding. Every id is
// random, so each found occurrence is the id's own field; patch is checked
// against a decode once here all the same.
func newTemplate(td ptrace.Traces) (*template, error) {
	raw, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	t := &template{raw: raw, n: td.SpanCount()}
	traceIDs := map[pcommon.TraceID]bool{}
	spanIDs := map[pcommon.SpanID]bool{}
	forEachSpan(td, func(sp ptrace.Span) {
		traceIDs[sp.TraceID()] = true
		spanIDs[sp.SpanID()] = true
	})
	t.nTraces = len(traceIDs)
	for id := range traceIDs {
		t.traces = append(t.traces, allIndexes(raw, id[:])...)
	}
	for id := range spanIDs {
		t.spans = append(t.spans, allIndexes(raw, id[:])...)
	}
	if err := t.verify(td, 0x5eed); err != nil {
		return nil, err
	}
	return t, nil
}

func allIndexes(b, sub []byte) []int {
	var out []int
	for off := 0; ; {
		i := bytes.Index(b[off:], sub)
		if i < 0 {
			return out
		}
		out = append(out, off+i)
		off += i + 1
	}
}

func forEachSpan(td ptrace.Traces, f func(ptrace.Span)) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				f(sp)
			}
		}
	}
}

// mix is SplitMix64's finaliser: a bijection, so distinct sequence numbers
// give distinct masks.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// patch writes the request for sequence number seq into dst (reused when
// large enough): the template with the first half of every trace id and
// every span id (parents alike, so the tree stays whole) XORed with masks
// derived from seq. Distinct seq give distinct trace ids: the untouched
// halves tell the template's traces apart and the mask tells the sends apart.
func (t *template) patch(dst []byte, seq uint64) []byte {
	dst = append(dst[:0], t.raw...)
	var tm, sm [8]byte
	binary.BigEndian.PutUint64(tm[:], mix(seq))
	binary.BigEndian.PutUint64(sm[:], mix(^seq))
	for _, o := range t.traces {
		for i := range 8 {
			dst[o+i] ^= tm[i]
		}
	}
	for _, o := range t.spans {
		for i := range 8 {
			dst[o+i] ^= sm[i]
		}
	}
	return dst
}

// verify decodes the request patch makes for seq and checks every id against td's.
func (t *template) verify(td ptrace.Traces, seq uint64) error {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(t.patch(nil, seq)); err != nil {
		return fmt.Errorf("template: patched request does not decode: %w", err)
	}
	var want []ptrace.Span
	forEachSpan(td, func(sp ptrace.Span) { want = append(want, sp) })
	var tm, sm [8]byte
	binary.BigEndian.PutUint64(tm[:], mix(seq))
	binary.BigEndian.PutUint64(sm[:], mix(^seq))
	xorTrace := func(id pcommon.TraceID) pcommon.TraceID {
		for i := range 8 {
			id[i] ^= tm[i]
		}
		return id
	}
	xorSpan := func(id pcommon.SpanID) pcommon.SpanID {
		if id.IsEmpty() {
			return id
		}
		for i := range 8 {
			id[i] ^= sm[i]
		}
		return id
	}
	i := 0
	var err error
	forEachSpan(req.Traces(), func(sp ptrace.Span) {
		if err != nil {
			return
		}
		w := want[i]
		i++
		if sp.TraceID() != xorTrace(w.TraceID()) || sp.SpanID() != xorSpan(w.SpanID()) ||
			sp.ParentSpanID() != xorSpan(w.ParentSpanID()) || sp.Name() != w.Name() {
			err = fmt.Errorf("template: span %d (%s) not patched as expected", i, w.Name())
		}
	})
	if err == nil && i != len(want) {
		err = fmt.Errorf("template: %d spans after patching, want %d", i, len(want))
	}
	return err
}

// newTemplates generates count distinct batches of spans spans each.
func newTemplates(count, spans int, seed uint64) ([]*template, error) {
	rng := rand.New(rand.NewPCG(seed, 0x6f746c70))
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	out := make([]*template, count)
	for i := range out {
		t, err := newTemplate(meshtrace.NewBatch(rng, base, spans))
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}
