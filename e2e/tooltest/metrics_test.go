package tooltest

import (
	"testing"
)

func TestSamples(t *testing.T) {
	text := `# HELP meshobs_e2e_requests_total requests served
# TYPE meshobs_e2e_requests_total counter
meshobs_e2e_requests_total{job="api",route="/users",msg="a \"q\", b\\c",status_code="200"} 3
meshobs_e2e_requests_total{job="api",route="/other"} 1.5e+00 1700000000000
up 1
bad{x="unterminated} 1
`
	all := Samples(text, "")
	if len(all) != 3 {
		t.Fatalf("got %d samples: %+v", len(all), all)
	}
	s, ok := Find(all, "meshobs_e2e_requests_total", map[string]string{"route": "/users"})
	if !ok || s.Value != 3 || s.Labels["msg"] != `a "q", b\c` || s.Labels["status_code"] != "200" {
		t.Fatalf("Find = %+v, %v", s, ok)
	}
	if got := Samples(text, "meshobs_e2e_requests_total"); len(got) != 2 || got[1].Value != 1.5 {
		t.Fatalf("by name = %+v", got)
	}
}
