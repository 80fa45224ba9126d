// Package api is meshobs's HTTP front door: a read-only JSON API over the
// same query layer the stdio node answers from, the web UI that draws it,
// health and readiness probes, and meshobs's own Prometheus metrics.
//
// Every /api/ answer is the stdio reply body of the same request without
// in_reply_to, written by telemetry.AppendReply (one encoder for every door):
//
//	GET /api/graph?detail=&format=                      generate
//	GET /api/logs?source_service=&target_service=&status=&status_class=&detail=&raw=&limit=
//	                                                    query (the filter as parameters)
//	GET /api/stats?service=                             stats
//	GET /api/traces/{trace_id}                          get_trace
//	GET /healthz, /readyz                               200 when alive / ready, else 503
//	GET /metrics                                        Prometheus text
//	GET /                                               the web UI
//
// Parameters: booleans are true or false; an empty parameter is the same as
// an absent one; a repeated or unknown parameter is an error. Failures carry
// the error body {"type":"error","code":C,"text":T}, T naming the parameter,
// with the HTTP status of its code: 400 for 12 (malformed-request), 404 for
// 20 (key-does-not-exist), 500 for 13 (crash). The server's own refusals use
// the same body: 404 (code 10, not-supported) for an unknown path, 405
// (code 10, with Allow) for a method other than GET or HEAD, 401 (code 12)
// without a valid bearer token, 503 (code 11, temporarily-unavailable, with
// Retry-After) beyond max_concurrent_requests.
//
// With api.auth.bearer_token_file every path but /healthz and /readyz needs
// "Authorization: Bearer <token>". A browser opens the page once as
// /?token=<token>: the page keeps the token in the tab's sessionStorage,
// drops it from the address bar and sends the header on its own calls. The
// page is one document (its script, style and the vendored layout library
// are inlined when the server starts), so no other path needs the token in
// its URL; a browser asking for / without a token gets a small page that asks
// for it, reusing the tab's stored token when there is one.
//
// The UI (ui/: plain HTML, CSS and JavaScript, no build step) polls
// /api/graph?detail=true every 3 s (?refresh=SECONDS), computes each edge's
// requests per second from the change of its request_count, and lays the
// graph out left to right with the vendored dagre (ui/vendor, refreshed by
// ui/vendor/refresh.sh); it lays out again only when services or edges
// appear, so zoom, pan and selection survive refreshes. A service's panel
// reads /api/stats, the access-log panel /api/logs?raw=true, the trace view
// /api/traces/{trace_id}. The browser tests (TestBrowser, headless Chromium
// through chromedp) check it; `go test ./api -run TestBrowser/DemoMesh
// -update` rewrites docs/ui-demo.png.
//
// Ingest is never starved by readers: requests beyond
// max_concurrent_requests are refused at once with 503 (never queued), and
// every request is bounded by header, read, write and idle timeouts and a
// header size limit. Handlers pass the request's context to the query layer.
package api
