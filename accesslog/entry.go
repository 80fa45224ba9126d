package accesslog

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshobs/meshobs/exporters"
	"github.com/meshobs/meshobs/semconv"
)

// Entry is one access-log entry recognised in a log record.
type Entry struct {
	// Service is the reporting service: the resource's service.name, else the
	// record's own end of the call (see the package doc); empty when the
	// record names neither, and then the caller picks a fallback.
	Service string
	// Source and Target are the call's edge; both empty when it has none.
	Source, Target string
	// Status is the HTTP response status, 100..599.
	Status int
	// DurationMs is the request duration in milliseconds, finite and >= 0;
	// 0 when the record carries no duration.
	DurationMs float64
	// Method, Path and Protocol are as reported; empty when absent.
	Method, Path, Protocol string
	// Timestamp is the record's timestamp, else the START_TIME of a parsed
	// body line, else the observed timestamp; zero if none.
	Timestamp time.Time
	// TraceID is the record's trace id; zero when absent.
	TraceID trace.TraceID
	// SpanID is the record's span id; zero when absent.
	SpanID trace.SpanID
	// Side is which end of the edge reported the entry: the record's
	// meshobs.side attribute, else the end the reporting service is, else
	// the record's direction (outbound: the client's; inbound: the
	// server's); SideUnknown without an edge.
	Side exporters.Side
}

// direction is which end of the call the reporting service is.
type direction uint8

const (
	dirUnknown  direction = iota
	dirOutbound           // the reporting service is the caller
	dirInbound            // the reporting service is the callee
)

// fields holds a record's value per slot. A key's value is the record's, else
// the resource's, else a parsed body line's: the three are read in that order
// and the first value of a slot stays.
type fields struct {
	vals [numSlots]value
	have uint32
}

// collect reads the attributes of m into the slots not yet set. It returns
// the map's service.name when asked (resource attributes).
func (f *fields) collect(m pcommon.Map, wantService bool) (service string) {
	for k, v := range m.All() {
		if wantService && k == keyServiceName {
			if val, ok := fromPdata(v); ok && service == "" {
				service = val.text()
			}
			continue
		}
		s, ok := slotOf(k)
		if !ok || f.have&(1<<s) != 0 {
			continue
		}
		if val, ok := fromPdata(v); ok {
			f.vals[s] = val
			f.have |= 1 << s
		}
	}
	return service
}

// put sets a slot not yet set from a body field, unless the field is absent
// ("" or "-").
func (f *fields) put(s slot, str string) {
	if f.have&(1<<s) != 0 {
		return
	}
	if val, ok := fromString(str); ok {
		f.vals[s] = val
		f.have |= 1 << s
	}
}

// get returns the value of one key.
func (f *fields) get(s slot) (value, bool) {
	return f.vals[s], f.have&(1<<s) != 0
}

// first returns the value of the first present key of keys.
func (f *fields) first(keys []slot) (slot, value, bool) {
	for _, s := range keys {
		if v, ok := f.get(s); ok {
			return s, v, true
		}
	}
	return 0, value{}, false
}

// text returns the first present key of keys as a string, "" if none.
func (f *fields) text(keys []slot) string {
	if _, v, ok := f.first(keys); ok {
		return v.text()
	}
	return ""
}

// FromRecord returns the access-log entry a record describes, or false when
// it is not an access log: no status key and no body line in Envoy's or
// Istio's default format, a status that is not an integer 100..599, or a
// duration that is not a finite number >= 0. res is the record's resource.
// FromRecord only reads its arguments, allocates nothing, and may run
// concurrently with any other reader of the same record.
func FromRecord(res pcommon.Resource, rec plog.LogRecord) (Entry, bool) {
	var f fields
	f.collect(rec.Attributes(), false)
	service := f.collect(res.Attributes(), true)

	var start time.Time
	if _, _, ok := f.first(statusSlots[:]); !ok {
		body := rec.Body()
		if body.Type() != pcommon.ValueTypeStr {
			return Entry{}, false
		}
		line, ok := parseBody(body.Str())
		if !ok {
			return Entry{}, false
		}
		start = line.start
		f.put(slotResponseCode, line.code)
		f.put(slotDuration, line.duration)
		f.put(slotMethodEnvoy, line.method)
		f.put(slotPathEnvoy, line.path)
		f.put(slotProtocolEnvoy, line.protocol)
		f.put(slotUpstream, line.cluster)
	}

	var e Entry
	_, sv, ok := f.first(statusSlots[:])
	if !ok {
		return Entry{}, false
	}
	if e.Status, ok = sv.status(); !ok {
		return Entry{}, false
	}
	if ds, dv, ok := f.first(durationSlots[:]); ok {
		ms, ok := dv.number()
		if !ok {
			return Entry{}, false
		}
		if ds == slotServerDuration || ds == slotClientDuration {
			ms *= 1000
		}
		e.DurationMs = ms
	}
	e.Method = f.text(methodSlots[:])
	e.Path = f.text(pathSlots[:])
	e.Protocol = f.text(protocolSlots[:])
	var dir direction
	e.Service, e.Source, e.Target, dir = edge(&f, service)
	e.Side = side(rec, dir, &e)

	switch {
	case rec.Timestamp() != 0:
		e.Timestamp = rec.Timestamp().AsTime()
	case !start.IsZero():
		e.Timestamp = start
	case rec.ObservedTimestamp() != 0:
		e.Timestamp = rec.ObservedTimestamp().AsTime()
	}
	e.TraceID = trace.TraceID(rec.TraceID())
	e.SpanID = trace.SpanID(rec.SpanID())
	return e, true
}

// edge resolves the reporting service and the call's edge, as the package
// doc describes. resService is the resource's service.name.
func edge(f *fields, resService string) (service, source, target string, dir direction) {
	source = f.text(sourceSlots[:])

	dir = dirUnknown
	selfTarget := false // the target is the reporting service (an inbound cluster)
	ts, tv, hasTarget := f.first(targetSlots[:])
	if hasTarget {
		switch ts {
		case slotTarget, slotPeerService:
			// Both name the service the reporting one called.
			dir = dirOutbound
			target = tv.text()
		case slotUpstream:
			var inbound bool
			target, inbound = clusterTarget(tv.text())
			selfTarget = inbound
		default:
			target = tv.text()
		}
	}
	if dir == dirUnknown {
		if cv, ok := f.get(slotUpstream); ok {
			if _, inbound := clusterTarget(cv.text()); inbound {
				dir = dirInbound
			} else {
				dir = dirOutbound
			}
		} else if _, ok := f.get(slotClientDuration); ok {
			dir = dirOutbound
		} else if _, ok := f.get(slotServerDuration); ok {
			dir = dirInbound
		}
	}

	service = resService
	if service == "" {
		if dir == dirInbound {
			service = target // "" when the target is the service itself
		} else {
			service = source
		}
	}
	if selfTarget {
		target = service
	}
	if source == "" && dir == dirOutbound {
		source = service
	}
	if target == "" && dir == dirInbound {
		target = service
	}
	if source == "" || target == "" {
		return service, "", "", dir
	}
	return service, source, target, dir
}

// side is the reporting end of e's edge: a meshobs.side attribute (what a
// meshobs node writes when the ends do not tell), else the direction.
func side(rec plog.LogRecord, dir direction, e *Entry) exporters.Side {
	if e.Source == "" || e.Target == "" {
		return exporters.SideUnknown
	}
	if v, ok := rec.Attributes().Get(string(semconv.Side)); ok {
		switch v.AsString() {
		case "client":
			return exporters.SideClient
		case "server":
			return exporters.SideServer
		}
	}
	if s := exporters.SideOf(e.Service, e.Source, e.Target); s != exporters.SideUnknown {
		return s // the reporting service is one of the ends
	}
	switch dir {
	case dirOutbound:
		return exporters.SideClient
	case dirInbound:
		return exporters.SideServer
	}
	return exporters.SideUnknown
}
