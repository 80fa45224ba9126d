package tooltest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Sample is one series value of a Prometheus text exposition.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Samples parses a Prometheus text exposition and returns the samples named
// name (all samples if name is ""). Malformed lines are skipped.
func Samples(exposition, name string) []Sample {
	var out []Sample
	for _, line := range strings.Split(exposition, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		s, ok := parseSample(line)
		if ok && (name == "" || s.Name == name) {
			out = append(out, s)
		}
	}
	return out
}

// Find returns the first sample with the given name whose labels include all
// of want.
func Find(samples []Sample, name string, want map[string]string) (Sample, bool) {
	for _, s := range samples {
		if s.Name != name {
			continue
		}
		match := true
		for k, v := range want {
			if s.Labels[k] != v {
				match = false
				break
			}
		}
		if match {
			return s, true
		}
	}
	return Sample{}, false
}

func parseSample(line string) (Sample, bool) {
	s := Sample{Labels: map[string]string{}}
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return s, false
	}
	s.Name = line[:i]
	rest := line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			rest = strings.TrimLeft(rest, " ,")
			if rest == "" {
				return s, false
			}
			if rest[0] == '}' {
				rest = rest[1:]
				break
			}
			eq := strings.IndexByte(rest, '=')
			if eq <= 0 || len(rest) < eq+2 || rest[eq+1] != '"' {
				return s, false
			}
			key := strings.Trim(strings.TrimSpace(rest[:eq]), `"`)
			val, n, ok := unquote(rest[eq+1:])
			if !ok {
				return s, false
			}
			s.Labels[key] = val
			rest = rest[eq+1+n:]
		}
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return s, false
	}
	v, err := parseFloat(f[0])
	if err != nil {
		return s, false
	}
	s.Value = v
	return s, true
}

// unquote reads a "..." label value with \\, \" and \n escapes; n is the
// number of bytes consumed including both quotes.
func unquote(s string) (val string, n int, ok bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) {
				return "", 0, false
			}
			i++
			if s[i] == 'n' {
				b.WriteByte('\n')
			} else {
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), i + 1, true
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

func parseFloat(s string) (float64, error) {
	switch s {
	case "+Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	case "NaN":
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("bad sample value %q", s)
	}
	return v, nil
}

// Sum adds up the values of every sample with the given name whose labels
// include all of want, and says how many there were.
func Sum(samples []Sample, name string, want map[string]string) (sum float64, n int) {
	for _, s := range samples {
		if s.Name != name {
			continue
		}
		match := true
		for k, v := range want {
			if s.Labels[k] != v {
				match = false
				break
			}
		}
		if match {
			sum += s.Value
			n++
		}
	}
	return sum, n
}
