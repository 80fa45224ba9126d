package otlptrace

import (
	"math"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
)

// Request is a decoded ExportTraceServiceRequest.
//
// Its strings and byte slices alias the buffer it was decoded from: that
// buffer must not change while they are in use (and whoever keeps one of
// them keeps the whole buffer alive). Decoding into a Request again reuses
// its slices: the values of the previous request must no longer be in use.
type Request struct {
	ResourceSpans []ResourceSpans
}

// ResourceSpans is the spans of one resource.
type ResourceSpans struct {
	Resource   Resource
	ScopeSpans []ScopeSpans
	SchemaURL  string

	deprecated []ScopeSpans // instrumentation_library_spans (field 1000)
}

// Resource is the entity the spans describe.
type Resource struct {
	// Raw is the resource as encoded (several occurrences concatenated, as
	// protobuf merges them): equal encodings are equal resources, which
	// makes it a cache key.
	Raw                    []byte
	Attributes             []attribute.KeyValue
	DroppedAttributesCount uint32
}

// ScopeSpans is the spans of one instrumentation scope.
type ScopeSpans struct {
	Scope     Scope
	Spans     []Span
	SchemaURL string
}

// Scope is an instrumentation scope.
type Scope struct {
	// Raw is the scope as encoded, as Resource.Raw.
	Raw                    []byte
	Name, Version          string
	Attributes             []attribute.KeyValue
	DroppedAttributesCount uint32
}

// Span is one span. Kind and Status.Code use the OTLP enum numbering.
type Span struct {
	TraceID                [16]byte
	SpanID, ParentSpanID   [8]byte
	TraceState             string
	Flags                  uint32
	Name                   string
	Kind                   int32
	StartTimeUnixNano      uint64
	EndTimeUnixNano        uint64
	Attributes             []attribute.KeyValue
	DroppedAttributesCount uint32
	Events                 []Event
	DroppedEventsCount     uint32
	Links                  []Link
	DroppedLinksCount      uint32
	Status                 Status
}

// Event is a span event.
type Event struct {
	TimeUnixNano           uint64
	Name                   string
	Attributes             []attribute.KeyValue
	DroppedAttributesCount uint32
}

// Link is a link to another span.
type Link struct {
	TraceID                [16]byte
	SpanID                 [8]byte
	TraceState             string
	Attributes             []attribute.KeyValue
	DroppedAttributesCount uint32
	Flags                  uint32
}

// Status is a span status; Code: 0 unset, 1 ok, 2 error.
type Status struct {
	Message string
	Code    int32
}

// SpanCount returns the number of spans in r.
func (r *Request) SpanCount() int {
	n := 0
	for i := range r.ResourceSpans {
		for j := range r.ResourceSpans[i].ScopeSpans {
			n += len(r.ResourceSpans[i].ScopeSpans[j].Spans)
		}
	}
	return n
}

// Unmarshal decodes buf into r, replacing what r held. On error r holds
// an unspecified part of the request.
func (r *Request) Unmarshal(buf []byte) error {
	r.ResourceSpans = r.ResourceSpans[:0]
	for pos := 0; pos < len(buf); {
		field, wt, p, err := consumeTag(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch field {
		case 1:
			if wt != wireLen {
				return wrongType(wt, "resource_spans")
			}
			start, end, err := consumeLen(buf, pos)
			if err != nil {
				return err
			}
			var rs *ResourceSpans
			r.ResourceSpans, rs = grow(r.ResourceSpans)
			if err := rs.unmarshal(buf[start:end]); err != nil {
				return err
			}
			pos = end
		default:
			if pos, err = consumeUnknown(buf, pos, wt); err != nil {
				return err
			}
		}
	}
	return nil
}

// grow extends s by one element, reusing the slot (and so the capacity of
// its slices) of an earlier request when there is one.
func grow[T any](s []T) ([]T, *T) {
	if len(s) < cap(s) {
		s = s[:len(s)+1]
	} else {
		var zero T
		s = append(s, zero)
	}
	return s, &s[len(s)-1]
}

// str returns buf[start:end] as a string aliasing buf.
func str(buf []byte, start, end int) string {
	if end <= start {
		return ""
	}
	return unsafe.String(&buf[start], end-start)
}

// merge returns the concatenation of the encodings a and b of one field
// sent twice, aliasing buf when there is only b.
func merge(a, b []byte) []byte {
	if a == nil {
		return b
	}
	out := make([]byte, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

func (rs *ResourceSpans) unmarshal(buf []byte) error {
	rs.Resource.Raw, rs.Resource.Attributes, rs.Resource.DroppedAttributesCount = nil, rs.Resource.Attributes[:0], 0
	rs.ScopeSpans, rs.deprecated, rs.SchemaURL = rs.ScopeSpans[:0], rs.deprecated[:0], ""
	for pos := 0; pos < len(buf); {
		field, wt, p, err := consumeTag(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch field {
		case 1, 2, 3, 1000:
			if wt != wireLen {
				return wrongType(wt, "resource_spans")
			}
			start, end, err := consumeLen(buf, pos)
			if err != nil {
				return err
			}
			switch field {
			case 1:
				rs.Resource.Raw = merge(rs.Resource.Raw, buf[start:end])
				err = rs.Resource.unmarshal(buf[start:end])
			case 2:
				var ss *ScopeSpans
				rs.ScopeSpans, ss = grow(rs.ScopeSpans)
				err = ss.unmarshal(buf[start:end])
			case 3:
				rs.SchemaURL = str(buf, start, end)
			case 1000:
				var ss *ScopeSpans
				rs.deprecated, ss = grow(rs.deprecated)
				err = ss.unmarshal(buf[start:end])
			}
			if err != nil {
				return err
			}
			pos = end
		default:
			if pos, err = consumeUnknown(buf, pos, wt); err != nil {
				return err
			}
		}
	}
	if len(rs.ScopeSpans) == 0 && len(rs.deprecated) > 0 {
		// What pdata's MigrateTraces does for senders of OTLP < 0.15.
		rs.ScopeSpans, rs.deprecated = rs.deprecated, rs.ScopeSpans
	}
	return nil
}

func (res *Resource) unmarshal(buf []byte) error {
	for pos := 0; pos < len(buf); {
		field, wt, p, err := consumeTag(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch field {
		case 1:
			if wt != wireLen {
				return wrongType(wt, "resource.attributes")
			}
			if res.Attributes, pos, err = appendKeyValue(res.Attributes, buf, pos); err != nil {
				return err
			}
		case 2:
			if wt != wireVarint {
				return wrongType(wt, "resource.dropped_attributes_count")
			}
			var n uint64
			if n, pos, err = consumeVarint(buf, pos); err != nil {
				return err
			}
			res.DroppedAttributesCount = uint32(n)
		case 3:
			if wt != wireLen {
				return wrongType(wt, "resource.entity_refs")
			}
			start, end, err := consumeLen(buf, pos)
			if err != nil {
				return err
			}
			if err := checkEntityRef(buf[start:end]); err != nil {
				return err
			}
			pos = end
		default:
			if pos, err = consumeUnknown(buf, pos, wt); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkEntityRef checks an entity reference, which the pipeline does not
// use: four string fields.
func checkEntityRef(buf []byte) error {
	for pos := 0; pos < len(buf); {
		field, wt, p, err := consumeTag(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch field {
		case 1, 2, 3, 4:
			if wt != wireLen {
				return wrongType(wt, "entity_ref")
			}
			if _, pos, err = consumeLen(buf, pos); err != nil {
				return err
			}
		default:
			if pos, err = consumeUnknown(buf, pos, wt); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ss *ScopeSpans) unmarshal(buf []byte) error {
	sc := &ss.Scope
	sc.Raw, sc.Name, sc.Version, sc.Attributes, sc.DroppedAttributesCount = nil, "", "", sc.Attributes[:0], 0
	ss.Spans, ss.SchemaURL = ss.Spans[:0], ""
	for pos := 0; pos < len(buf); {
		field, wt, p, err := consumeTag(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch field {
		case 1, 2, 3:
			if wt != wireLen {
				return wrongType(wt, "scope_spans")
			}
			start, end, err := consumeLen(buf, pos)
			if err != nil {
				return err
			}
			switch field {
			case 1:
				sc.Raw = merge(sc.Raw, buf[start:end])
				err = sc.unmarshal(buf[start:end])
			case 2:
				var sp *Span
				ss.Spans, sp = grow(ss.Spans)
				err = sp.unmarshal(buf[start:end])
			case 3:
				ss.SchemaURL = str(buf, start, end)
			}
			if err != nil {
				return err
			}
			pos = end
		default:
			if pos, err = consumeUnknown(buf, pos, wt); err != nil {
				return err
			}
		}
	}
	return nil
}

func (sc *Scope) unmarshal(buf []byte) error {
	for pos := 0; pos < len(buf); {
		field, wt, p, err := consumeTag(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch field {
		case 1, 2:
			if wt != wireLen {
				return wrongType(wt, "scope.name/version")
			}
			start, end, err := consumeLen(buf, pos)
			if err != nil {
				return err
			}
			if field == 1 {
				sc.Name = str(buf, start, end)
			} else {
				sc.Version = str(buf, start, end)
			}
			pos = end
		case 3:
			if wt != wireLen {
				return wrongType(wt, "scope.attributes")
			}
			if sc.Attributes, pos, err = appendKeyValue(sc.Attributes, buf, pos); err != nil {
				return err
			}
		case 4:
			if wt != wireVarint {
				return wrongType(wt, "scope.dropped_attributes_count")
			}
			var n uint64
			if n, pos, err = consumeVarint(buf, pos); err != nil {
				return err
			}
			sc.DroppedAttributesCount = uint32(n)
		default:
			if pos, err = consumeUnknown(buf, pos, wt); err != nil {
				return err
			}
		}
	}
	return nil
}

// id copies an id field into dst: empty leaves it zero, another length
// than dst's is an error.
func id(dst []byte, buf []byte, start, end int, bad error) error {
	switch n := end - start; {
	case n == 0:
		clear(dst)
	case n != len(dst):
		return bad
	default:
		copy(dst, buf[start:end])
	}
	return nil
}

func (sp *Span) unmarshal(buf []byte) error {
	*sp = Span{Attributes: sp.Attributes[:0], Events: sp.Events[:0], Links: sp.Links[:0]}
	for pos := 0; pos < len(buf); {
		field, wt, p, err := consumeTag(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch field {
		case 1, 2, 3, 4, 5, 11, 13, 15:
			if wt != wireLen {
				return wrongType(wt, "span")
			}
			start, end, err := consumeLen(buf, pos)
			if err != nil {
				return err
			}
			switch field {
			case 1:
				err = id(sp.TraceID[:], buf, start, end, errTraceID)
			case 2:
				err = id(sp.SpanID[:], buf, start, end, errSpanID)
			case 3:
				sp.TraceState = str(buf, start, end)
			case 4:
				err = id(sp.ParentSpanID[:], buf, start, end, errSpanID)
			case 5:
				sp.Name = str(buf, start, end)
			case 11:
				var ev *Event
				sp.Events, ev = grow(sp.Events)
				err = ev.unmarshal(buf[start:end])
			case 13:
				var l *Link
				sp.Links, l = grow(sp.Links)
				err = l.unmarshal(buf[start:end])
			case 15:
				err = sp.Status.unmarshal(buf[start:end])
			}
			if err != nil {
				return err
			}
			pos = end
		case 9:
			if wt != wireLen {
				return wrongType(wt, "span.attributes")
			}
			if sp.Attributes, pos, err = appendKeyValue(sp.Attributes, buf, pos); err != nil {
				return err
			}
		case 6, 10, 12, 14:
			if wt != wireVarint {
				return wrongType(wt, "span")
			}
			var n uint64
			if n, pos, err = consumeVarint(buf, pos); err != nil {
				return err
			}
			switch field {
			case 6:
				sp.Kind = int32(n)
			case 10:
				sp.DroppedAttributesCount = uint32(n)
			case 12:
				sp.DroppedEventsCount = uint32(n)
			case 14:
				sp.DroppedLinksCount = uint32(n)
			}
		case 7, 8:
			if wt != wireI64 {
				return wrongType(wt, "span start/end time")
			}
			var n uint64
			if n, pos, err = consumeI64(buf, pos); err != nil {
				return err
			}
			if field == 7 {
				sp.StartTimeUnixNano = n
			} else {
				sp.EndTimeUnixNano = n
			}
		case 16:
			if wt != wireI32 {
				return wrongType(wt, "span.flags")
			}
			if sp.Flags, pos, err = consumeI32(buf, pos); err != nil {
				return err
			}
		default:
			if pos, err = consumeUnknown(buf, pos, wt); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ev *Event) unmarshal(buf []byte) error {
	*ev = Event{Attributes: ev.Attributes[:0]}
	for pos := 0; pos < len(buf); {
		field, wt, p, err := consumeTag(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch field {
		case 1:
			if wt != wireI64 {
				return wrongType(wt, "event.time_unix_nano")
			}
			if ev.TimeUnixNano, pos, err = consumeI64(buf, pos); err != nil {
				return err
			}
		case 2:
			if wt != wireLen {
				return wrongType(wt, "event.name")
			}
			start, end, err := consumeLen(buf, pos)
			if err != nil {
				return err
			}
			ev.Name, pos = str(buf, start, end), end
		case 3:
			if wt != wireLen {
				return wrongType(wt, "event.attributes")
			}
			if ev.Attributes, pos, err = appendKeyValue(ev.Attributes, buf, pos); err != nil {
				return err
			}
		case 4:
			if wt != wireVarint {
				return wrongType(wt, "event.dropped_attributes_count")
			}
			var n uint64
			if n, pos, err = consumeVarint(buf, pos); err != nil {
				return err
			}
			ev.DroppedAttributesCount = uint32(n)
		default:
			if pos, err = consumeUnknown(buf, pos, wt); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *Link) unmarshal(buf []byte) error {
	*l = Link{Attributes: l.Attributes[:0]}
	for pos := 0; pos < len(buf); {
		field, wt, p, err := consumeTag(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch field {
		case 1, 2, 3:
			if wt != wireLen {
				return wrongType(wt, "link")
			}
			start, end, err := consumeLen(buf, pos)
			if err != nil {
				return err
			}
			switch field {
			case 1:
				err = id(l.TraceID[:], buf, start, end, errTraceID)
			case 2:
				err = id(l.SpanID[:], buf, start, end, errSpanID)
			case 3:
				l.TraceState = str(buf, start, end)
			}
			if err != nil {
				return err
			}
			pos = end
		case 4:
			if wt != wireLen {
				return wrongType(wt, "link.attributes")
			}
			if l.Attributes, pos, err = appendKeyValue(l.Attributes, buf, pos); err != nil {
				return err
			}
		case 5:
			if wt != wireVarint {
				return wrongType(wt, "link.dropped_attributes_count")
			}
			var n uint64
			if n, pos, err = consumeVarint(buf, pos); err != nil {
				return err
			}
			l.DroppedAttributesCount = uint32(n)
		case 6:
			if wt != wireI32 {
				return wrongType(wt, "link.flags")
			}
			if l.Flags, pos, err = consumeI32(buf, pos); err != nil {
				return err
			}
		default:
			if pos, err = consumeUnknown(buf, pos, wt); err != nil {
				return err
			}
		}
	}
	return nil
}

// unmarshal merges a status into st, as protobuf merges a message sent twice.
func (st *Status) unmarshal(buf []byte) error {
	for pos := 0; pos < len(buf); {
		field, wt, p, err := consumeTag(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch field {
		case 2:
			if wt != wireLen {
				return wrongType(wt, "status.message")
			}
			start, end, err := consumeLen(buf, pos)
			if err != nil {
				return err
			}
			st.Message, pos = str(buf, start, end), end
		case 3:
			if wt != wireVarint {
				return wrongType(wt, "status.code")
			}
			var n uint64
			if n, pos, err = consumeVarint(buf, pos); err != nil {
				return err
			}
			st.Code = int32(n)
		default:
			if pos, err = consumeUnknown(buf, pos, wt); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendKeyValue decodes the length-delimited KeyValue at pos and appends it.
func appendKeyValue(dst []attribute.KeyValue, buf []byte, pos int) ([]attribute.KeyValue, int, error) {
	start, end, err := consumeLen(buf, pos)
	if err != nil {
		return dst, 0, err
	}
	kv, err := keyValue(buf[start:end], 0)
	if err != nil {
		return dst, 0, err
	}
	return append(dst, kv), end, nil
}

func keyValue(buf []byte, depth int) (attribute.KeyValue, error) {
	var kv attribute.KeyValue
	if depth >= recursionLimit {
		return kv, errRecursionDepth
	}
	depth++
	for pos := 0; pos < len(buf); {
		field, wt, p, err := consumeTag(buf, pos)
		if err != nil {
			return kv, err
		}
		pos = p
		switch field {
		case 1, 2:
			if wt != wireLen {
				return kv, wrongType(wt, "attribute key/value")
			}
			start, end, err := consumeLen(buf, pos)
			if err != nil {
				return kv, err
			}
			if field == 1 {
				kv.Key = attribute.Key(str(buf, start, end))
			} else if kv.Value, err = anyValue(kv.Value, buf[start:end], depth); err != nil {
				return kv, err
			}
			pos = end
		case 3:
			if wt != wireVarint {
				return kv, wrongType(wt, "attribute key_strindex")
			}
			if _, pos, err = consumeVarint(buf, pos); err != nil {
				return kv, err
			}
		default:
			if pos, err = consumeUnknown(buf, pos, wt); err != nil {
				return kv, err
			}
		}
	}
	return kv, nil
}

// anyValue decodes an AnyValue over v: a field it holds replaces v's value
// (a oneof), a message without one leaves v as it was.
func anyValue(v attribute.Value, buf []byte, depth int) (attribute.Value, error) {
	if depth >= recursionLimit {
		return v, errRecursionDepth
	}
	depth++
	for pos := 0; pos < len(buf); {
		field, wt, p, err := consumeTag(buf, pos)
		if err != nil {
			return v, err
		}
		pos = p
		switch field {
		case 1, 5, 6, 7:
			if wt != wireLen {
				return v, wrongType(wt, "attribute value")
			}
			start, end, err := consumeLen(buf, pos)
			if err != nil {
				return v, err
			}
			switch field {
			case 1:
				v = attribute.StringValue(str(buf, start, end))
			case 5:
				v, err = arrayValue(buf[start:end], depth)
			case 6:
				v, err = kvlistValue(buf[start:end], depth)
			case 7:
				v = attribute.ByteSliceValue(buf[start:end])
			}
			if err != nil {
				return v, err
			}
			pos = end
		case 2, 3, 8:
			if wt != wireVarint {
				return v, wrongType(wt, "attribute value")
			}
			var n uint64
			if n, pos, err = consumeVarint(buf, pos); err != nil {
				return v, err
			}
			switch field {
			case 2:
				v = attribute.BoolValue(n != 0)
			case 3:
				v = attribute.Int64Value(int64(n))
			case 8:
				// string_value_strindex (profiles): no value pdata's Value reads.
				v = attribute.Value{}
			}
		case 4:
			if wt != wireI64 {
				return v, wrongType(wt, "attribute double_value")
			}
			var n uint64
			if n, pos, err = consumeI64(buf, pos); err != nil {
				return v, err
			}
			v = attribute.Float64Value(math.Float64frombits(n))
		default:
			if pos, err = consumeUnknown(buf, pos, wt); err != nil {
				return v, err
			}
		}
	}
	return v, nil
}

func arrayValue(buf []byte, depth int) (attribute.Value, error) {
	if depth >= recursionLimit {
		return attribute.Value{}, errRecursionDepth
	}
	depth++
	var vs []attribute.Value
	for pos := 0; pos < len(buf); {
		field, wt, p, err := consumeTag(buf, pos)
		if err != nil {
			return attribute.Value{}, err
		}
		pos = p
		switch field {
		case 1:
			if wt != wireLen {
				return attribute.Value{}, wrongType(wt, "array_value.values")
			}
			start, end, err := consumeLen(buf, pos)
			if err != nil {
				return attribute.Value{}, err
			}
			v, err := anyValue(attribute.Value{}, buf[start:end], depth)
			if err != nil {
				return attribute.Value{}, err
			}
			vs, pos = append(vs, v), end
		default:
			if pos, err = consumeUnknown(buf, pos, wt); err != nil {
				return attribute.Value{}, err
			}
		}
	}
	return attribute.SliceValue(vs...), nil
}

func kvlistValue(buf []byte, depth int) (attribute.Value, error) {
	if depth >= recursionLimit {
		return attribute.Value{}, errRecursionDepth
	}
	depth++
	var kvs []attribute.KeyValue
	for pos := 0; pos < len(buf); {
		field, wt, p, err := consumeTag(buf, pos)
		if err != nil {
			return attribute.Value{}, err
		}
		pos = p
		switch field {
		case 1:
			if wt != wireLen {
				return attribute.Value{}, wrongType(wt, "kvlist_value.values")
			}
			start, end, err := consumeLen(buf, pos)
			if err != nil {
				return attribute.Value{}, err
			}
			kv, err := keyValue(buf[start:end], depth)
			if err != nil {
				return attribute.Value{}, err
			}
			kvs, pos = append(kvs, kv), end
		default:
			if pos, err = consumeUnknown(buf, pos, wt); err != nil {
				return attribute.Value{}, err
			}
		}
	}
	return attribute.MapValue(kvs...), nil
}
