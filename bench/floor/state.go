package main

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"time"
)

// rawRetention is how many access-log entries the node keeps for raw queries.
const rawRetention = 10_000

// traceRetention is how many traces the node holds, the oldest dropped first.
const traceRetention = 10_000

// defaultService names spans that carry no service.
const defaultService = "unknown_service"

type pairKey struct{ src, dst string }

// pairStat aggregates the access-log entries of one (source, target) pair:
// a latency histogram per status, so status filters and detail combine.
type pairStat struct {
	key      pairKey
	count    int
	byStatus map[int]*histogram
}

// edgeStat aggregates the calls seen on one graph edge, records and spans.
type edgeStat struct {
	key    pairKey
	count  int
	errors int
	hist   histogram
}

type logEntry struct {
	Timestamp     string  `json:"timestamp"`
	Service       string  `json:"service"`
	SourceService string  `json:"source_service"`
	TargetService string  `json:"target_service"`
	Method        string  `json:"method"`
	Path          string  `json:"path"`
	Status        int     `json:"status"`
	DurationMS    float64 `json:"duration_ms"`
	TraceID       string  `json:"trace_id"`
}

type span struct {
	spanID     string
	parentID   string
	service    string
	operation  string
	kind       string
	start      time.Time
	durationMS float64
	status     int
	attributes map[string]json.RawMessage
}

type traceRec struct {
	root  *span
	spans []*span
}

// serviceStat is what stats reports for one service.
type serviceStat struct {
	count  int
	errors int
	hist   histogram
	codes  map[int]int
	// perSecond counts records by arrival second, for rate_per_s.
	perSecond [60]struct {
		sec int64
		n   int
	}
}

// node is the floor's whole state: plain maps and slices, no telemetry.
type node struct {
	now    func() time.Time
	newIDs func() ([16]byte, [8]byte)
	nodeID string

	services    []string
	serviceSeen map[string]bool

	pairs   []*pairStat
	pairIdx map[pairKey]*pairStat
	edges   []*edgeStat
	edgeIdx map[pairKey]*edgeStat

	logs    []logEntry // ring of the newest rawRetention entries
	logNext int

	traces     map[string]*traceRec
	traceOrder []string // ring of held trace ids, for eviction
	traceNext  int

	svcOrder []string
	svcStats map[string]*serviceStat
}

func newNode(now func() time.Time, newIDs func() ([16]byte, [8]byte)) *node {
	return &node{
		now:         now,
		newIDs:      newIDs,
		serviceSeen: map[string]bool{},
		pairIdx:     map[pairKey]*pairStat{},
		edgeIdx:     map[pairKey]*edgeStat{},
		traces:      map[string]*traceRec{},
		svcStats:    map[string]*serviceStat{},
	}
}

func (n *node) see(services ...string) {
	for _, s := range services {
		if s != "" && !n.serviceSeen[s] {
			n.serviceSeen[s] = true
			n.services = append(n.services, s)
		}
	}
}

func (n *node) edge(src, dst string) *edgeStat {
	k := pairKey{src, dst}
	e := n.edgeIdx[k]
	if e == nil {
		e = &edgeStat{key: k}
		n.edgeIdx[k] = e
		n.edges = append(n.edges, e)
	}
	return e
}

type initOK struct {
	Type      string `json:"type"`
	InReplyTo *int64 `json:"in_reply_to,omitempty"`
}

func (n *node) init(req *request) (any, error) {
	if req.NodeID == "" {
		return nil, malformed("node_id: required non-empty string")
	}
	n.nodeID = req.NodeID
	return initOK{Type: "init_ok", InReplyTo: req.MsgID}, nil
}

type metricsRecorded struct {
	Type         string `json:"type"`
	InReplyTo    *int64 `json:"in_reply_to,omitempty"`
	Service      string `json:"service"`
	RequestCount int    `json:"request_count"`
}

func parseTimestamp(raw json.RawMessage, now time.Time) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return now, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, malformed("timestamp: %q is not RFC 3339", s)
		}
		return t, nil
	}
	var ms float64
	if err := json.Unmarshal(raw, &ms); err != nil || math.IsNaN(ms) || math.IsInf(ms, 0) {
		return time.Time{}, malformed("timestamp: want an RFC 3339 string or Unix milliseconds")
	}
	return time.UnixMilli(int64(ms)), nil
}

func (n *node) record(req *request) (any, error) {
	if req.Service == nil || *req.Service == "" {
		return nil, malformed("service: required non-empty string")
	}
	if req.DurationMS == nil {
		return nil, malformed("duration_ms: required")
	}
	if err := validDuration(req.DurationMS, "duration_ms"); err != nil {
		return nil, err
	}
	status := req.Status
	if status == nil {
		status = req.StatusCode
	}
	if status == nil {
		return nil, malformed("status: required")
	}
	if err := validStatus(status, "status"); err != nil {
		return nil, err
	}
	var traceID string
	if req.TraceID != nil {
		if !isHexID(*req.TraceID, 32) {
			return nil, malformed("trace_id: want 32 lower-case hex digits, not all zero")
		}
		traceID = *req.TraceID
	}
	if req.SpanID != nil && !isHexID(*req.SpanID, 16) {
		return nil, malformed("span_id: want 16 lower-case hex digits, not all zero")
	}
	now := n.now()
	ts, err := parseTimestamp(req.Timestamp, now)
	if err != nil {
		return nil, err
	}

	// Validated: from here on the request changes state.
	svc, dur, code := *req.Service, *req.DurationMS, *status
	target := firstNonEmpty(req.TargetService, req.Target, req.DestinationService, req.Destination)
	source := firstNonEmpty(req.SourceService, req.Source)
	var src, dst string
	switch {
	case target != "":
		src, dst = firstNonEmpty(source, svc), target
	case source != "":
		src, dst = source, svc
	}
	n.see(src, dst, svc)
	if dst != "" {
		k := pairKey{src, dst}
		p := n.pairIdx[k]
		if p == nil {
			p = &pairStat{key: k, byStatus: map[int]*histogram{}}
			n.pairIdx[k] = p
			n.pairs = append(n.pairs, p)
		}
		p.count++
		h := p.byStatus[code]
		if h == nil {
			h = &histogram{}
			p.byStatus[code] = h
		}
		h.observe(dur)
		e := n.edge(src, dst)
		e.count++
		if code >= 500 {
			e.errors++
		}
		e.hist.observe(dur)
	}
	entry := logEntry{
		Timestamp: ts.UTC().Format(time.RFC3339Nano), Service: svc,
		SourceService: src, TargetService: dst, Method: req.Method, Path: req.Path,
		Status: code, DurationMS: dur, TraceID: traceID,
	}
	if len(n.logs) < rawRetention {
		n.logs = append(n.logs, entry)
	} else {
		n.logs[n.logNext] = entry
		n.logNext = (n.logNext + 1) % rawRetention
	}

	st := n.svcStats[svc]
	if st == nil {
		st = &serviceStat{codes: map[int]int{}}
		n.svcStats[svc] = st
		n.svcOrder = append(n.svcOrder, svc)
	}
	st.count++
	if code >= 500 {
		st.errors++
	}
	st.hist.observe(dur)
	st.codes[code]++
	sec := now.Unix()
	b := &st.perSecond[sec%60]
	if b.sec != sec {
		b.sec, b.n = sec, 0
	}
	b.n++
	return metricsRecorded{Type: "metrics_recorded", InReplyTo: req.MsgID, Service: svc, RequestCount: st.count}, nil
}

type traceCreated struct {
	Type      string `json:"type"`
	InReplyTo *int64 `json:"in_reply_to,omitempty"`
	TraceID   string `json:"trace_id"`
	SpanID    string `json:"span_id"`
}

var spanKinds = map[string]bool{"server": true, "client": true, "internal": true, "producer": true, "consumer": true}

func (n *node) trace(req *request) (any, error) {
	if req.Operation == nil || *req.Operation == "" {
		return nil, malformed("operation: required non-empty string")
	}
	svc := defaultService
	if req.Service != nil {
		if *req.Service == "" {
			return nil, malformed("service: must be non-empty")
		}
		svc = *req.Service
	}
	if req.TraceID != nil && !isHexID(*req.TraceID, 32) {
		return nil, malformed("trace_id: want 32 lower-case hex digits, not all zero")
	}
	if req.ParentSpanID != nil {
		if req.TraceID == nil {
			return nil, malformed("parent_span_id: needs trace_id")
		}
		if !isHexID(*req.ParentSpanID, 16) {
			return nil, malformed("parent_span_id: want 16 lower-case hex digits, not all zero")
		}
	}
	kind := "server"
	if req.Kind != nil {
		if !spanKinds[*req.Kind] {
			return nil, malformed("kind: %q is not one of server, client, internal, producer, consumer", *req.Kind)
		}
		kind = *req.Kind
	}
	if err := validDuration(req.DurationMS, "duration_ms"); err != nil {
		return nil, err
	}
	if err := validStatus(req.Status, "status"); err != nil {
		return nil, err
	}
	for k, v := range req.Attributes {
		switch v[0] {
		case '"', 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		default:
			return nil, malformed("attributes.%s: want a string, number or bool", k)
		}
	}

	tid, sid := n.newIDs()
	traceID := hex.EncodeToString(tid[:])
	if req.TraceID != nil {
		traceID = *req.TraceID
	}
	s := &span{
		spanID: hex.EncodeToString(sid[:]), service: svc, operation: *req.Operation, kind: kind,
		attributes: req.Attributes,
	}
	if req.DurationMS != nil {
		s.durationMS = *req.DurationMS
	}
	if req.Status != nil {
		s.status = *req.Status
	}
	s.start = n.now().Add(-time.Duration(s.durationMS * float64(time.Millisecond)))

	tr := n.traces[traceID]
	var parent *span
	switch {
	case req.ParentSpanID != nil:
		s.parentID = *req.ParentSpanID
		if tr != nil {
			for _, c := range tr.spans {
				if c.spanID == s.parentID {
					parent = c
					break
				}
			}
		}
	case tr != nil && tr.root != nil:
		parent = tr.root
		s.parentID = parent.spanID
	}
	if tr == nil {
		tr = &traceRec{}
		n.holdTrace(traceID, tr)
	}
	if s.parentID == "" && tr.root == nil {
		tr.root = s
	}
	tr.spans = append(tr.spans, s)

	if parent != nil && parent.service != svc {
		n.see(parent.service, svc)
		e := n.edge(parent.service, svc)
		e.count++
		if s.status >= 500 {
			e.errors++
		}
		e.hist.observe(s.durationMS)
	}
	n.see(svc)
	return traceCreated{Type: "trace_created", InReplyTo: req.MsgID, TraceID: traceID, SpanID: s.spanID}, nil
}

// holdTrace adds a trace, dropping the oldest held one beyond traceRetention.
func (n *node) holdTrace(id string, tr *traceRec) {
	n.traces[id] = tr
	if len(n.traceOrder) < traceRetention {
		n.traceOrder = append(n.traceOrder, id)
		return
	}
	delete(n.traces, n.traceOrder[n.traceNext])
	n.traceOrder[n.traceNext] = id
	n.traceNext = (n.traceNext + 1) % traceRetention
}

type latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func latencyOf(h *histogram) *latency {
	return &latency{P50: h.percentile(50), P95: h.percentile(95), P99: h.percentile(99), Max: h.max}
}

type pairOut struct {
	SourceService string   `json:"source_service"`
	TargetService string   `json:"target_service"`
	Count         int      `json:"count"`
	ErrorCount    *int     `json:"error_count,omitempty"`
	LatencyMS     *latency `json:"latency_ms,omitempty"`
}

type accessLogs struct {
	Type      string `json:"type"`
	InReplyTo *int64 `json:"in_reply_to,omitempty"`
	Logs      any    `json:"logs"`
}

func (n *node) query(req *request) (any, error) {
	f := req.Filter
	if err := f.validate(); err != nil {
		return nil, err
	}
	if req.Raw {
		limit := 100
		if req.Limit != nil {
			if *req.Limit < 0 {
				return nil, malformed("limit: must be >= 0")
			}
			limit = *req.Limit
		}
		// The ring in age order: from logNext to the end, then the start.
		ordered := append(append([]logEntry(nil), n.logs[n.logNext:]...), n.logs[:n.logNext]...)
		logs := []logEntry{}
		for _, e := range ordered {
			if f.matchPair(e.SourceService, e.TargetService) && f.matchStatus(e.Status) {
				logs = append(logs, e)
			}
		}
		if len(logs) > limit {
			logs = logs[len(logs)-limit:]
		}
		return accessLogs{Type: "access_logs", InReplyTo: req.MsgID, Logs: logs}, nil
	}
	logs := []pairOut{}
	for _, p := range n.pairs {
		if !f.matchPair(p.key.src, p.key.dst) {
			continue
		}
		count := p.count
		if f.hasStatus() {
			count = 0
			for code, h := range p.byStatus {
				if f.matchStatus(code) {
					count += h.count
				}
			}
		}
		if count == 0 {
			continue
		}
		out := pairOut{SourceService: p.key.src, TargetService: p.key.dst, Count: count}
		if req.Detail {
			var merged histogram
			errs := 0
			for code, h := range p.byStatus {
				if f.matchStatus(code) {
					merged.merge(h)
					if code >= 500 {
						errs += h.count
					}
				}
			}
			out.ErrorCount, out.LatencyMS = &errs, latencyOf(&merged)
		}
		logs = append(logs, out)
	}
	return accessLogs{Type: "access_logs", InReplyTo: req.MsgID, Logs: logs}, nil
}

type edgeOut struct {
	Source       string   `json:"source"`
	Target       string   `json:"target"`
	RequestCount int      `json:"request_count"`
	ErrorCount   *int     `json:"error_count,omitempty"`
	LatencyMS    *latency `json:"latency_ms,omitempty"`
}

type serviceGraph struct {
	Type      string    `json:"type"`
	InReplyTo *int64    `json:"in_reply_to,omitempty"`
	Nodes     []string  `json:"nodes"`
	Edges     []edgeOut `json:"edges"`
	Text      *string   `json:"text,omitempty"`
}

func (n *node) generate(req *request) (any, error) {
	if req.Format != "" && req.Format != "dot" && req.Format != "mermaid" {
		return nil, malformed("format: %q is not dot or mermaid", req.Format)
	}
	g := serviceGraph{Type: "service_graph", InReplyTo: req.MsgID,
		Nodes: append([]string{}, n.services...), Edges: []edgeOut{}}
	for _, e := range n.edges {
		out := edgeOut{Source: e.key.src, Target: e.key.dst, RequestCount: e.count}
		if req.Detail {
			errs := e.errors
			out.ErrorCount, out.LatencyMS = &errs, latencyOf(&e.hist)
		}
		g.Edges = append(g.Edges, out)
	}
	switch req.Format {
	case "dot":
		t := "digraph services {\n"
		for _, s := range g.Nodes {
			t += "  " + strconv.Quote(s) + ";\n"
		}
		for _, e := range g.Edges {
			t += "  " + strconv.Quote(e.Source) + " -> " + strconv.Quote(e.Target) +
				" [label=\"" + strconv.Itoa(e.RequestCount) + "\"];\n"
		}
		t += "}\n"
		g.Text = &t
	case "mermaid":
		id := map[string]string{}
		t := "graph LR\n"
		for i, s := range g.Nodes {
			id[s] = "n" + strconv.Itoa(i)
			t += "  " + id[s] + "[" + strconv.Quote(s) + "]\n"
		}
		for _, e := range g.Edges {
			t += "  " + id[e.Source] + " -->|" + strconv.Itoa(e.RequestCount) + "| " + id[e.Target] + "\n"
		}
		g.Text = &t
	}
	return g, nil
}

type spanOut struct {
	SpanID       string                     `json:"span_id"`
	ParentSpanID string                     `json:"parent_span_id"`
	Service      string                     `json:"service"`
	Operation    string                     `json:"operation"`
	Kind         string                     `json:"kind"`
	Start        string                     `json:"start"`
	DurationMS   float64                    `json:"duration_ms"`
	Status       int                        `json:"status"`
	Attributes   map[string]json.RawMessage `json:"attributes"`
}

type traceOut struct {
	Type      string    `json:"type"`
	InReplyTo *int64    `json:"in_reply_to,omitempty"`
	TraceID   string    `json:"trace_id"`
	Spans     []spanOut `json:"spans"`
}

func (n *node) getTrace(req *request) (any, error) {
	if req.TraceID == nil || !isHexID(*req.TraceID, 32) {
		return nil, malformed("trace_id: required, 32 lower-case hex digits")
	}
	tr := n.traces[*req.TraceID]
	if tr == nil {
		return nil, &rpcError{code: codeKeyDoesNotExist, text: "trace_id: " + *req.TraceID + " not held"}
	}
	spans := append([]*span(nil), tr.spans...)
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].start.Before(spans[j].start) })
	out := traceOut{Type: "trace", InReplyTo: req.MsgID, TraceID: *req.TraceID, Spans: []spanOut{}}
	for _, s := range spans {
		attrs := s.attributes
		if attrs == nil {
			attrs = map[string]json.RawMessage{}
		}
		out.Spans = append(out.Spans, spanOut{
			SpanID: s.spanID, ParentSpanID: s.parentID, Service: s.service, Operation: s.operation,
			Kind: s.kind, Start: s.start.UTC().Format(time.RFC3339Nano), DurationMS: s.durationMS,
			Status: s.status, Attributes: attrs,
		})
	}
	return out, nil
}

type goldenLatency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

type serviceSignals struct {
	Service      string         `json:"service"`
	RequestCount int            `json:"request_count"`
	ErrorCount   int            `json:"error_count"`
	ErrorRate    float64        `json:"error_rate"`
	RatePerS     float64        `json:"rate_per_s"`
	LatencyMS    goldenLatency  `json:"latency_ms"`
	StatusCodes  map[string]int `json:"status_codes"`
}

type goldenSignals struct {
	Type      string           `json:"type"`
	InReplyTo *int64           `json:"in_reply_to,omitempty"`
	Services  []serviceSignals `json:"services"`
}

func (n *node) stats(req *request) (any, error) {
	if req.Service != nil && *req.Service == "" {
		return nil, malformed("service: must be non-empty")
	}
	out := goldenSignals{Type: "golden_signals", InReplyTo: req.MsgID, Services: []serviceSignals{}}
	nowSec := n.now().Unix()
	for _, svc := range n.svcOrder {
		if req.Service != nil && *req.Service != svc {
			continue
		}
		st := n.svcStats[svc]
		recent := 0
		for _, b := range st.perSecond {
			if b.sec > nowSec-60 && b.sec <= nowSec {
				recent += b.n
			}
		}
		codes := map[string]int{}
		for c, k := range st.codes {
			codes[strconv.Itoa(c)] = k
		}
		out.Services = append(out.Services, serviceSignals{
			Service: svc, RequestCount: st.count, ErrorCount: st.errors,
			ErrorRate: float64(st.errors) / float64(st.count), RatePerS: float64(recent) / 60,
			LatencyMS: goldenLatency{
				P50: st.hist.percentile(50), P90: st.hist.percentile(90), P95: st.hist.percentile(95),
				P99: st.hist.percentile(99), Max: st.hist.max,
			},
			StatusCodes: codes,
		})
	}
	return out, nil
}
