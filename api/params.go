package api

import (
	"net/url"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/node"
	"github.com/meshobs/meshobs/telemetry"
)

// params are one request's query parameters, each given at most once and
// known to its path.
type params struct {
	path string
	v    url.Values
}

// parseParams parses a query string, refusing what it cannot parse, a
// parameter the path does not take, and a parameter given twice.
func parseParams(raw string, known []string) (*params, *telemetry.Error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, telemetry.Malformed("malformed query string: %v", err)
	}
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	slices.Sort(names) // the same error for the same request
	for _, k := range names {
		if !slices.Contains(known, k) {
			if len(known) == 0 {
				return nil, telemetry.Malformed("unknown parameter %q: this path takes none", k)
			}
			return nil, telemetry.Malformed("unknown parameter %q: this path takes %s", k, strings.Join(known, ", "))
		}
		if len(v[k]) > 1 {
			return nil, telemetry.Malformed("%s must be given once, not %d times", k, len(v[k]))
		}
	}
	return &params{v: v}, nil
}

// get returns a parameter's value; absent and empty are the same.
func (p *params) get(name string) string { return p.v.Get(name) }

// boolean parses true or false; absent is false.
func (p *params) boolean(name string) (bool, *telemetry.Error) {
	switch v := p.get(name); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, telemetry.Malformed("%s must be true or false, not %q", name, v)
	}
}

// name returns a service name parameter (as the stdio node bounds one).
func (p *params) name(name string) (string, *telemetry.Error) {
	v := p.get(name)
	if len(v) > node.MaxNameBytes {
		return "", telemetry.Malformed("%s is longer than %d bytes", name, node.MaxNameBytes)
	}
	return v, nil
}

// parseTraceID parses the {trace_id} of /api/traces/{trace_id}.
func parseTraceID(s string) (trace.TraceID, *telemetry.Error) {
	id, err := trace.TraceIDFromHex(s)
	if err != nil {
		return id, telemetry.Malformed("trace_id must be 32 lower-case hex digits, not all zero")
	}
	return id, nil
}
