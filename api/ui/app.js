"use strict";
// The page: polls the API, feeds the graph, the side panel, the access log
// and the trace view, and keeps the bearer token for its own calls.

(() => {
  const $ = (sel) => document.querySelector(sel);

  // The token arrives once, as /?token=; the tab keeps it, the address bar drops it.
  const TOKEN_KEY = "meshobs.token";
  const params = new URLSearchParams(location.search);
  if (params.has("token")) {
    sessionStorage.setItem(TOKEN_KEY, params.get("token"));
    params.delete("token");
    const q = params.toString();
    history.replaceState(null, "", location.pathname + (q ? "?" + q : "") + location.hash);
  }
  sessionStorage.removeItem("meshobs.token.tried"); // see login.js: the token worked
  // ?refresh=SECONDS (1..60) sets the polling period.
  const refreshMs = Math.min(60, Math.max(1, Number(params.get("refresh")) || 3)) * 1000;
  const LOG_LIMIT = 200;
  const TRACE_ID = /^[0-9a-f]{32}$/;

  // Counters and timings, for tests and the curious.
  const probe = window.meshobs = { polls: 0, layouts: 0, firstRenderMs: null, layoutMs: null, drawMs: null };

  class APIError extends Error {
    constructor(status, body) {
      super(body && body.text ? body.text : "HTTP " + status);
      this.status = status;
    }
  }

  async function api(path) {
    const headers = {};
    const tok = sessionStorage.getItem(TOKEN_KEY);
    if (tok) headers.Authorization = "Bearer " + tok;
    const res = await fetch(path, { headers, cache: "no-store" });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new APIError(res.status, body);
    return body;
  }

  const state = {
    graph: null,            // the last /api/graph?detail=true reply, edges with rps
    prev: null,             // {t, counts}: the previous poll, for rates
    selected: null,         // the selected service
    signals: null,          // {service, data} from /api/stats for the selection
    filters: { source: "", target: "", cls: "" },
    nodesKey: "",
  };
  const view = new GraphView($("#graph"), (name) => select(name));

  // ---- polling ------------------------------------------------------------

  let timer = null;
  let polling = false;
  async function poll() {
    clearTimeout(timer);
    if (polling) return;
    polling = true;
    const t0 = performance.now();
    try {
      const g = await api("api/graph?detail=true");
      const t1 = performance.now();
      rates(g, t1);
      state.graph = g;
      drawGraph(g);
      if (probe.firstRenderMs == null && g.nodes.length) {
        const t2 = performance.now();
        view.gNodes.getBBox(); // force style and layout: count them in
        const t3 = performance.now();
        probe.firstRenderMs = t3 - t0;
        probe.first = { fetchMs: t1 - t0, layoutMs: probe.layoutMs, drawMs: probe.drawMs, styleMs: t3 - t2 };
      }
      await Promise.all([refreshSignals(), refreshLogs()]);
      setStatus("ok", "live · updated " + fmt.time(new Date()).slice(0, 8));
    } catch (e) {
      setStatus("err", e.status === 401 ? "unauthorized: open this page as /?token=<token>" : "API unreachable: " + e.message);
    } finally {
      polling = false;
      probe.polls++;
      if (!document.hidden) timer = setTimeout(poll, refreshMs);
    }
  }
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) clearTimeout(timer); else poll();
  });

  // rates sets each edge's rps from the change of its request_count since
  // the previous poll (null on the first): an edge new since then got all
  // its requests in between.
  function rates(g, now) {
    const counts = new Map();
    const prev = state.prev;
    for (const e of g.edges) {
      const k = e.source + "\u0001" + e.target;
      counts.set(k, e.request_count);
      e.rps = prev && now > prev.t ? Math.max(0, e.request_count - (prev.counts.get(k) || 0)) / ((now - prev.t) / 1000) : null;
    }
    state.prev = { t: now, counts };
  }

  function setStatus(kind, text) {
    $("#status").className = "status " + kind;
    $("#status-text").textContent = text;
  }

  // ---- graph ----------------------------------------------------------------

  function drawGraph(g) {
    $("#empty").hidden = g.nodes.length > 0;
    const t = view.update(g.nodes, g.edges);
    if (t.relaid) probe.layouts++;
    probe.layoutMs = t.layoutMs;
    probe.drawMs = t.drawMs;
    summary(g);
    const key = g.nodes.join("\n");
    if (key !== state.nodesKey) {
      state.nodesKey = key;
      fillSelect($("#f-source"), g.nodes, state.filters.source);
      fillSelect($("#f-target"), g.nodes, state.filters.target);
      $("#services").replaceChildren(...g.nodes.map((n) => h("option", { value: n })));
    }
    if (!state.selected) renderSide();
  }

  function summary(g) {
    let req = 0, err = 0, rps = 0;
    for (const e of g.edges) {
      req += e.request_count;
      err += e.error_count || 0;
      rps += e.rps || 0;
    }
    $("#summary").replaceChildren(
      h("span", {}, h("b", {}, fmt.count(g.nodes.length)), " services"),
      h("span", {}, h("b", {}, fmt.count(g.edges.length)), " edges"),
      rps > 0 ? h("span", {}, h("b", {}, fmt.rate(rps))) : h("span", {}, h("b", {}, fmt.count(req)), " requests"),
      h("span", { class: health(req, err) }, h("b", {}, fmt.pct(req ? err / req : 0)), " 5xx"));
  }

  // ---- side panel -----------------------------------------------------------

  function select(name, reveal) {
    state.selected = name;
    state.signals = null;
    view.select(name);
    if (name && reveal) view.reveal(name);
    renderSide();
    if (name) refreshSignals();
  }

  async function refreshSignals() {
    const name = state.selected;
    if (!name) return;
    try {
      const r = await api("api/stats?service=" + encodeURIComponent(name));
      if (state.selected !== name) return;
      state.signals = { service: name, data: r.services[0] || null };
    } catch (e) {
      if (state.selected !== name) return;
      state.signals = { service: name, error: e.message };
    }
    renderSide();
  }

  // edgeLabel is an edge's rate, or its count while it has none.
  function edgeLabel(e) { return e.rps > 0 ? fmt.rate(e.rps) : fmt.count(e.request_count) + " req"; }

  function edgeTable(edges, peerOf, heading) {
    if (!edges.length) return h("p", { class: "muted" }, "none");
    return h("table", { class: "mini" },
      h("thead", {}, h("tr", {}, h("th", {}, heading), h("th", { class: "num" }, "traffic"), h("th", { class: "num" }, "5xx"), h("th", { class: "num" }, "p95"))),
      h("tbody", {}, edges.map((e) => {
        const peer = peerOf(e);
        const ratio = e.request_count ? (e.error_count || 0) / e.request_count : 0;
        return h("tr", {},
          h("td", {}, h("i", { class: "sw " + health(e.request_count, e.error_count || 0) }),
            h("button", { type: "button", class: "link", onclick: () => select(peer, true), title: "Select " + peer }, peer)),
          h("td", { class: "num" }, edgeLabel(e)),
          h("td", { class: "num" }, fmt.pct(ratio)),
          h("td", { class: "num" }, fmt.ms((e.latency_ms || {}).p95)));
      })));
  }

  function tile(label, value, sub, cls, title) {
    return h("div", { class: "tile " + (cls || ""), title }, h("div", { class: "tile-label" }, label), h("div", { class: "tile-value" }, value), h("div", { class: "tile-sub" }, sub || ""));
  }

  function renderSide() {
    const side = $("#side");
    const g = state.graph || { nodes: [], edges: [] };
    const name = state.selected;
    if (!name) {
      side.replaceChildren(overview(g));
      return;
    }
    const inbound = g.edges.filter((e) => e.target === name);
    const outbound = g.edges.filter((e) => e.source === name);
    const sig = state.signals && state.signals.service === name ? state.signals : null;
    const body = [];
    if (!sig) {
      body.push(h("p", { class: "muted" }, "Loading golden signals…"));
    } else if (sig.error) {
      body.push(h("p", { class: "error" }, sig.error));
    } else if (!sig.data) {
      body.push(h("p", { class: "muted" }, `${name} has reported no requests of its own (no access log or server span from it); its inbound edges show the calls it received.`));
    } else {
      const d = sig.data, lat = d.latency_ms;
      body.push(h("div", { class: "tiles signals", id: "signals" },
        tile("Requests", fmt.count(d.request_count), fmt.rate(d.rate_per_s), "", "rate: the mean over the last 60 s"),
        tile("5xx errors", fmt.pct(d.error_rate), fmt.count(d.error_count) + " of " + fmt.count(d.request_count), health(d.request_count, d.error_count)),
        tile("Latency p95", fmt.ms(lat.p95), "p99 " + fmt.ms(lat.p99))));
      body.push(h("h3", {}, "Latency"),
        h("table", { class: "mini lat" }, h("tr", {}, ["p50", "p90", "p95", "p99", "max"].map((p) => h("th", { class: "num" }, p))),
          h("tr", {}, ["p50", "p90", "p95", "p99", "max"].map((p) => h("td", { class: "num" }, fmt.ms(lat[p]))))));
      const codes = Object.entries(d.status_codes || {});
      body.push(h("h3", {}, "Status codes"),
        h("div", { class: "codes" }, codes.length ? codes.map(([c, n]) => h("span", { class: "code " + statusClass(Number(c)) }, h("b", {}, c), " × " + fmt.count(n))) : h("span", { class: "muted" }, "none")));
    }
    side.replaceChildren(
      h("div", { class: "panel-head" },
        h("div", {}, h("div", { class: "kicker" }, "Service"), h("h2", { title: name }, name)),
        h("button", { type: "button", class: "close", title: "Close", onclick: () => select(null) }, "×")),
      ...body,
      h("h3", {}, `Inbound (${inbound.length})`), edgeTable(inbound, (e) => e.source, "from"),
      h("h3", {}, `Outbound (${outbound.length})`), edgeTable(outbound, (e) => e.target, "to"),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => setFilters({ source: "", target: name, cls: "" }) }, "Logs to " + name),
        h("button", { type: "button", onclick: () => setFilters({ source: name, target: "", cls: "" }) }, "Logs from " + name)));
  }

  function overview(g) {
    let req = 0, err = 0;
    for (const e of g.edges) { req += e.request_count; err += e.error_count || 0; }
    const ratio = (e) => (e.request_count ? (e.error_count || 0) / e.request_count : 0);
    const busiest = g.edges.slice().sort((a, b) => (b.rps ?? 0) - (a.rps ?? 0) || b.request_count - a.request_count).slice(0, 6);
    const failing = g.edges.filter((e) => e.error_count > 0).sort((a, b) => ratio(b) - ratio(a)).slice(0, 6);
    const list = (edges, value) => edges.length ? h("table", { class: "mini" }, h("tbody", {}, edges.map((e) =>
      h("tr", { class: "clickable", title: "Show this edge's access log", onclick: () => setFilters({ source: e.source, target: e.target, cls: "" }) },
        h("td", {}, h("i", { class: "sw " + health(e.request_count, e.error_count || 0) }), `${e.source} → ${e.target}`),
        h("td", { class: "num" }, value(e)))))) : h("p", { class: "muted" }, "none");
    return h("div", {},
      h("div", { class: "panel-head" }, h("div", {}, h("div", { class: "kicker" }, "Overview"), h("h2", {}, "Mesh"))),
      h("div", { class: "tiles" },
        tile("Services", fmt.count(g.nodes.length), fmt.count(g.edges.length) + " edges"),
        tile("Requests", fmt.count(req), "on all edges"),
        tile("5xx errors", fmt.pct(req ? err / req : 0), fmt.count(err) + " requests", health(req, err))),
      h("h3", {}, "Busiest edges"), list(busiest, edgeLabel),
      h("h3", {}, "Most 5xx"), list(failing, (e) => fmt.pct(ratio(e))),
      h("p", { class: "muted side-hint" }, "Click a service for its golden signals and edges; drag to pan, scroll to zoom."));
  }

  // ---- access log -----------------------------------------------------------

  function fillSelect(sel, names, keep) {
    const opts = [h("option", { value: "" }, "any")];
    const all = keep && !names.includes(keep) ? names.concat([keep]) : names;
    for (const n of all) opts.push(h("option", { value: n }, n));
    sel.replaceChildren(...opts);
    sel.value = keep;
  }

  function setFilters(f) {
    state.filters = Object.assign({}, f);
    for (const [id, v] of [["#f-source", f.source], ["#f-target", f.target]]) {
      const sel = $(id);
      if (v && ![...sel.options].some((o) => o.value === v)) sel.append(h("option", { value: v }, v));
      sel.value = v;
    }
    $("#f-class").value = f.cls;
    refreshLogs();
  }

  for (const [id, key] of [["#f-source", "source"], ["#f-target", "target"], ["#f-class", "cls"]]) {
    $(id).addEventListener("change", (e) => { state.filters[key] = e.target.value; refreshLogs(); });
  }
  $("#f-clear").addEventListener("click", () => setFilters({ source: "", target: "", cls: "" }));

  let logSeq = 0, logSig = "";
  async function refreshLogs() {
    const seq = ++logSeq;
    const f = state.filters;
    const q = new URLSearchParams({ raw: "true", limit: String(LOG_LIMIT) });
    if (f.source) q.set("source_service", f.source);
    if (f.target) q.set("target_service", f.target);
    if (f.cls) q.set("status_class", f.cls);
    let r;
    try {
      r = await api("api/logs?" + q);
    } catch (e) {
      if (seq === logSeq) $("#log-count").textContent = e.message;
      return;
    }
    if (seq !== logSeq) return; // a newer request (another filter) answers
    const logs = r.logs;
    const sig = q + "\u0000" + logs.length + "\u0000" + (logs.length ? logs[logs.length - 1].timestamp : "");
    if (sig === logSig) return; // unchanged: keep the rows (and any text selection)
    logSig = sig;
    $("#log-count").textContent = logs.length === LOG_LIMIT ? `newest ${LOG_LIMIT} entries` : `${logs.length} entr${logs.length === 1 ? "y" : "ies"}`;
    const tbody = $("#logs tbody");
    if (!logs.length) {
      tbody.replaceChildren(h("tr", { class: "none" }, h("td", { colspan: "7" }, "No access-log entries match.")));
      return;
    }
    const rows = [];
    for (let i = logs.length - 1; i >= 0; i--) { // newest first
      const l = logs[i];
      const peer = (l.source_service || "—") + " → " + (l.target_service || "—");
      rows.push(h("tr", { class: statusClass(l.status) },
        h("td", { class: "mono", title: l.timestamp }, fmt.time(new Date(parseTime(l.timestamp)))),
        h("td", { title: "reported by " + l.service }, peer),
        h("td", {}, l.method),
        h("td", { class: "path", title: l.path }, l.path),
        h("td", { class: "num" }, h("span", { class: "code " + statusClass(l.status) }, l.status)),
        h("td", { class: "num" }, fmt.ms(l.duration_ms)),
        h("td", {}, l.trace_id ? h("button", { type: "button", class: "link mono trace-link", title: "Open trace " + l.trace_id, "data-trace": l.trace_id, onclick: () => openTrace(l.trace_id) }, l.trace_id.slice(0, 12) + "…") : "")));
    }
    tbody.replaceChildren(...rows);
  }

  // ---- trace view -----------------------------------------------------------

  function openTrace(raw) {
    const id = String(raw).trim().toLowerCase();
    if (!TRACE_ID.test(id)) {
      showTrace(id, null, "A trace ID is 32 hex digits, e.g. 4bf92f3577b34da6a3ce929d0e0e4736.");
      return;
    }
    if (location.hash !== "#trace=" + id) history.pushState(null, "", "#trace=" + id);
    loadTrace(id);
  }

  let traceSeq = 0;
  async function loadTrace(id) {
    const seq = ++traceSeq;
    showTrace(id, null, "Loading…");
    try {
      const t = await api("api/traces/" + id);
      if (seq !== traceSeq) return;
      showTrace(id, t);
    } catch (e) {
      if (seq !== traceSeq) return;
      showTrace(id, null, e.status === 404 ? `meshobs does not hold trace ${id}: it has not arrived, or was evicted (retention.spans).` : e.message);
    }
  }

  function showTrace(id, trace, message) {
    $("#trace-pane").hidden = false;
    $("#trace-id").textContent = id;
    const wf = $("#waterfall");
    if (trace) {
      $("#trace-summary").textContent = TraceView.render(wf, trace);
    } else {
      $("#trace-summary").textContent = "";
      wf.replaceChildren(h("p", { class: message === "Loading…" ? "muted pad" : "error pad" }, message));
    }
  }

  function closeTrace() {
    traceSeq++;
    $("#trace-pane").hidden = true;
    if (location.hash) history.pushState(null, "", location.pathname + location.search);
  }

  function fromHash() {
    const m = /^#trace=(.*)$/.exec(location.hash);
    if (m) loadTrace(decodeURIComponent(m[1])); else { traceSeq++; $("#trace-pane").hidden = true; }
  }
  window.addEventListener("popstate", fromHash);
  $("#trace-close").addEventListener("click", closeTrace);
  $("#trace-form").addEventListener("submit", (e) => {
    e.preventDefault();
    openTrace($("#trace-input").value);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("#trace-pane").hidden) closeTrace();
  });

  // ---- zoom buttons -----------------------------------------------------------

  $("#zoom-in").addEventListener("click", () => view.zoomBy(1.25));
  $("#zoom-out").addEventListener("click", () => view.zoomBy(0.8));
  $("#zoom-fit").addEventListener("click", () => { view.userMoved = false; view.fit(true); });
  $("#find").addEventListener("change", (e) => {
    const name = e.target.value.trim();
    if (view.nodes.has(name)) select(name, true);
  });
  window.addEventListener("resize", () => { if (!view.userMoved) view.fit(); });

  probe.view = view;
  renderSide();
  fromHash();
  poll();
})();
