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

// wireLine is one input line: a Maelstrom envelope (Body used) or a bare
// body. Start from emptyLine: its optional fields hold their absent values.
type wireLine struct {
	Src  str      `json:"src"`
	Dest str      `json:"dest"`
	Body wireBody `json:"body"`
	wireBody

	// envelope reports that the line had a "body" object (set by decodeLine).
	envelope bool
}

// wireBody holds the fields of every message type; validation picks those
// its type uses. Optional scalars are values, not pointers (decoding
// allocates nothing for them): absent is a value no JSON text decodes to.
type wireBody struct {
	Type  str   `json:"type"`
	MsgID msgID `json:"msg_id"`

	NodeID  str      `json:"node_id"`
	NodeIDs []string `json:"node_ids"`

	Service            str      `json:"service"`
	DurationMs         num      `json:"duration_ms"`
	Status             num      `json:"status"`
	StatusCode         num      `json:"status_code"`
	TargetService      str      `json:"target_service"`
	Target             str      `json:"target"`
	DestinationService str      `json:"destination_service"`
	Destination        str      `json:"destination"`
	SourceService      str      `json:"source_service"`
	Source             str      `json:"source"`
	Method             str      `json:"method"`
	Path               str      `json:"path"`
	Protocol           str      `json:"protocol"`
	TraceID            str      `json:"trace_id"`
	SpanID             str      `json:"span_id"`
	Timestamp          rawValue `json:"timestamp"`

	Operation    str                 `json:"operation"`
	ParentSpanID str                 `json:"parent_span_id"`
	Kind         str                 `json:"kind"`
	Attributes   map[string]rawValue `json:"attributes"`

	Filter *wireFilter `json:"filter"`
	Detail bool        `json:"detail"`
	Raw    bool        `json:"raw"`
	Limit  num         `json:"limit"`
	Format str         `json:"format"`
}

// str is an optional string field. Both decoders leave a field as it is
// when its key is missing or its value is null, so a field still equal to
// absentStr was not given: "\xff" is not UTF-8, and every string the
// decoders produce is (they see only lines passed through sanitizeUTF8, or
// encoding/json replaces invalid bytes itself).
type str string

const absentStr str = "\xff"

// get returns the field's value, or nil when it was not given.
func (s *str) get() *string {
	if *s == absentStr {
		return nil
	}
	return (*string)(s)
}

// num is an optional number field: NaN, which JSON cannot express, until
// it is given.
type num float64

// get returns the field's value, or nil when it was not given.
func (f *num) get() *float64 {
	if math.IsNaN(float64(*f)) {
		return nil
	}
	return (*float64)(f)
}

var emptyBody = wireBody{
	Type: absentStr, NodeID: absentStr,
	Service: absentStr, DurationMs: num(math.NaN()), Status: num(math.NaN()), StatusCode: num(math.NaN()),
	TargetService: absentStr, Target: absentStr, DestinationService: absentStr, Destination: absentStr,
	SourceService: absentStr, Source: absentStr, Method: absentStr, Path: absentStr, Protocol: absentStr,
	TraceID: absentStr, SpanID: absentStr,
	Operation: absentStr, ParentSpanID: absentStr, Kind: absentStr,
	Limit: num(math.NaN()), Format: absentStr,
}

// emptyLine is a wireLine with every optional field absent: decode into a copy.
var emptyLine = wireLine{Src: absentStr, Dest: absentStr, Body: emptyBody, wireBody: emptyBody}

// body returns the request body: the envelope's or the bare line itself.
func (w *wireLine) body() *wireBody {
	if w.envelope {
		return &w.Body
	}
	return &w.wireBody
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
	*w = emptyLine
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
		w.envelope = true
		w.Body.MsgID = salvageMsgID(body["msg_id"])
		return
	}
	w.MsgID = salvageMsgID(body["msg_id"])
}

// hasBodyObject reports whether line, an object, has a "body" member that is an object.
func hasBodyObject(line []byte) bool {
	var top map[string]stdjson.RawMessage
	if stdjson.Unmarshal(line, &top) != nil {
		return false
	}
	raw := top["body"]
	return len(raw) > 0 && raw[0] == '{'
}

func salvageMsgID(raw stdjson.RawMessage) msgID {
	var id msgID
	if raw != nil {
		_ = id.UnmarshalJSON(raw)
	}
	return id
}

func salvageString(raw stdjson.RawMessage) str {
	var s *string
	if stdjson.Unmarshal(raw, &s) != nil || s == nil {
		return absentStr
	}
	return str(*s)
}

// decodeLine parses one line into w, which it resets first. A *Error means
// the line was not a well-typed request; framed reports whether the line was
// a JSON object at all, and the envelope and msg_id are filled in as far as
// they could be read.
//
// goccy/go-json decodes the valid lines (several times faster than
// encoding/json); a line it rejects is decoded again with encoding/json,
// whose errors name the JSON field by its path.
//
// goccy is laxer than encoding/json: it accepts leading zeros, "1.", raw
// control characters in strings, trailing commas and bytes after the value,
// and keeps invalid UTF-8 as it is. So it sees only lines that checkSyntax
// passes, with invalid UTF-8 replaced as encoding/json would. Object keys
// match field names exactly (goccy), not case-insensitively (encoding/json).
func decodeLine(line []byte, w *wireLine) (rerr *Error, framed bool) {
	*w = emptyLine
	if syn := checkSyntax(line); syn.valid {
		if line[skipWS(line, 0)] == 'n' {
			// Both decoders take null for an empty object.
			return malformed("a request must be a JSON object, not null"), false
		}
		if !syn.ascii {
			line = sanitizeUTF8(line)
		}
		if json.Unmarshal(line, w) == nil {
			w.envelope = syn.envelope
			return nil, true
		}
		*w = emptyLine
	}
	err := stdjson.Unmarshal(line, w)
	if err == nil {
		// The two decoders disagree: trust the standard library's verdict.
		w.envelope = hasBodyObject(line)
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
			w.envelope = true
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
