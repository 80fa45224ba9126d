package main

import (
	"encoding/json"
	"math"
)

// request is every field any request may carry, envelope fields included; one
// struct keeps decoding to a single json.Unmarshal per body.
type request struct {
	Src  *string         `json:"src"`
	Dest *string         `json:"dest"`
	Body json.RawMessage `json:"body"`

	Type  string `json:"type"`
	MsgID *int64 `json:"msg_id"`

	NodeID  string   `json:"node_id"`
	NodeIDs []string `json:"node_ids"`

	Service            *string         `json:"service"`
	DurationMS         *float64        `json:"duration_ms"`
	Status             *int            `json:"status"`
	StatusCode         *int            `json:"status_code"`
	TargetService      string          `json:"target_service"`
	Target             string          `json:"target"`
	DestinationService string          `json:"destination_service"`
	Destination        string          `json:"destination"`
	SourceService      string          `json:"source_service"`
	Source             string          `json:"source"`
	Method             string          `json:"method"`
	Path               string          `json:"path"`
	Protocol           string          `json:"protocol"`
	TraceID            *string         `json:"trace_id"`
	SpanID             *string         `json:"span_id"`
	Timestamp          json.RawMessage `json:"timestamp"`

	Operation    *string                    `json:"operation"`
	ParentSpanID *string                    `json:"parent_span_id"`
	Kind         *string                    `json:"kind"`
	Attributes   map[string]json.RawMessage `json:"attributes"`

	Filter *filter `json:"filter"`
	Detail bool    `json:"detail"`
	Raw    bool    `json:"raw"`
	Limit  *int    `json:"limit"`
	Format string  `json:"format"`
}

// filter selects access-log entries; zero fields match everything.
type filter struct {
	SourceService string `json:"source_service"`
	TargetService string `json:"target_service"`
	Status        *int   `json:"status"`
	StatusClass   string `json:"status_class"`
}

func (f *filter) validate() error {
	if f == nil {
		return nil
	}
	if f.Status != nil && (*f.Status < 100 || *f.Status > 599) {
		return malformed("filter.status: %d out of range 100..599", *f.Status)
	}
	switch f.StatusClass {
	case "", "1xx", "2xx", "3xx", "4xx", "5xx":
	default:
		return malformed("filter.status_class: %q is not one of 1xx..5xx", f.StatusClass)
	}
	return nil
}

func (f *filter) matchPair(src, dst string) bool {
	return f == nil || (f.SourceService == "" || f.SourceService == src) &&
		(f.TargetService == "" || f.TargetService == dst)
}

func (f *filter) matchStatus(status int) bool {
	if f == nil {
		return true
	}
	if f.Status != nil && *f.Status != status {
		return false
	}
	if f.StatusClass != "" && int(f.StatusClass[0]-'0') != status/100 {
		return false
	}
	return true
}

func (f *filter) hasStatus() bool { return f != nil && (f.Status != nil || f.StatusClass != "") }

func validDuration(d *float64, field string) error {
	if d != nil && (*d < 0 || math.IsNaN(*d) || math.IsInf(*d, 0)) {
		return malformed("%s: must be a finite number >= 0", field)
	}
	return nil
}

func validStatus(s *int, field string) error {
	if s != nil && (*s < 100 || *s > 599) {
		return malformed("%s: %d out of range 100..599", field, *s)
	}
	return nil
}

// isHexID reports whether s is n lower-case hex digits, not all zero.
func isHexID(s string, n int) bool {
	if len(s) != n {
		return false
	}
	nonZero := false
	for i := range len(s) {
		c := s[i]
		switch {
		case c == '0':
		case c >= '1' && c <= '9', c >= 'a' && c <= 'f':
			nonZero = true
		default:
			return false
		}
	}
	return nonZero
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
