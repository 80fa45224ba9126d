package graph

import (
	"time"

	"github.com/meshobs/meshobs/exporters"
)

// rateWindow is the number of one-second buckets behind a service's request rate.
const rateWindow = 60

// StatusCount is how many requests ended with one HTTP status code.
type StatusCount struct {
	// Code is the HTTP status code.
	Code int
	// N is the number of requests with that code.
	N int64
}

// StatusCounts counts requests per status code in first-seen order. A
// service or edge sees a handful of codes, so a short list searched from
// the front beats a map (no hashing, the common code first).
type StatusCounts []StatusCount

func (s *StatusCounts) add(code int) {
	for i := range *s {
		if (*s)[i].Code == code {
			(*s)[i].N++
			return
		}
	}
	*s = append(*s, StatusCount{code, 1})
}

// Matching returns how many counted requests f's status selects, and how
// many of those failed (5xx).
func (s StatusCounts) Matching(f *exporters.LogFilter) (n, errors int64) {
	for _, sc := range s {
		if f.MatchStatus(sc.Code) {
			n += sc.N
			if sc.Code >= 500 {
				errors += sc.N
			}
		}
	}
	return n, errors
}

// ServiceTally is the exact request tally of one reporting service: access
// logs it reported and, through CountRequest, requests seen as server spans.
type ServiceTally struct {
	// Service is the reporting service.
	Service string
	// Logged is the number of access-log entries the service reported.
	Logged int64
	// Requests and Errors (5xx or a failed span) count every request.
	Requests, Errors int64
	// StatusCodes counts requests per HTTP status code; requests without one are not in it.
	StatusCodes StatusCounts
	// RatePerSecond is the mean request rate over the last 60 s before the
	// time Services was asked for.
	RatePerSecond float64

	rate [rateWindow]rateBucket
}

type rateBucket struct{ sec, n int64 }

func (t *ServiceTally) count(status int, failed bool, observed time.Time) {
	t.Requests++
	if status != 0 {
		t.StatusCodes.add(status)
	}
	if failed {
		t.Errors++
	}
	sec := observed.Unix()
	b := &t.rate[uint64(sec)%rateWindow]
	if b.sec != sec {
		*b = rateBucket{sec: sec}
	}
	b.n++
}

// tallyLocked returns the tally of service, creating it; service is the
// graph's own name of a node (see addNode); g.mu must be held.
func (g *Graph) tallyLocked(service string) *ServiceTally {
	t := g.tallies[service]
	if t == nil {
		t = &ServiceTally{Service: service}
		g.tallies[service] = t
		g.tallyList = append(g.tallyList, t)
	}
	return t
}

// CountRequest counts one request of service that arrived as a span (a
// server or consumer span): it adds to the service's golden signals, not to
// any edge or to its access-log count. status 0 means none was given.
func (g *Graph) CountRequest(service string, status int, failed bool, observed time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := g.tallies[service]
	if t == nil { // a service with a tally is a node already
		t = g.tallyLocked(g.addNode(service))
	}
	t.count(status, failed, observed)
}

// Logged returns how many access-log entries service has reported.
func (g *Graph) Logged(service string) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t := g.tallies[service]; t != nil {
		return t.Logged
	}
	return 0
}

// Tallies returns copies of the tallies of every reporting service (or of
// the one named, when service is not empty) in first-seen order; now
// anchors their 60 s rate window.
func (g *Graph) Tallies(service string, now time.Time) []ServiceTally {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]ServiceTally, 0, len(g.tallyList))
	nowSec := now.Unix()
	for _, t := range g.tallyList {
		if service != "" && t.Service != service {
			continue
		}
		c := *t
		c.StatusCodes = append(StatusCounts(nil), t.StatusCodes...)
		var inWindow int64
		for _, b := range t.rate {
			if b.sec > nowSec-rateWindow && b.sec <= nowSec {
				inWindow += b.n
			}
		}
		c.RatePerSecond = float64(inWindow) / rateWindow
		c.rate = [rateWindow]rateBucket{}
		out = append(out, c)
	}
	return out
}

// Pair is the access-log count of one (source, target) edge.
type Pair struct {
	// Source and Target are the edge's ends.
	Source, Target string
	// Count is the number of access-log entries matching the filter.
	Count int64
	// ErrorCount is how many of them have a 5xx status.
	ErrorCount int64
}

// Pairs returns, in the order their first access log was seen, every edge
// with at least one access-log entry matching f, with the matching counts.
// Calls seen only as spans are not access logs and count here for nothing.
// It costs O(edges).
func (g *Graph) Pairs(f exporters.LogFilter) []Pair {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := []Pair{}
	for _, e := range g.logged {
		if !f.MatchPair(e.Source, e.Target) {
			continue
		}
		n, errs := e.Logged.Matching(&f)
		if n > 0 {
			out = append(out, Pair{Source: e.Source, Target: e.Target, Count: n, ErrorCount: errs})
		}
	}
	return out
}
