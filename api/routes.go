package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/meshobs/meshobs/telemetry"
)

// codeTemporarilyUnavailable is Maelstrom's temporarily-unavailable: a
// refusal worth retrying (503 with Retry-After).
const codeTemporarilyUnavailable = 11

// tracesPrefix is the path of /api/traces/{trace_id} before the id.
const tracesPrefix = "/api/traces/"

// knownPaths is what an unknown path's 404 lists.
const knownPaths = "/api/graph, /api/logs, /api/stats, /api/traces/{trace_id}, /healthz, /readyz, /metrics, /"

// endpoint answers one /api/ path from its parameters.
type endpoint struct {
	params []string // the query parameters it takes
	answer func(s *Server, ctx context.Context, p *params) (telemetry.Reply, error)
}

var endpoints = map[string]*endpoint{
	"/api/graph": {params: []string{"detail", "format"}, answer: (*Server).graph},
	"/api/logs": {
		params: []string{"source_service", "target_service", "status", "status_class", "detail", "raw", "limit"},
		answer: (*Server).logs,
	},
	"/api/stats": {params: []string{"service"}, answer: (*Server).stats},
	tracesPrefix: {answer: (*Server).trace},
}

// ServeHTTP routes one request: probes first (never refused for capacity,
// never behind auth), then the concurrency cap, auth, the path and the method.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	path := r.URL.Path
	if path == "/healthz" || path == "/readyz" {
		if checkMethod(w, r) {
			s.probe(w, path == "/healthz" || s.ready())
		}
		return
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		h.Set("Retry-After", "1")
		writeError(w, &telemetry.Error{Code: codeTemporarilyUnavailable,
			Text: "too many requests in progress (api.max_concurrent_requests); retry later"})
		return
	}
	isPage := path == "/" || path == "/index.html"
	if !s.authorized(r, isPage) {
		h.Set("WWW-Authenticate", `Bearer realm="meshobs"`)
		if isPage && strings.Contains(r.Header.Get("Accept"), "text/html") {
			s.login.serve(w, http.StatusUnauthorized)
			return
		}
		writeErrorStatus(w, http.StatusUnauthorized, telemetry.Malformed(
			"a valid bearer token is required: Authorization: Bearer <token> (the page: /?token=<token>)"))
		return
	}
	var serve func()
	switch {
	case isPage:
		serve = func() { s.page.serve(w, http.StatusOK) }
	case path == "/metrics":
		serve = func() { s.metrics.ServeHTTP(w, r) }
		if s.metrics == nil {
			serve = func() {
				writeError(w, &telemetry.Error{Code: telemetry.CodeNotSupported, Text: "/metrics is not configured on this server"})
			}
		}
	case strings.HasPrefix(path, "/api/"):
		ep := endpoints[path]
		if id, ok := strings.CutPrefix(path, tracesPrefix); ok && !strings.Contains(id, "/") {
			ep = endpoints[tracesPrefix]
		}
		if ep != nil {
			serve = func() { s.serveAPI(w, r, ep) }
		}
	}
	if serve == nil {
		writeError(w, &telemetry.Error{Code: telemetry.CodeNotSupported,
			Text: "no such path " + strconv.Quote(path) + "; there are " + knownPaths})
		return
	}
	if checkMethod(w, r) {
		serve()
	}
}

// checkMethod answers 405 and reports false unless r is a GET or a HEAD.
func checkMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeErrorStatus(w, http.StatusMethodNotAllowed, &telemetry.Error{Code: telemetry.CodeNotSupported,
		Text: "method " + r.Method + " is not allowed; use GET"})
	return false
}

func (s *Server) probe(w http.ResponseWriter, ok bool) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if ok {
		_, _ = w.Write([]byte("ok\n"))
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte("not ready\n"))
}

// serveAPI answers one /api/ request with the query layer's reply, encoded
// by telemetry.AppendReply: the stdio reply body, byte for byte.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, ep *endpoint) {
	p, perr := parseParams(r.URL.RawQuery, ep.params)
	if perr != nil {
		writeError(w, perr)
		return
	}
	p.path = r.URL.Path
	ctx := r.Context()
	if ctx.Err() != nil { // the client is gone: do not query for nobody
		return
	}
	reply, err := ep.answer(s, ctx, p)
	if err != nil {
		writeError(w, telemetry.AsError(err))
		return
	}
	writeJSON(w, http.StatusOK, telemetry.AppendReply(nil, reply))
}

func (s *Server) graph(ctx context.Context, p *params) (telemetry.Reply, error) {
	var req telemetry.GraphRequest
	var err *telemetry.Error
	if req.Detail, err = p.boolean("detail"); err != nil {
		return nil, err
	}
	if req.Format = p.get("format"); req.Format != "" {
		if err := telemetry.CheckFormat("format", req.Format); err != nil {
			return nil, err
		}
	}
	return s.q.Graph(ctx, req)
}

func (s *Server) logs(ctx context.Context, p *params) (telemetry.Reply, error) {
	req := telemetry.LogRequest{Limit: telemetry.DefaultRawLimit}
	var err *telemetry.Error
	f := &req.Filter
	if f.Source, err = p.name("source_service"); err != nil {
		return nil, err
	}
	if f.Target, err = p.name("target_service"); err != nil {
		return nil, err
	}
	if v := p.get("status"); v != "" {
		n, cerr := strconv.Atoi(v)
		if cerr != nil || n < 100 || n > 599 {
			return nil, telemetry.Malformed("status must be an integer HTTP status from 100 to 599, not %q", v)
		}
		f.Status = n
	}
	if v := p.get("status_class"); v != "" {
		if f.StatusClass, err = telemetry.ParseStatusClass("status_class", v); err != nil {
			return nil, err
		}
	}
	if req.Detail, err = p.boolean("detail"); err != nil {
		return nil, err
	}
	if req.Raw, err = p.boolean("raw"); err != nil {
		return nil, err
	}
	if v := p.get("limit"); v != "" {
		n, cerr := strconv.ParseInt(v, 10, 32)
		if cerr != nil || n < 0 {
			return nil, telemetry.Malformed("limit must be an integer >= 0, not %q", v)
		}
		req.Limit = int(n)
	}
	return s.q.AccessLogs(ctx, req)
}

func (s *Server) stats(ctx context.Context, p *params) (telemetry.Reply, error) {
	service, err := p.name("service")
	if err != nil {
		return nil, err
	}
	return s.q.Stats(ctx, telemetry.StatsRequest{Service: service})
}

func (s *Server) trace(ctx context.Context, p *params) (telemetry.Reply, error) {
	id, err := parseTraceID(strings.TrimPrefix(p.path, tracesPrefix))
	if err != nil {
		return nil, err
	}
	return s.q.Trace(ctx, id)
}

// httpStatus maps an error code to the status answering it.
func httpStatus(code int) int {
	switch code {
	case telemetry.CodeMalformedRequest:
		return http.StatusBadRequest
	case telemetry.CodeKeyDoesNotExist, telemetry.CodeNotSupported:
		return http.StatusNotFound
	case codeTemporarilyUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, e *telemetry.Error) {
	writeErrorStatus(w, httpStatus(e.Code), e)
}

func writeErrorStatus(w http.ResponseWriter, status int, e *telemetry.Error) {
	writeJSON(w, status, telemetry.AppendReply(nil, e))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
