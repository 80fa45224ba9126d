package accesslog

import (
	"math"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// value is one attribute value, or one field of a parsed body line. Strings
// are kept as strings (Envoy's OpenTelemetry sink formats every command
// operator as a string value); any other type is kept as the pdata value.
type value struct {
	str   string
	pv    pcommon.Value
	isStr bool
}

// fromPdata wraps an attribute value; ok is false when the value counts as
// absent: empty, an empty string, or Envoy's "-" placeholder for a command
// operator that had no value.
func fromPdata(v pcommon.Value) (value, bool) {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return value{}, false
	case pcommon.ValueTypeStr:
		return fromString(v.Str())
	}
	return value{pv: v}, true
}

// fromString wraps a string, absent when "" or "-".
func fromString(s string) (value, bool) {
	if s == "" || s == "-" {
		return value{}, false
	}
	return value{str: s, isStr: true}, true
}

// text returns the value as a string; non-string values are rendered the way
// pdata renders them (integers in decimal, maps and slices as JSON).
func (v value) text() string {
	if v.isStr {
		return v.str
	}
	return v.pv.AsString()
}

// status returns the value as an HTTP status: an integer 100..599, given as
// an int, an integral double or a decimal string without sign or spaces.
func (v value) status() (int, bool) {
	var n int64
	switch {
	case v.isStr:
		var ok bool
		if n, ok = parseDigits(v.str); !ok {
			return 0, false
		}
	case v.pv.Type() == pcommon.ValueTypeInt:
		n = v.pv.Int()
	case v.pv.Type() == pcommon.ValueTypeDouble:
		f := v.pv.Double()
		if f != math.Trunc(f) || f < 100 || f > 599 {
			return 0, false
		}
		n = int64(f)
	default:
		return 0, false
	}
	if n < 100 || n > 599 {
		return 0, false
	}
	return int(n), true
}

// number returns the value as a finite number >= 0: an int, a double or a
// decimal string (strconv.ParseFloat syntax; Envoy writes integers).
func (v value) number() (float64, bool) {
	var f float64
	switch {
	case v.isStr:
		var err error
		if f, err = strconv.ParseFloat(v.str, 64); err != nil {
			return 0, false
		}
	case v.pv.Type() == pcommon.ValueTypeInt:
		f = float64(v.pv.Int())
	case v.pv.Type() == pcommon.ValueTypeDouble:
		f = v.pv.Double()
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, false
	}
	return f, true
}

// parseDigits parses 1 to 18 ASCII digits (no sign, no spaces); anything else
// is not a number. 18 digits cannot overflow an int64.
func parseDigits(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
