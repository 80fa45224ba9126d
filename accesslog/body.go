package accesslog

import (
	"strings"
	"time"
)

// bodyFormat names the access-log line formats parseBody recognises.
type bodyFormat uint8

const (
	// formatEnvoy is Envoy's default format (envoyproxy/envoy
	// source/common/formatter/http_formatter_context.cc, DEFAULT_FORMAT):
	//
	//	[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
	//	%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
	//	%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
	//	"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n
	formatEnvoy bodyFormat = iota + 1
	// formatIstio is Istio's default text format (istio/istio
	// pilot/pkg/model/telemetry_logging.go, EnvoyTextLogFormat), also the body of
	// its envoyOtelAls provider:
	//
	//	[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
	//	%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
	//	"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
	//	%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
	//	"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW%
	//	%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
	//	%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n
	//
	// (older Istio and the OpenTelemetry demo's Envoy write %UPSTREAM_CLUSTER%,
	// which is the same token).
	formatIstio
)

// Token layouts after "[START_TIME] ": how many tokens, and which are quoted
// (bit i set: token i is a quoted string).
const (
	envoyTokens = 12
	envoyQuoted = 1<<0 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11
	istioTokens = 21
	istioQuoted = 1<<0 | 1<<5 | 1<<10 | 1<<11 | 1<<12 | 1<<13 | 1<<14
)

// bodyLine is what an access-log line says, as raw tokens: "" where the line
// has Envoy's "-" for a missing value.
type bodyLine struct {
	format                 bodyFormat
	start                  time.Time
	method, path, protocol string
	code                   string // RESPONSE_CODE, digits
	status                 int    // code as a number, 100..599
	duration               string // DURATION in ms, digits
	cluster                string // UPSTREAM_CLUSTER (Istio format only)
}

// parseBody parses one line in Envoy's default or Istio's default format; ok
// is false for anything else, including a line whose response code is not a
// status 100..599 (Envoy writes 0 when no response was sent, and for TCP).
//
// Envoy does not escape quotes inside quoted fields, so a quoted field ends
// at the first '"' followed by a space or the end of the line; a header value
// holding `" ` makes the line unrecognisable rather than misread. The line's
// trailing newline is optional.
func parseBody(s string) (bodyLine, bool) {
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	if len(s) < 2 || s[0] != '[' {
		return bodyLine{}, false
	}
	end := strings.IndexByte(s, ']')
	if end < 0 || end+1 >= len(s) || s[end+1] != ' ' {
		return bodyLine{}, false
	}
	start, err := time.Parse(time.RFC3339Nano, s[1:end])
	if err != nil {
		return bodyLine{}, false
	}
	var toks [istioTokens]string
	n, quoted, ok := tokenize(s[end+2:], &toks)
	if !ok {
		return bodyLine{}, false
	}
	line := bodyLine{start: start}
	var duration string
	switch {
	case n == envoyTokens && quoted == envoyQuoted:
		line.format = formatEnvoy
		if !countOrDash(toks[3]) || !countOrDash(toks[4]) || !countOrDash(toks[5]) {
			return bodyLine{}, false
		}
		duration = toks[5]
	case n == istioTokens && quoted == istioQuoted:
		line.format = formatIstio
		if !countOrDash(toks[6]) || !countOrDash(toks[7]) || !countOrDash(toks[8]) {
			return bodyLine{}, false
		}
		duration = toks[8]
		line.cluster = dashless(toks[15])
	default:
		return bodyLine{}, false
	}
	code, ok := parseDigits(toks[1])
	if !ok || code < 100 || code > 599 {
		return bodyLine{}, false
	}
	line.code, line.status = toks[1], int(code)
	line.duration = dashless(duration)
	// "METHOD PATH PROTOCOL": a path has no spaces on the wire, but split at
	// the first and last space so that one never shifts the method or protocol.
	req := toks[0]
	first, last := strings.IndexByte(req, ' '), strings.LastIndexByte(req, ' ')
	if first < 0 || first == last {
		return bodyLine{}, false
	}
	line.method, line.path, line.protocol = dashless(req[:first]), dashless(req[first+1:last]), dashless(req[last+1:])
	return line, true
}

// tokenize splits the rest of a line into space-separated tokens, quoted or
// bare, into toks. The last slot takes the rest of the line whole (Istio's
// final ROUTE_NAME is user-chosen and may hold spaces). quoted has bit i set
// for a quoted token i. ok is false when a quote is not closed, a quoted
// token is not followed by a space, or the line ends with a separator.
func tokenize(rest string, toks *[istioTokens]string) (n int, quoted uint32, ok bool) {
	for rest != "" {
		if n == len(toks)-1 {
			toks[n] = rest
			return n + 1, quoted, true
		}
		if rest[0] == '"' {
			j := 1
			for {
				k := strings.IndexByte(rest[j:], '"')
				if k < 0 {
					return 0, 0, false
				}
				j += k
				if j+1 == len(rest) || rest[j+1] == ' ' {
					break
				}
				j++
			}
			toks[n] = rest[1:j]
			quoted |= 1 << n
			rest = rest[j+1:]
		} else {
			k := strings.IndexByte(rest, ' ')
			if k < 0 {
				k = len(rest)
			}
			toks[n] = rest[:k]
			rest = rest[k:]
		}
		n++
		if rest == "" {
			break
		}
		// rest starts with the separating space (a quoted token was checked
		// above, a bare one stopped at it).
		rest = rest[1:]
		if rest == "" {
			return 0, 0, false
		}
	}
	return n, quoted, true
}

// countOrDash reports whether s is a byte count or duration as Envoy writes
// it: digits, or "-" when unknown.
func countOrDash(s string) bool {
	if s == "-" {
		return true
	}
	_, ok := parseDigits(s)
	return ok
}

// dashless maps Envoy's "-" placeholder to "".
func dashless(s string) string {
	if s == "-" {
		return ""
	}
	return s
}
