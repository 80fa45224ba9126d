package api_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/meshobs/meshobs/api"
	"github.com/meshobs/meshobs/telemetry"
)

var update = flag.Bool("update", false, "rewrite docs/ui-demo.png from the browser test")

// chromiumPath returns the browser the tests drive: $MESHOBS_CHROMIUM, else
// Debian's /usr/bin/chromium. Without one the browser tests fail in CI (CI
// set) and are skipped elsewhere.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("MESHOBS_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no browser at %s (CI is set): test.sh installs Debian's chromium: %v", path, err)
		}
		t.Skipf("no browser at %s: apt-get install chromium (or set MESHOBS_CHROMIUM)", path)
	}
	return path
}

// browser starts one headless Chromium for the test and its subtests, and
// stops it at the end.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	if err := chromedp.Do(bctx); err != nil { // start it now: its start is no page's time
		t.Fatal(err)
	}
	return bctx
}

// tab is one page of the browser, with every console error and uncaught
// exception it has seen.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string
}

// openTab opens a 1280x800 tab on url and waits until the page's first
// poll has drawn what the API had.
func openTab(t *testing.T, bctx context.Context, url string) *tab {
	t.Helper()
	tb := newTab(t, bctx)
	tb.do(chromedp.Navigate(url))
	tb.wait(`window.meshobs && window.meshobs.polls >= 1`)
	return tb
}

// newTab opens a 1280x800 tab that records console problems.
func newTab(t *testing.T, bctx context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx}
	messages := chromedp.Console(ctx) // opens the tab, listening from its start
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() || m.Type == chromedp.ConsoleWarning {
				tb.mu.Lock()
				tb.problems = append(tb.problems, m.String())
				tb.mu.Unlock()
			}
		}
	}()
	tb.do(chromedp.EmulateViewport(1280, 800))
	return tb
}

// do runs actions, failing the test on an error.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression into T.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// wait polls a JavaScript condition until it holds (at most 15 s), also
// across a navigation, which ends the page a poll runs in.
func (tb *tab) wait(cond string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	var err error
	for {
		_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(0)))
		if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "context") {
			break
		}
	}
	if err != nil {
		state, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.querySelector("#status").innerText + "\n" + document.querySelector("main").innerText.slice(0, 3000)`))
		tb.t.Fatalf("waiting for %s: %v\npage:\n%s", cond, err, state)
	}
}

// noProblems fails the test if the page logged an error or a warning, or
// threw, except messages containing one of expected.
func (tb *tab) noProblems(expected ...string) {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		if !slices.ContainsFunc(expected, func(e string) bool { return strings.Contains(p, e) }) {
			tb.t.Errorf("browser console: %s", p)
		}
	}
}

// screenshot saves the tab as it is when MESHOBS_UI_SHOTS names a folder,
// and into path when -update is given; it returns the PNG.
func (tb *tab) screenshot(name, path string) []byte {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatal(err)
	}
	if dir := os.Getenv("MESHOBS_UI_SHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			tb.t.Error(err)
		}
	}
	if path != "" && *update {
		if err := os.WriteFile(path, png, 0o644); err != nil {
			tb.t.Fatal(err)
		}
		tb.t.Logf("wrote %s", path)
	}
	return png
}

// TestBrowser drives the page in headless Chromium against a real
// pipeline fed with examples/demo.jsonl, through the API with a token.
func TestBrowser(t *testing.T) {
	bctx := browser(t)

	t.Run("DemoMesh", func(t *testing.T) {
		// One more access-log entry carries the demo trace's id, so that a
		// log row can open it.
		p := newPipelineAt(t, tickingClock(time.Millisecond), `{"type":"record","service":"frontend","target_service":"cart","method":"POST","path":"/cart/checkout","duration_ms":80,"status":200,"trace_id":"`+demoTrace+`"}`)
		q := p.Query()
		s := startServer(t, api.Config{Auth: api.AuthConfig{BearerTokenFile: writeToken(t, "demo-token")}}, q)
		tb := openTab(t, bctx, "http://"+s.Addr()+"/?token=demo-token&refresh=1")
		testDemoMesh(t, tb, p)
		tb.noProblems()
	})

	t.Run("TokenPage", func(t *testing.T) {
		// A browser without the token gets the token page; the token typed
		// there opens the UI, and a reload (the address bar has no token
		// any more) opens it again from the tab's storage.
		s := startServer(t, api.Config{Auth: api.AuthConfig{BearerTokenFile: writeToken(t, "page-token")}}, newPipeline(t).Query())
		tb := newTab(t, bctx)
		tb.do(chromedp.Navigate("http://" + s.Addr() + "/"))
		tb.wait(`document.querySelector("#login")`)
		tb.do(chromedp.SendKeys(chromedp.CSS(`#token`), "page-token"+kb.Enter))
		tb.wait(`window.meshobs && window.meshobs.polls >= 1 && document.querySelector("#status").className === "status ok"`)
		if got := eval[string](tb, `location.pathname + location.search`); got != "/" {
			t.Errorf("address after sign-in: %q", got)
		}
		tb.do(chromedp.Reload())
		tb.wait(`window.meshobs && window.meshobs.polls >= 1 && document.querySelector("#status").className === "status ok"`)
		if n := eval[int](tb, `document.querySelectorAll("#nodes .node").length`); n != 5 {
			t.Errorf("%d services after a reload", n)
		}
		tb.noProblems(`status of 401`) // the two answers to / without the token
	})

	t.Run("EmptyState", func(t *testing.T) {
		p, err := telemetry.New()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
		s := startServer(t, api.Config{}, p.Query())
		tb := openTab(t, bctx, "http://"+s.Addr()+"/")
		text := eval[string](tb, `getComputedStyle(document.querySelector("#empty")).display === "none" ? "" : document.querySelector("#empty").innerText`)
		for _, want := range []string{"No traffic yet", "127.0.0.1:4317", "127.0.0.1:4318", "meshobs serve", `"type":"record"`} {
			if !strings.Contains(text, want) {
				t.Errorf("empty state lacks %q:\n%s", want, text)
			}
		}
		tb.screenshot("empty", "")
		tb.noProblems()
	})

	t.Run("LargeMesh", func(t *testing.T) {
		p := newPipeline(t, largeMesh(200, 1000)...)
		g, err := p.Query().Graph(context.Background(), telemetry.GraphRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Nodes) < 200 || len(g.Edges) < 1000 {
			t.Fatalf("the mesh has %d services and %d edges", len(g.Nodes), len(g.Edges))
		}
		s := startServer(t, api.Config{}, p.Query())
		tb := openTab(t, bctx, "http://"+s.Addr()+"/")
		tb.wait(`window.meshobs.firstRenderMs != null`)
		ms := eval[float64](tb, `window.meshobs.firstRenderMs`)
		parts := eval[string](tb, `JSON.stringify(window.meshobs.first, (k, v) => typeof v === "number" ? Math.round(v) : v)`)
		nodes := eval[int](tb, `document.querySelectorAll("#nodes .node").length`)
		edges := eval[int](tb, `document.querySelectorAll("#edges .edge").length`)
		t.Logf("first render of %d services and %d edges: %.0f ms %s", nodes, edges, ms, parts)
		if nodes != len(g.Nodes) || edges != len(g.Edges) {
			t.Errorf("drew %d nodes and %d edges, want %d and %d", nodes, edges, len(g.Nodes), len(g.Edges))
		}
		if ms >= 2000 {
			t.Errorf("first render took %.0f ms, want < 2000 ms", ms)
		}
		// Usable: a service out of sight is found by name, selected and
		// brought into view; a click on another selects that one.
		name := g.Nodes[len(g.Nodes)/2]
		tb.do(chromedp.SendKeys(chromedp.CSS(`#find`), name+kb.Enter))
		tb.wait(fmt.Sprintf(`document.querySelector("#side h2").textContent === %q`, name))
		visible := eval[bool](tb, fmt.Sprintf(`(() => {
			const pane = document.querySelector("#graph").getBoundingClientRect();
			const r = document.querySelector('#nodes .node[data-name=%q] .ring').getBoundingClientRect();
			return r.left >= pane.left && r.right <= pane.right && r.top >= pane.top && r.bottom <= pane.bottom;
		})()`, name))
		if !visible {
			t.Errorf("%s was found but is not in view", name)
		}
		tb.screenshot("large", "")
		other := eval[string](tb, fmt.Sprintf(`(() => {
			const pane = document.querySelector("#graph").getBoundingClientRect();
			return [...document.querySelectorAll("#nodes .node")].find((n) => {
				const r = n.querySelector(".ring").getBoundingClientRect();
				return n.dataset.name !== %q && r.left > pane.left + 60 && r.right < pane.right - 60 && r.top > pane.top + 60 && r.bottom < pane.bottom - 60;
			}).dataset.name;
		})()`, name))
		tb.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#nodes .node[data-name=%q] .ring`, other))))
		tb.wait(fmt.Sprintf(`document.querySelector("#side h2").textContent === %q`, other))
		tb.noProblems()
	})
}

func testDemoMesh(t *testing.T, tb *tab, p *telemetry.Pipeline) {
	ctx := context.Background()
	q := p.Query()
	g, err := q.Graph(ctx, telemetry.GraphRequest{})
	if err != nil {
		t.Fatal(err)
	}

	// The token went from the address bar to the tab's storage, and works.
	if got := eval[string](tb, `location.search`); got != "?refresh=1" {
		t.Errorf("address bar keeps %q", got)
	}
	if got := eval[string](tb, `sessionStorage.getItem("meshobs.token")`); got != "demo-token" {
		t.Errorf("stored token %q", got)
	}
	if got := eval[string](tb, `document.querySelector("#status").className`); got != "status ok" {
		t.Errorf("status %q: %s", got, eval[string](tb, `document.querySelector("#status").innerText`))
	}

	// Every service of the demo mesh is drawn inside the graph pane, every edge labelled.
	shown := eval[[]string](tb, `(() => {
		const pane = document.querySelector("#graph").getBoundingClientRect();
		return [...document.querySelectorAll("#nodes .node")].filter((n) => {
			const r = n.querySelector(".ring").getBoundingClientRect();
			return r.width > 10 && r.left >= pane.left && r.right <= pane.right && r.top >= pane.top && r.bottom <= pane.bottom;
		}).map((n) => n.dataset.name);
	})()`)
	slices.Sort(shown)
	want := slices.Sorted(slices.Values(g.Nodes))
	if !slices.Equal(shown, want) {
		t.Errorf("services shown %q, want %q", shown, want)
	}
	labels := eval[[]string](tb, `[...document.querySelectorAll("#edge-labels .edge-label")].map((l) => l.textContent)`)
	if len(labels) != len(g.Edges) {
		t.Errorf("%d edge labels for %d edges", len(labels), len(g.Edges))
	}
	for _, l := range labels {
		if !strings.Contains(l, "req") && !strings.Contains(l, "rps") || !strings.Contains(l, "%") || !strings.Contains(l, "p95") {
			t.Errorf("edge label %q lacks traffic, error %% or p95", l)
		}
	}
	// frontend -> catalog: 1 of 3 failed, p95 830.2 ms: red.
	if got := eval[string](tb, `[...document.querySelectorAll("#edge-labels .edge-label")].find((l) => l.textContent.includes("33%")).getAttribute("class")`); got != "edge-label bad" {
		t.Errorf("the 33%% edge's label class %q", got)
	}
	tb.screenshot("demo", filepath.Join("..", "docs", "ui-demo.png"))

	// Hovering a service gives its tally.
	center := eval[[]float64](tb, `(() => { const r = document.querySelector('#nodes .node[data-name="catalog"] .ring').getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`)
	tb.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, center[0], center[1]))
	tb.wait(`document.querySelector('#nodes .node[data-name="catalog"] > title')`)
	if got := eval[string](tb, `document.querySelector('#nodes .node[data-name="catalog"] > title').textContent`); got != "catalog\nin: 3 requests, 1 5xx (33%)\nout: 2 requests" {
		t.Errorf("catalog's tooltip %q", got)
	}

	// A click on a service shows its golden signals and its edges.
	tb.do(chromedp.Click(chromedp.CSS(`#nodes .node[data-name="catalog"]`)))
	tb.wait(`document.querySelector("#signals")`)
	st, err := q.Stats(ctx, telemetry.StatsRequest{Service: "catalog"})
	if err != nil || len(st.Services) != 1 {
		t.Fatalf("stats: %v %+v", err, st)
	}
	side := eval[string](tb, `document.querySelector("#side").textContent`)
	for _, w := range []string{"catalog", "Requests", fmt.Sprint(st.Services[0].RequestCount), "50%", "Latency p95", "812 ms", "200", "503", "Inbound (1)", "frontend", "Outbound (1)", "postgres"} {
		if !strings.Contains(side, w) {
			t.Errorf("service panel lacks %q:\n%s", w, side)
		}
	}
	if got := eval[string](tb, `document.querySelector("#nodes .node.selected").dataset.name`); got != "catalog" {
		t.Errorf("selected node %q", got)
	}
	tb.screenshot("selected", "")

	// A filter narrows the access log.
	rows := func() int { return eval[int](tb, `document.querySelectorAll("#logs tbody tr:not(.none)").length`) }
	all := rows()
	if all != 9 {
		t.Errorf("%d log rows, want the 9 records", all)
	}
	selectOption := func(id, value string) {
		tb.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event("change")); })()`, id, value)))
	}
	selectOption("#f-source", "catalog")
	tb.wait(`document.querySelectorAll("#logs tbody tr").length === 2`)
	peers := eval[[]string](tb, `[...document.querySelectorAll("#logs tbody tr td:nth-child(2)")].map((td) => td.textContent)`)
	for _, peer := range peers {
		if peer != "catalog → postgres" {
			t.Errorf("row %q in a table filtered on source catalog", peer)
		}
	}
	selectOption("#f-class", "5xx")
	tb.wait(`document.querySelectorAll("#logs tbody tr").length === 1 && document.querySelector("#logs tbody tr").innerText.includes("503")`)
	tb.do(chromedp.Click(chromedp.CSS(`#f-clear`)))
	tb.wait(fmt.Sprintf(`document.querySelectorAll("#logs tbody tr").length === %d`, all))

	// The trace view opens from a log row's trace id...
	waitTrace := func() {
		tb.t.Helper()
		tb.wait(`!document.querySelector("#trace-pane").hidden && document.querySelectorAll("#waterfall .wf-row.span").length === 2`)
		names := eval[string](tb, `document.querySelector("#waterfall").innerText`)
		if !strings.Contains(names, "GET /checkout") || !strings.Contains(names, "POST /cart/checkout") {
			t.Errorf("waterfall:\n%s", names)
		}
		if got := eval[string](tb, `document.querySelector("#trace-id").textContent`); got != demoTrace {
			t.Errorf("trace view of %q", got)
		}
		// The child span starts within its parent and is indented under it.
		indent := eval[[]string](tb, `[...document.querySelectorAll("#waterfall .wf-row.span .wf-name")].map((n) => n.style.paddingLeft)`)
		if !slices.Equal(indent, []string{"8px", "22px"}) {
			t.Errorf("indentation %q", indent)
		}
	}
	tb.do(chromedp.Click(chromedp.CSS(`#logs .trace-link`)))
	waitTrace()
	// A span's row opens its details.
	child := eval[string](tb, `document.querySelectorAll("#waterfall .wf-row.span")[1].dataset.span`)
	tb.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#waterfall [data-span=%q]`, child))))
	tb.wait(`document.querySelector("#waterfall .wf-detail:not([hidden])")`)
	if got := eval[string](tb, `document.querySelector("#waterfall .wf-detail:not([hidden])").textContent`); !strings.Contains(got, "http.route/cart/checkout") || !strings.Contains(got, "kindserver") {
		t.Errorf("span details: %s", got)
	}
	if got := eval[string](tb, `location.hash`); got != "#trace="+demoTrace {
		t.Errorf("hash %q", got)
	}
	tb.screenshot("trace", "")
	tb.do(chromedp.KeyEvent(kb.Escape))
	tb.wait(`document.querySelector("#trace-pane").hidden`)
	// ... and by id.
	tb.do(chromedp.SendKeys(chromedp.CSS(`#trace-input`), demoTrace), chromedp.Click(chromedp.CSS(`#trace-form button`)))
	waitTrace()
	tb.do(chromedp.Click(chromedp.CSS(`#trace-close`)))
	tb.wait(`document.querySelector("#trace-pane").hidden`)

	// The user's zoom, pan and selection survive refreshes: both those that
	// only update labels and one that lays a new service out.
	viewport := func() string {
		return eval[string](tb, `document.querySelector("#viewport").getAttribute("transform")`)
	}
	before := viewport()
	tb.do(chromedp.Click(chromedp.CSS(`#zoom-in`)), chromedp.Click(chromedp.CSS(`#zoom-in`)))
	tb.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseWheel, 300, 300, func(p *input.DispatchMouseEventParams) {
		// cdproto leaves a zero deltaX out, and the browser wants both.
		p.DeltaX, p.DeltaY = 1, -120
	}))
	zoomed := viewport()
	if zoomed == before {
		t.Fatalf("zoom did not change the view: %s", zoomed)
	}
	polls := eval[int](tb, `window.meshobs.polls`)
	layouts := eval[int](tb, `window.meshobs.layouts`)
	tb.wait(fmt.Sprintf(`window.meshobs.polls >= %d`, polls+2))
	if got := viewport(); got != zoomed {
		t.Errorf("a refresh moved the view: %s, was %s", got, zoomed)
	}
	if got := eval[int](tb, `window.meshobs.layouts`); got != layouts {
		t.Errorf("%d layouts with an unchanged graph, want %d", got, layouts)
	}
	if _, err := p.Record(ctx, &telemetry.Request{Service: "catalog", Target: "search", DurationMs: 12, Status: 200}); err != nil {
		t.Fatal(err)
	}
	tb.wait(`document.querySelector('#nodes .node[data-name="search"]')`)
	if got := viewport(); got != zoomed {
		t.Errorf("a new layout moved the view: %s, was %s", got, zoomed)
	}
	if got := eval[string](tb, `document.querySelector("#nodes .node.selected").dataset.name`); got != "catalog" {
		t.Errorf("selection after a new layout: %q", got)
	}
	if got := eval[string](tb, `document.querySelector("#side").textContent`); !strings.Contains(got, "Outbound (2)") {
		t.Errorf("the panel did not follow the new edge:\n%s", got)
	}
}

// largeMesh returns record lines for services services and edges distinct
// edges, in five tiers as a mesh's are: most calls go one tier down, some two.
func largeMesh(services, edges int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	const tiers = 5
	per := services / tiers
	name := func(tier, i int) string {
		return fmt.Sprintf("%s-%02d", []string{"edge", "web", "api", "core", "store"}[tier], i)
	}
	var lines []string
	seen := map[[2]string]bool{}
	// Every service once, so that none is left out.
	for tier := range tiers {
		for i := range per {
			lines = append(lines, fmt.Sprintf(`{"type":"record","service":%q,"duration_ms":1,"status":200}`, name(tier, i)))
		}
	}
	for len(seen) < edges {
		tier := rng.IntN(tiers - 1)
		down := 1
		if tier+2 < tiers && rng.IntN(5) == 0 {
			down = 2
		}
		e := [2]string{name(tier, rng.IntN(per)), name(tier+down, rng.IntN(per))}
		if seen[e] {
			continue
		}
		seen[e] = true
		for range 1 + rng.IntN(3) {
			status := 200
			if rng.IntN(20) == 0 {
				status = 503
			}
			lines = append(lines, fmt.Sprintf(`{"type":"record","service":%q,"target_service":%q,"duration_ms":%.1f,"status":%d}`,
				e[0], e[1], 1+rng.Float64()*200, status))
		}
	}
	return lines
}
