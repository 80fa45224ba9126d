package node

import (
	stdjson "encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"

	json "github.com/goccy/go-json"
)

// Limits on request fields, documented in README.md.
const (
	// MaxNameBytes bounds service names (service, source and target) and the node id.
	MaxNameBytes = 256
	// MaxTextBytes bounds every other string field (operation, method, path, ...).
	MaxTextBytes = 16 << 10
	// MaxAttributes bounds the attributes of one span.
	MaxAttributes = 128
)

// msgID is a request's msg_id: an integer kept exactly, never through float64.
type msgID struct {
	v   int64
	set bool
	bad bool // present but not an integer: reported by validation, not by the decoder
}

func (m *msgID) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		m.bad = true
		return nil
	}
	m.v, m.set = v, true
	return nil
}

// rawValue keeps a field's JSON text for fields of several allowed types.
type rawValue []byte

func (r *rawValue) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	*r = append((*r)[:0], b...)
	return nil
}

// wireLine is one input line: a Maelstrom envelope (Body set) or a bare body.
type wireLine struct {
	Src  *string   `json:"src"`
	Dest *string   `json:"dest"`
	Body *wireBody `json:"body"`
	wireBody
}

// wireBody holds the fields of every message type; validation picks those
// its type uses. Pointers tell a missing field from a zero one.
type wireBody struct {
	Type  *string `json:"type"`
	MsgID msgID   `json:"msg_id"`

	NodeID  *string  `json:"node_id"`
	NodeIDs []string `json:"node_ids"`

	Service            *string  `json:"service"`
	DurationMs         *float64 `json:"duration_ms"`
	Status             *float64 `json:"status"`
	StatusCode         *float64 `json:"status_code"`
	TargetService      *string  `json:"target_service"`
	Target             *string  `json:"target"`
	DestinationService *string  `json:"destination_service"`
	Destination        *string  `json:"destination"`
	SourceService      *string  `json:"source_service"`
	Source             *string  `json:"source"`
	Method             *string  `json:"method"`
	Path               *string  `json:"path"`
	Protocol           *string  `json:"protocol"`
	TraceID            *string  `json:"trace_id"`
	SpanID             *string  `json:"span_id"`
	Timestamp          rawValue `json:"timestamp"`

	Operation    *string             `json:"operation"`
	ParentSpanID *string             `json:"parent_span_id"`
	Kind         *string             `json:"kind"`
	Attributes   map[string]rawValue `json:"attributes"`

	Filter *wireFilter `json:"filter"`
	Detail *bool       `json:"detail"`
	Raw    *bool       `json:"raw"`
	Limit  *float64    `json:"limit"`
	Format *string     `json:"format"`
}

type wireFilter struct {
	SourceService *string  `json:"source_service"`
	TargetService *string  `json:"target_service"`
	Status        *float64 `json:"status"`
	StatusClass   *string  `json:"status_class"`
}

// salvage reads what it still can from a line that failed to decode (the
// envelope and msg_id), so that the error reply can mirror its framing and
// msg_id. Keys match exactly, as on the fast path: encoding/json would also
// take "MSG_ID" for msg_id.
func salvage(line []byte, w *wireLine) {
	*w = wireLine{}
	var top map[string]stdjson.RawMessage
	if stdjson.Unmarshal(line, &top) != nil {
		return
	}
	w.Src, w.Dest = salvageString(top["src"]), salvageString(top["dest"])
	body := top
	if raw := top["body"]; len(raw) > 0 && raw[0] == '{' {
		body = nil
		if stdjson.Unmarshal(raw, &body) != nil {
			return
		}
		w.Body = &wireBody{}
		w.Body.MsgID = salvageMsgID(body["msg_id"])
		return
	}
	w.MsgID = salvageMsgID(body["msg_id"])
}

func salvageMsgID(raw stdjson.RawMessage) msgID {
	var id msgID
	if raw != nil {
		_ = id.UnmarshalJSON(raw)
	}
	return id
}

func salvageString(raw stdjson.RawMessage) *string {
	var s *string
	if stdjson.Unmarshal(raw, &s) != nil {
		return nil
	}
	return s
}

// decodeLine parses one line. A *Error means the line was not a well-typed
// request; framed reports whether the line was a JSON object at all, and the
// envelope and msg_id are filled in as far as they could be read.
//
// goccy/go-json decodes the valid lines (several times faster than
// encoding/json); a line it rejects is decoded again with encoding/json,
// whose errors name the JSON field by its path.
//
// goccy is laxer than encoding/json: it accepts leading zeros, "1.", raw
// control characters in strings, trailing commas and bytes after the value,
// and keeps invalid UTF-8 as it is. So it sees only lines that validJSON
// passes, with invalid UTF-8 replaced as encoding/json would. Object keys
// match field names exactly (goccy), not case-insensitively (encoding/json).
func decodeLine(line []byte, w *wireLine) (rerr *Error, framed bool) {
	if ok, ascii := validJSON(line); ok {
		if line[skipWS(line, 0)] == 'n' {
			// Both decoders take null for an empty object.
			return malformed("a request must be a JSON object, not null"), false
		}
		if !ascii {
			line = sanitizeUTF8(line)
		}
		if json.Unmarshal(line, w) == nil {
			return nil, true
		}
		*w = wireLine{}
	}
	err := stdjson.Unmarshal(line, w)
	if err == nil {
		// The two decoders disagree: trust the standard library's verdict.
		return nil, true
	}
	var syn *stdjson.SyntaxError
	if errors.As(err, &syn) {
		return malformed("invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: ")), false
	}
	salvage(line, w)
	var ute *stdjson.UnmarshalTypeError
	if errors.As(err, &ute) {
		if ute.Field == "" {
			return malformed("a request must be a JSON object, not %s", ute.Value), false
		}
		field := strings.TrimPrefix(strings.TrimPrefix(ute.Field, "body."), "wireBody.")
		if ute.Field == "body" {
			w.Body = &wireBody{}
			return malformed("body must be an object, not %s", ute.Value), true
		}
		if strings.HasPrefix(ute.Value, "number ") {
			return malformed("%s is out of range: %s", field, strings.TrimPrefix(ute.Value, "number ")), true
		}
		return malformed("%s must be %s, not %s", field, typeName(ute.Type), ute.Value), true
	}
	return malformed("invalid request: %s", strings.TrimPrefix(err.Error(), "json: ")), true
}

func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Float64, reflect.Float32, reflect.Int, reflect.Int64:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "an array of strings"
		}
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// Field checks shared by the handlers. Each returns an error naming the field.

func checkName(field string, v *string, required bool) (string, *Error) {
	if v == nil {
		if required {
			return "", malformed("missing required field %s", field)
		}
		return "", nil
	}
	if *v == "" {
		if required {
			return "", malformed("%s must be a non-empty string", field)
		}
		return "", nil
	}
	if len(*v) > MaxNameBytes {
		return "", malformed("%s is longer than %d bytes", field, MaxNameBytes)
	}
	return *v, nil
}

func checkText(field string, v *string) (string, *Error) {
	if v == nil {
		return "", nil
	}
	if len(*v) > MaxTextBytes {
		return "", malformed("%s is longer than %d bytes", field, MaxTextBytes)
	}
	return *v, nil
}

func checkStatus(field string, v *float64) (int, *Error) {
	if v == nil {
		return 0, nil
	}
	f := *v
	if f != math.Trunc(f) || f < 100 || f > 599 {
		return 0, malformed("%s must be an integer HTTP status from 100 to 599, not %v", field, f)
	}
	return int(f), nil
}

func checkDuration(field string, v *float64) (float64, *Error) {
	if v == nil {
		return 0, nil
	}
	if math.IsNaN(*v) || math.IsInf(*v, 0) || *v < 0 {
		return 0, malformed("%s must be a finite number >= 0, not %v", field, *v)
	}
	return *v, nil
}

// firstOf returns the first non-nil of vs with its field name.
func firstOf(names []string, vs ...*string) (string, *string) {
	for i, v := range vs {
		if v != nil {
			return names[i], v
		}
	}
	return names[0], nil
}
