package workload

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
)

// Default sizes of the benchmark workload.
const (
	DefaultMessages = 1_000_000
	DefaultServices = 50
	DefaultSeed     = 1
)

// Mix per block of 10,000 messages: the targets are exact for every whole block,
// and shuffling within a block keeps queries and graphs spread over the run.
const (
	blockSize      = 10_000
	recordsPerBlk  = 8_500 // 85%
	tracesPerBlk   = 1_350 // 13.5%
	queriesPerBlk  = 145   // 1.45%
	generatePerBlk = 5     // 0.05%
)

// Config sizes a workload. The zero value of a field means its default.
type Config struct {
	// Messages is the number of lines written, the leading init included.
	Messages int
	// Services is the number of distinct service names.
	Services int
	// Seed makes the stream reproducible: one seed, one byte stream.
	Seed uint64
}

// Kind is a request type of the mix.
type Kind uint8

// Request types written by Write.
const (
	Init Kind = iota
	Record
	Trace
	Query
	Generate
	numKinds
)

// String returns the protocol type name.
func (k Kind) String() string {
	switch k {
	case Init:
		return "init"
	case Record:
		return "record"
	case Trace:
		return "trace"
	case Query:
		return "query"
	case Generate:
		return "generate"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Stats counts what Write produced.
type Stats struct {
	// Lines is the number of lines written.
	Lines int
	// Bytes is the number of bytes written, newlines included.
	Bytes int64
	// ByKind counts lines per request type.
	ByKind [numKinds]int
	// RecordsWithTarget counts record lines carrying target_service.
	RecordsWithTarget int
}

func (c Config) withDefaults() Config {
	if c.Messages == 0 {
		c.Messages = DefaultMessages
	}
	if c.Services == 0 {
		c.Services = DefaultServices
	}
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	return c
}

// Validate reports a config that cannot produce a workload.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Messages < 1 {
		errs = append(errs, fmt.Errorf("workload: Messages must be >= 1, got %d", c.Messages))
	}
	if c.Services < 2 {
		errs = append(errs, fmt.Errorf("workload: Services must be >= 2, got %d", c.Services))
	}
	return errors.Join(errs...)
}

// Write writes the workload to w, one request per line, and returns what it wrote.
// The first line is init; msg_id counts up from 1.
func Write(w io.Writer, cfg Config) (Stats, error) {
	if err := cfg.Validate(); err != nil {
		return Stats{}, err
	}
	cfg = cfg.withDefaults()
	g := newGenerator(cfg)
	bw := bufio.NewWriterSize(w, 256<<10)
	var st Stats
	var line []byte
	kinds := make([]Kind, 0, blockSize)
	for id := 1; id <= cfg.Messages; id++ {
		var k Kind
		if id == 1 {
			k = Init
		} else {
			if len(kinds) == 0 {
				kinds = g.block(kinds)
			}
			k = kinds[len(kinds)-1]
			kinds = kinds[:len(kinds)-1]
		}
		var withTarget bool
		line, withTarget = g.appendLine(line[:0], k, id)
		if withTarget {
			st.RecordsWithTarget++
		}
		n, err := bw.Write(line)
		st.Bytes += int64(n)
		if err != nil {
			return st, fmt.Errorf("workload: write: %w", err)
		}
		st.Lines++
		st.ByKind[k]++
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("workload: flush: %w", err)
	}
	return st, nil
}

type generator struct {
	rng      *rand.Rand
	services []string
	// targets[i] are the services service i calls: a fixed topology, so the
	// graph has a realistic few hundred edges rather than every pair.
	targets [][]int
}

func newGenerator(cfg Config) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
	g.services = ServiceNames(cfg.Services)
	g.targets = make([][]int, cfg.Services)
	for i := range g.targets {
		n := 2 + g.rng.IntN(3)
		for len(g.targets[i]) < n && len(g.targets[i]) < cfg.Services-1 {
			t := g.rng.IntN(cfg.Services)
			if t == i || contains(g.targets[i], t) {
				continue
			}
			g.targets[i] = append(g.targets[i], t)
		}
	}
	return g
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// block returns one shuffled block of request kinds, to be consumed from the end.
func (g *generator) block(kinds []Kind) []Kind {
	kinds = kinds[:0]
	for range recordsPerBlk {
		kinds = append(kinds, Record)
	}
	for range tracesPerBlk {
		kinds = append(kinds, Trace)
	}
	for range queriesPerBlk {
		kinds = append(kinds, Query)
	}
	for range generatePerBlk {
		kinds = append(kinds, Generate)
	}
	g.rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	return kinds
}

var baseNames = []string{
	"frontend", "api-gateway", "auth", "users", "accounts", "checkout", "cart",
	"payments", "orders", "inventory", "catalog", "search", "recommendations",
	"pricing", "shipping", "notifications", "email", "sms", "billing", "invoices",
	"ledger", "fraud", "reviews", "ratings", "media", "thumbnails", "cdn-edge",
	"sessions", "profile", "settings", "audit", "reporting", "analytics",
	"ads", "promotions", "loyalty", "wishlist", "geo", "currency", "tax",
	"quotes", "support", "chat", "feature-flags", "config", "scheduler",
	"worker", "database", "cache", "queue",
}

// ServiceNames returns the n service names a workload of n services uses.
func ServiceNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		if i < len(baseNames) {
			names[i] = baseNames[i]
		} else {
			names[i] = baseNames[i%len(baseNames)] + "-" + strconv.Itoa(i/len(baseNames))
		}
	}
	return names
}

var paths = []string{
	"/api/v1/items", "/api/v1/items/{id}", "/api/v1/orders", "/api/v1/orders/{id}",
	"/api/v1/users/{id}", "/api/v1/search", "/healthz", "/api/v2/checkout",
}

var operations = []string{
	"GET /api/v1/items", "POST /api/v1/orders", "GET /api/v1/users/{id}",
	"db.query", "cache.get", "queue.publish", "render", "authorize",
}

var kinds = []string{"server", "client", "internal", "producer", "consumer"}

// service picks a service index with a mild skew: low indexes (the front of the
// system) are busier, as in most meshes.
func (g *generator) service() int {
	n := len(g.services)
	a, b := g.rng.IntN(n), g.rng.IntN(n)
	return min(a, b)
}

// duration is log-normal around 20 ms, rounded to 0.01 ms.
func (g *generator) duration() float64 {
	d := math.Exp(math.Log(20) + 0.9*g.rng.NormFloat64())
	return math.Round(d*100) / 100
}

func (g *generator) status() int {
	switch p := g.rng.IntN(1000); {
	case p < 930:
		return [...]int{200, 200, 200, 201, 204}[p%5]
	case p < 980:
		return [...]int{400, 401, 404, 429}[p%4]
	default:
		return [...]int{500, 502, 503, 504}[p%4]
	}
}

func (g *generator) method() string {
	switch p := g.rng.IntN(100); {
	case p < 70:
		return "GET"
	case p < 90:
		return "POST"
	case p < 95:
		return "PUT"
	default:
		return "DELETE"
	}
}

func appendString(b []byte, key, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":`...)
	return strconv.AppendQuote(b, v)
}

func appendFloat(b []byte, key string, v float64) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":`...)
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

func appendInt(b []byte, key string, v int) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":`...)
	return strconv.AppendInt(b, int64(v), 10)
}

// appendLine appends one framed request and reports whether it is a record with
// target_service.
func (g *generator) appendLine(b []byte, k Kind, id int) ([]byte, bool) {
	b = append(b, `{"src":"c1","dest":"n1","body":{"type":"`...)
	b = append(b, k.String()...)
	b = append(b, '"')
	b = appendInt(b, "msg_id", id)
	withTarget := false
	switch k {
	case Init:
		b = append(b, `,"node_id":"n1","node_ids":["n1"]`...)
	case Record:
		s := g.service()
		b = appendString(b, "service", g.services[s])
		if g.rng.IntN(10) < 9 {
			ts := g.targets[s]
			b = appendString(b, "target_service", g.services[ts[g.rng.IntN(len(ts))]])
			withTarget = true
		}
		b = appendFloat(b, "duration_ms", g.duration())
		b = appendInt(b, "status", g.status())
		b = appendString(b, "method", g.method())
		b = appendString(b, "path", paths[g.rng.IntN(len(paths))])
	case Trace:
		b = appendString(b, "operation", operations[g.rng.IntN(len(operations))])
		b = appendString(b, "service", g.services[g.service()])
		kind := kinds[0]
		switch p := g.rng.IntN(100); {
		case p >= 95:
			kind = kinds[3+p%2]
		case p >= 85:
			kind = kinds[2]
		case p >= 60:
			kind = kinds[1]
		}
		b = appendString(b, "kind", kind)
		b = appendFloat(b, "duration_ms", g.duration())
	case Query:
		b = g.appendFilter(b)
	case Generate:
	}
	b = append(b, "}}\n"...)
	return b, withTarget
}

// appendFilter writes a query filter: every query filters, as a dashboard would,
// so reply sizes stay near a handful of pairs.
func (g *generator) appendFilter(b []byte) []byte {
	b = append(b, `,"filter":{`...)
	s := g.service()
	switch p := g.rng.IntN(10); {
	case p < 4:
		b = append(b, `"source_service":`...)
		b = strconv.AppendQuote(b, g.services[s])
	case p < 7:
		b = append(b, `"target_service":`...)
		b = strconv.AppendQuote(b, g.services[s])
	case p < 9:
		ts := g.targets[s]
		b = append(b, `"source_service":`...)
		b = strconv.AppendQuote(b, g.services[s])
		b = append(b, `,"target_service":`...)
		b = strconv.AppendQuote(b, g.services[ts[g.rng.IntN(len(ts))]])
	default:
		b = append(b, `"source_service":`...)
		b = strconv.AppendQuote(b, g.services[s])
		b = append(b, `,"status_class":"5xx"`...)
	}
	return append(b, '}')
}
