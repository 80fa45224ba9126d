package meshtrace

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// call is one step of a route: an HTTP call to a service (with the calls
// that service makes), or a database call.
type call struct {
	service, method, route string // HTTP: callee, method, route template
	db                     *dbCall
	calls                  []call
}

type dbCall struct {
	system, namespace, operation, collection, query, host string
	port                                                  int64
}

var (
	postgres = func(op, coll, q string) *dbCall {
		return &dbCall{"postgresql", "shop", op, coll, q, "postgres.shop.svc.cluster.local", 5432}
	}
	redis = func(op, q string) *dbCall {
		return &dbCall{"redis", "0", op, "", q, "redis.shop.svc.cluster.local", 6379}
	}
)

// routes are the frontend's entry points, each the tree of calls it makes.
var routes = []call{
	{service: "frontend", method: "GET", route: "/api/products/{id}", calls: []call{
		{service: "catalog", method: "GET", route: "/products/{id}", calls: []call{
			{db: postgres("SELECT", "products", "SELECT id, name, price, stock FROM products WHERE id = $1")},
		}},
		{service: "cart", method: "GET", route: "/cart/{user}", calls: []call{
			{db: redis("HGETALL", "HGETALL cart:{user}")},
		}},
	}},
	{service: "frontend", method: "POST", route: "/api/checkout", calls: []call{
		{service: "checkout", method: "POST", route: "/checkout", calls: []call{
			{service: "cart", method: "GET", route: "/cart/{user}", calls: []call{
				{db: redis("HGETALL", "HGETALL cart:{user}")},
			}},
			{service: "catalog", method: "GET", route: "/products/{id}", calls: []call{
				{db: postgres("SELECT", "products", "SELECT id, name, price, stock FROM products WHERE id = $1")},
			}},
			{service: "payment", method: "POST", route: "/charge", calls: []call{
				{db: postgres("INSERT", "payments", "INSERT INTO payments (order_id, amount, currency) VALUES ($1, $2, $3)")},
			}},
			{service: "shipping", method: "POST", route: "/shipments", calls: []call{
				{db: postgres("INSERT", "shipments", "INSERT INTO shipments (order_id, address) VALUES ($1, $2)")},
			}},
			{db: postgres("INSERT", "orders", "INSERT INTO orders (user_id, total) VALUES ($1, $2)")},
			{service: "cart", method: "DELETE", route: "/cart/{user}", calls: []call{
				{db: redis("DEL", "DEL cart:{user}")},
			}},
		}},
	}},
	{service: "frontend", method: "GET", route: "/api/cart", calls: []call{
		{service: "cart", method: "GET", route: "/cart/{user}", calls: []call{
			{db: redis("HGETALL", "HGETALL cart:{user}")},
		}},
		{service: "users", method: "GET", route: "/users/{id}", calls: []call{
			{db: postgres("SELECT", "users", "SELECT id, name, email FROM users WHERE id = $1")},
		}},
	}},
	{service: "frontend", method: "POST", route: "/api/login", calls: []call{
		{service: "users", method: "POST", route: "/sessions", calls: []call{
			{db: postgres("SELECT", "users", "SELECT id, password_hash FROM users WHERE email = $1")},
			{db: redis("SET", "SET session:{id} {user} EX 3600")},
		}},
	}},
}

// Services are the workload's services, in the order of their resources in a batch.
var Services = []string{"frontend", "checkout", "cart", "catalog", "payment", "shipping", "users"}

const (
	httpScope      = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	httpScopeVer   = "0.72.0"
	dbScope        = "github.com/XSAM/otelsql"
	dbScopeVer     = "0.40.0"
	errorsPerMille = 20 // server errors (500) per 1000 HTTP calls
)

// spanOut is a generated span with the resource and scope it belongs to.
type spanOut struct {
	service string
	db      bool // the db scope, else the http scope
	span    ptrace.Span
}

type generator struct {
	rng     *rand.Rand
	scratch ptrace.SpanSlice // spans are built here, then moved into the batch
	out     []spanOut
}

func (g *generator) traceID() pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], g.rng.Uint64())
	binary.BigEndian.PutUint64(id[8:], g.rng.Uint64())
	return id
}

func (g *generator) spanID() pcommon.SpanID {
	var id pcommon.SpanID
	for id.IsEmpty() {
		binary.BigEndian.PutUint64(id[:], g.rng.Uint64())
	}
	return id
}

// latency is a log-normal duration around median.
func (g *generator) latency(median time.Duration) time.Duration {
	return time.Duration(float64(median) * math.Exp(0.6*g.rng.NormFloat64()))
}

func (g *generator) newSpan(service string, db bool, tid pcommon.TraceID, parent pcommon.SpanID,
	name string, kind ptrace.SpanKind, start, end time.Time) ptrace.Span {
	sp := g.scratch.AppendEmpty()
	sp.SetTraceID(tid)
	sp.SetSpanID(g.spanID())
	sp.SetParentSpanID(parent)
	sp.SetName(name)
	sp.SetKind(kind)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
	sp.SetFlags(1) // sampled
	g.out = append(g.out, spanOut{service, db, sp})
	return sp
}

// serve generates the server span of an HTTP call to c.service and,
// below it, the calls it makes; it returns the span's status code.
func (g *generator) serve(c call, tid pcommon.TraceID, parent pcommon.SpanID, start time.Time, dur time.Duration, root bool) int64 {
	end := start.Add(dur)
	sp := g.newSpan(c.service, false, tid, parent, c.method+" "+c.route, ptrace.SpanKindServer, start, end)
	id := sp.SpanID()
	status := int64(200)
	if g.rng.IntN(1000) < errorsPerMille {
		status = 500
	}
	// Children run one after the other inside the server span.
	t := start.Add(dur / 20)
	budget := dur * 9 / 10 / time.Duration(max(len(c.calls), 1))
	for _, cc := range c.calls {
		d := min(g.latency(budget/2), budget)
		if cc.db != nil {
			g.dbClient(c.service, cc.db, tid, id, t, d)
		} else if s := g.client(c.service, cc, tid, id, t, d); s >= 500 && g.rng.IntN(2) == 0 {
			status = 500 // half of the callee errors propagate
		}
		t = t.Add(budget)
	}
	a := sp.Attributes()
	a.EnsureCapacity(10)
	a.PutStr("http.request.method", c.method)
	a.PutStr("http.route", c.route)
	a.PutStr("url.path", concretePath(c.route, g.rng))
	a.PutStr("url.scheme", "http")
	a.PutInt("http.response.status_code", status)
	a.PutStr("network.protocol.version", "1.1")
	a.PutStr("server.address", c.service+".shop.svc.cluster.local")
	a.PutInt("server.port", 8080)
	a.PutStr("client.address", fmt.Sprintf("10.42.%d.%d", g.rng.IntN(8), 2+g.rng.IntN(250)))
	if root {
		a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36")
	}
	if status >= 500 {
		sp.Status().SetCode(ptrace.StatusCodeError)
		sp.Status().SetMessage("Internal Server Error")
		ev := sp.Events().AppendEmpty()
		ev.SetName("exception")
		ev.SetTimestamp(pcommon.NewTimestampFromTime(end))
		ev.Attributes().PutStr("exception.type", "*errors.errorString")
		ev.Attributes().PutStr("exception.message", "upstream request failed")
	}
	return status
}

// client generates an HTTP client span in caller and the callee's server span.
func (g *generator) client(caller string, c call, tid pcommon.TraceID, parent pcommon.SpanID, start time.Time, dur time.Duration) int64 {
	sp := g.newSpan(caller, false, tid, parent, c.method, ptrace.SpanKindClient, start, start.Add(dur))
	net := min(dur/10, 2*time.Millisecond)
	status := g.serve(c, tid, sp.SpanID(), start.Add(net/2), dur-net, false)
	a := sp.Attributes()
	a.EnsureCapacity(6)
	a.PutStr("http.request.method", c.method)
	a.PutStr("url.full", "http://"+c.service+".shop.svc.cluster.local:8080"+concretePath(c.route, g.rng))
	a.PutStr("server.address", c.service+".shop.svc.cluster.local")
	a.PutInt("server.port", 8080)
	a.PutInt("http.response.status_code", status)
	a.PutStr("network.protocol.version", "1.1")
	if status >= 500 {
		sp.Status().SetCode(ptrace.StatusCodeError)
	}
	return status
}

// dbClient generates a database client span (no server side: databases are
// not instrumented).
func (g *generator) dbClient(caller string, d *dbCall, tid pcommon.TraceID, parent pcommon.SpanID, start time.Time, dur time.Duration) {
	name := d.operation + " " + d.namespace
	if d.collection != "" {
		name += "." + d.collection
	}
	sp := g.newSpan(caller, true, tid, parent, name, ptrace.SpanKindClient, start, start.Add(dur))
	a := sp.Attributes()
	a.EnsureCapacity(7)
	a.PutStr("db.system.name", d.system)
	a.PutStr("db.namespace", d.namespace)
	a.PutStr("db.operation.name", d.operation)
	if d.collection != "" {
		a.PutStr("db.collection.name", d.collection)
	}
	a.PutStr("db.query.text", d.query)
	a.PutStr("server.address", d.host)
	a.PutInt("server.port", d.port)
}

// concretePath fills a route template's parameters with ids.
func concretePath(route string, rng *rand.Rand) string {
	var b []byte
	for i := 0; i < len(route); i++ {
		if route[i] != '{' {
			b = append(b, route[i])
			continue
		}
		j := bytes.IndexByte([]byte(route[i:]), '}')
		if j < 0 {
			b = append(b, route[i:]...)
			break
		}
		b = fmt.Appendf(b, "%d", 1000+rng.IntN(9000))
		i += j
	}
	return string(b)
}

// NewBatch generates one batch of exactly spans spans from rng, the traces
// starting at base, one after the other: the spans of whole traces (about
// 2% of the HTTP calls fail with 500), grouped by service (resource) and
// instrumentation scope as a collector's batch processor sends them, the
// last trace cut at the batch size (a cut trace keeps its root). Every id
// is random.
func NewBatch(rng *rand.Rand, base time.Time, spans int) ptrace.Traces {
	g := &generator{rng: rng, scratch: ptrace.NewSpanSlice()}
	t := base
	for len(g.out) < spans {
		r := routes[g.rng.IntN(len(routes))]
		g.serve(r, g.traceID(), pcommon.SpanID{}, t, g.latency(40*time.Millisecond), true)
		t = t.Add(time.Duration(g.rng.IntN(2000)) * time.Microsecond)
	}
	g.out = g.out[:spans]

	td := ptrace.NewTraces()
	for i, svc := range Services {
		rs := td.ResourceSpans().AppendEmpty()
		rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.37.0")
		resourceAttributes(rs.Resource().Attributes(), svc, i)
		for _, db := range []bool{false, true} {
			var ss ptrace.ScopeSpans
			for _, s := range g.out {
				if s.service != svc || s.db != db {
					continue
				}
				if ss == (ptrace.ScopeSpans{}) {
					ss = rs.ScopeSpans().AppendEmpty()
					if db {
						ss.Scope().SetName(dbScope)
						ss.Scope().SetVersion(dbScopeVer)
					} else {
						ss.Scope().SetName(httpScope)
						ss.Scope().SetVersion(httpScopeVer)
					}
				}
				s.span.CopyTo(ss.Spans().AppendEmpty())
			}
		}
	}
	// A service with no span in this batch leaves an empty resource: drop it.
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool { return rs.ScopeSpans().Len() == 0 })
	return td
}

func resourceAttributes(a pcommon.Map, svc string, i int) {
	a.PutStr("service.name", svc)
	a.PutStr("service.namespace", "shop")
	a.PutStr("service.version", "1.4.2")
	a.PutStr("service.instance.id", fmt.Sprintf("%s-7d9f8b6c5-%05d", svc, 31*i+7))
	a.PutStr("deployment.environment.name", "production")
	a.PutStr("k8s.namespace.name", "shop")
	a.PutStr("k8s.deployment.name", svc)
	a.PutStr("k8s.pod.name", fmt.Sprintf("%s-7d9f8b6c5-%05d", svc, 31*i+7))
	a.PutStr("k8s.node.name", fmt.Sprintf("node-%d", i%3))
	a.PutStr("host.name", fmt.Sprintf("%s-7d9f8b6c5-%05d", svc, 31*i+7))
	a.PutStr("telemetry.sdk.name", "opentelemetry")
	a.PutStr("telemetry.sdk.language", "go")
	a.PutStr("telemetry.sdk.version", "1.47.0")
}
