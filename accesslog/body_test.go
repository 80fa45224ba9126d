package accesslog

import (
	"strings"
	"testing"
	"time"
)

const (
	envoyLine = `[2025-06-20T12:00:00.123Z] "GET /api/v1/products HTTP/1.1" 200 - 0 1524 12 10 "-" "curl/8.5.0" "5f1f2a53" "shop.example.com" "10.0.0.7:8080"` + "\n"
	istioLine = `[2025-06-20T12:00:02.000Z] "GET /reviews/0 HTTP/1.1" 200 - via_upstream - "-" 0 358 24 23 "-" "python-requests/2.31.0" "a1b2c3d4" "reviews:9080" "10.244.0.21:9080" outbound|9080||reviews.default.svc.cluster.local 10.244.0.15:50112 10.96.12.34:9080 10.244.0.15:43880 - default` + "\n"
)

func TestParseBody(t *testing.T) {
	start := time.Date(2025, 6, 20, 12, 0, 0, 123_000_000, time.UTC)
	for _, tc := range []struct {
		name string
		line string
		want bodyLine // format 0: not recognised
	}{
		{"envoy", envoyLine, bodyLine{format: formatEnvoy, start: start, method: "GET", path: "/api/v1/products",
			protocol: "HTTP/1.1", code: "200", status: 200, duration: "12"}},
		{"envoy without newline", strings.TrimSuffix(envoyLine, "\n"), bodyLine{format: formatEnvoy, start: start,
			method: "GET", path: "/api/v1/products", protocol: "HTTP/1.1", code: "200", status: 200, duration: "12"}},
		{"envoy CRLF", strings.TrimSuffix(envoyLine, "\n") + "\r\n", bodyLine{format: formatEnvoy, start: start,
			method: "GET", path: "/api/v1/products", protocol: "HTTP/1.1", code: "200", status: 200, duration: "12"}},
		{"istio", istioLine, bodyLine{format: formatIstio, start: time.Date(2025, 6, 20, 12, 0, 2, 0, time.UTC),
			method: "GET", path: "/reviews/0", protocol: "HTTP/1.1", code: "200", status: 200, duration: "24",
			cluster: "outbound|9080||reviews.default.svc.cluster.local"}},
		{"istio, route name with spaces", strings.Replace(istioLine, " default\n", " my route\n", 1),
			bodyLine{format: formatIstio, start: time.Date(2025, 6, 20, 12, 0, 2, 0, time.UTC),
				method: "GET", path: "/reviews/0", protocol: "HTTP/1.1", code: "200", status: 200, duration: "24",
				cluster: "outbound|9080||reviews.default.svc.cluster.local"}},
		{"user agent with spaces and parentheses", `[2025-06-20T12:00:00.123Z] "GET / HTTP/2" 404 NR 0 0 0 - "1.2.3.4" "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0" "r" "h" "-"`,
			bodyLine{format: formatEnvoy, start: start, method: "GET", path: "/", protocol: "HTTP/2", code: "404", status: 404, duration: "0"}},
		{"user agent with a quote inside", `[2025-06-20T12:00:00.123Z] "GET / HTTP/2" 200 - 0 0 0 - "-" "say "hi"there" "r" "h" "-"`,
			bodyLine{format: formatEnvoy, start: start, method: "GET", path: "/", protocol: "HTTP/2", code: "200", status: 200, duration: "0"}},
		{"absent duration and method", `[2025-06-20T12:00:00.123Z] "- - -" 200 - - - - - "-" "-" "-" "-" "-"`,
			bodyLine{format: formatEnvoy, start: start, code: "200", status: 200}},
		{"status 0", strings.Replace(envoyLine, " 200 ", " 0 ", 1), bodyLine{}},
		{"status 600", strings.Replace(envoyLine, " 200 ", " 600 ", 1), bodyLine{}},
		{"status 99", strings.Replace(envoyLine, " 200 ", " 99 ", 1), bodyLine{}},
		{"non-numeric status", strings.Replace(envoyLine, " 200 ", " OK ", 1), bodyLine{}},
		{"non-numeric duration", strings.Replace(envoyLine, " 12 10 ", " x 10 ", 1), bodyLine{}},
		{"non-numeric bytes", strings.Replace(envoyLine, " 1524 ", " many ", 1), bodyLine{}},
		{"bad start time", strings.Replace(envoyLine, "2025-06-20T12", "yesterday at 12", 1), bodyLine{}},
		{"no start time", strings.TrimPrefix(envoyLine, "[2025-06-20T12:00:00.123Z] "), bodyLine{}},
		{"request line of two parts", strings.Replace(envoyLine, "GET /api/v1/products HTTP/1.1", "GET HTTP/1.1", 1), bodyLine{}},
		{"field missing", strings.Replace(envoyLine, ` "10.0.0.7:8080"`, "", 1), bodyLine{}},
		{"field too many", strings.Replace(envoyLine, "\n", ` "x"`+"\n", 1), bodyLine{}},
		{"unclosed quote", strings.Replace(envoyLine, `"10.0.0.7:8080"`, `"10.0.0.7:8080`, 1), bodyLine{}},
		{"quote then no space", strings.Replace(envoyLine, `"-" "curl`, `"-""curl`, 1), bodyLine{}},
		{"trailing space", strings.TrimSuffix(envoyLine, "\n") + " ", bodyLine{}},
		{"istio with a quoted cluster", strings.Replace(istioLine, " outbound|9080||reviews.default.svc.cluster.local ", ` "outbound" `, 1), bodyLine{}},
		{"istio cut short", strings.Replace(istioLine, " - default\n", "\n", 1), bodyLine{}},
		{"plain text", "2025-06-20 12:00:30 INFO starting server", bodyLine{}},
		{"JSON", `{"response_code":"200"}`, bodyLine{}},
		{"empty", "", bodyLine{}},
		{"bracket only", "[", bodyLine{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseBody(tc.line)
			if ok != (tc.want.format != 0) {
				t.Fatalf("parseBody ok = %v, want %v (%+v)", ok, !ok, got)
			}
			if got != tc.want {
				t.Errorf("parseBody:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// FuzzBodyParse checks that parseBody never panics, that what it accepts has
// a status 100..599 that matches its code, and that the fields it returns are
// parts of the line.
func FuzzBodyParse(f *testing.F) {
	for _, s := range []string{
		envoyLine, istioLine,
		strings.Replace(envoyLine, " 200 ", " 0 ", 1),
		`[2025-06-20T12:00:00.123Z] "- - -" 200 - - - - - "-" "-" "-" "-" "-"`,
		`[2025-06-20T12:00:00Z] "" 200`, `["`, `[x] "`, "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line, ok := parseBody(s)
		if !ok {
			if line != (bodyLine{}) {
				t.Fatalf("rejected line returned %+v", line)
			}
			return
		}
		if line.status < 100 || line.status > 599 {
			t.Fatalf("status %d", line.status)
		}
		if n, ok := parseDigits(line.code); !ok || int(n) != line.status {
			t.Fatalf("code %q, status %d", line.code, line.status)
		}
		if line.format != formatEnvoy && line.format != formatIstio {
			t.Fatalf("format %d", line.format)
		}
		if line.duration != "" {
			if _, ok := parseDigits(line.duration); !ok {
				t.Fatalf("duration %q", line.duration)
			}
		}
		for _, part := range []string{line.method, line.path, line.protocol, line.cluster} {
			if !strings.Contains(s, part) {
				t.Fatalf("%q is not part of the line", part)
			}
		}
		if line.format == formatEnvoy && line.cluster != "" {
			t.Fatalf("Envoy's format has no cluster, got %q", line.cluster)
		}
	})
}
