"use strict";
// The service graph: dagre lays it out in layers, left to right; SVG draws
// it. A refresh with the same services and edges only updates labels,
// colours and sizes in place, so the user's zoom, pan and selection stay.

const GraphView = (() => {
  const R_MIN = 11, R_MAX = 22;          // node radius range, by traffic
  const NODE_FONT = "600 12px system-ui, sans-serif";
  const EDGE_FONT = "11px system-ui, sans-serif";
  const LABEL_GAP = 15;                  // circle edge to node label baseline
  const BIG = 300;                       // edges beyond which layout is cheapened
  const LABELS = 0.6;                    // zoom below which edge labels hide
  const NAMES = 0.35;                    // zoom below which service names hide

  const ctx2d = document.createElement("canvas").getContext("2d");
  function textWidth(text, font) {
    ctx2d.font = font;
    return ctx2d.measureText(text).width;
  }

  function short(name) {
    return name.length > 28 ? name.slice(0, 27) + "…" : name;
  }

  // basis draws a B-spline through points, as d3's curveBasis does.
  function basis(pts) {
    const f = (n) => Math.round(n * 10) / 10;
    let d = "M" + f(pts[0].x) + "," + f(pts[0].y);
    if (pts.length < 3) {
      for (let i = 1; i < pts.length; i++) d += "L" + f(pts[i].x) + "," + f(pts[i].y);
      return d;
    }
    let x0 = pts[0].x, y0 = pts[0].y, x1 = pts[1].x, y1 = pts[1].y;
    d += "L" + f((5 * x0 + x1) / 6) + "," + f((5 * y0 + y1) / 6);
    for (let i = 2; i < pts.length; i++) {
      const x = pts[i].x, y = pts[i].y;
      d += "C" + f((2 * x0 + x1) / 3) + "," + f((2 * y0 + y1) / 3) + " " + f((x0 + 2 * x1) / 3) + "," + f((y0 + 2 * y1) / 3) +
        " " + f((x0 + 4 * x1 + x) / 6) + "," + f((y0 + 4 * y1 + y) / 6);
      x0 = x1; y0 = y1; x1 = x; y1 = y;
    }
    d += "C" + f((2 * x0 + x1) / 3) + "," + f((2 * y0 + y1) / 3) + " " + f((x0 + 2 * x1) / 3) + "," + f((y0 + 2 * y1) / 3) + " " + f(x1) + "," + f(y1);
    return d;
  }

  // toward returns the point at distance r from c in the direction of p.
  function toward(c, p, r) {
    const dx = p.x - c.x, dy = p.y - c.y, len = Math.hypot(dx, dy) || 1;
    return { x: c.x + dx / len * r, y: c.y + dy / len * r };
  }

  // quickOrder is dagre's crossing reduction (its customOrder hook) made
  // cheaper for big graphs: a depth-first initial order, then four
  // barycenter sweeps down and up, where dagre sweeps until four in a row
  // bring no gain, counting crossings after each; on 1,000 edges that search
  // is most of the layout's time, for edges hardly shorter.
  function quickOrder(g) {
    const layers = [];
    for (const v of g.nodes()) {
      const r = g.node(v).rank;
      (layers[r] || (layers[r] = [])).push(v);
    }
    const order = Array.from(layers, () => []);
    const pos = new Map(), seen = new Set();
    const walk = (root) => {
      const stack = [root];
      while (stack.length) {
        const v = stack.pop();
        if (seen.has(v)) continue;
        seen.add(v);
        order[g.node(v).rank].push(v);
        const next = g.successors(v);
        for (let i = next.length - 1; i >= 0; i--) if (!seen.has(next[i])) stack.push(next[i]);
      }
    };
    g.nodes().filter((v) => !g.predecessors(v).length).forEach(walk);
    g.nodes().forEach(walk);
    order.forEach((layer) => layer.forEach((v, i) => pos.set(v, i)));
    const sweep = (layer, neighbours) => {
      const bc = new Map();
      for (const v of layer) {
        const ns = neighbours(v);
        let sum = 0;
        for (const n of ns) sum += pos.get(n);
        bc.set(v, ns.length ? sum / ns.length : pos.get(v));
      }
      layer.sort((a, b) => bc.get(a) - bc.get(b) || pos.get(a) - pos.get(b));
      layer.forEach((v, i) => pos.set(v, i));
    };
    for (let i = 0; i < 4; i++) {
      for (let r = 1; r < order.length; r++) sweep(order[r], (v) => g.predecessors(v));
      for (let r = order.length - 2; r >= 0; r--) sweep(order[r], (v) => g.successors(v));
    }
    for (const layer of order) layer.forEach((v, i) => { g.node(v).order = i; });
  }

  class GraphView {
    // svg holds #viewport with #edges, #edge-labels and #nodes groups;
    // onSelect(name or null) is called when the user clicks a service or the background.
    constructor(svg, onSelect) {
      this.svg = svg;
      this.viewport = svg.querySelector("#viewport");
      this.gEdges = svg.querySelector("#edges");
      this.gLabels = svg.querySelector("#edge-labels");
      this.gNodes = svg.querySelector("#nodes");
      this.onSelect = onSelect;
      this.view = { x: 0, y: 0, k: 1 };
      this.userMoved = false;   // once the user zooms or pans, layouts keep the view
      this.key = null;          // identity of the drawn node and edge sets
      this.nodes = new Map();   // name -> {el, ring, halo, center, r, tally}
      this.edges = new Map();   // "src\u0001dst" -> {el, label, points, source, target, data}
      this.size = { w: 0, h: 0 };
      this.selected = null;
      this.labelWidth = Math.ceil(textWidth("99.99 rps · 100% · p95 999 ms", EDGE_FONT)) + 6;
      this.bindPanZoom();
    }

    // update draws the graph: nodes are names, edges carry source, target,
    // request_count, error_count, latency_ms and rps (null before two polls).
    // It returns how long layout and drawing took, in milliseconds.
    update(nodes, edges) {
      const key = nodes.join("\n") + "\u0000" + edges.map((e) => e.source + "\u0001" + e.target).join("\n");
      const t0 = performance.now();
      let relaid = false;
      if (key !== this.key && nodes.length) {
        this.layout(nodes, edges);
        this.key = key;
        relaid = true;
      }
      const t1 = performance.now();
      this.refresh(nodes, edges);
      if (relaid && !this.userMoved) this.fit();
      this.applySelection();
      return { layoutMs: t1 - t0, drawMs: performance.now() - t1, relaid };
    }

    // layout places every node and edge and rebuilds the SVG elements.
    layout(nodes, edges) {
      const big = edges.length > BIG;
      const g = new dagre.graphlib.Graph({ multigraph: false });
      g.setGraph({
        rankdir: "LR", nodesep: big ? 14 : 30, ranksep: big ? 90 : 60, edgesep: 10,
        marginx: 24, marginy: 24, ranker: big ? "tight-tree" : "network-simplex",
      });
      g.setDefaultEdgeLabel(() => ({}));
      const ids = new Map();
      nodes.forEach((name, i) => {
        ids.set(name, "n" + i);
        const w = Math.max(2 * R_MAX, textWidth(short(name), NODE_FONT) + 8);
        g.setNode("n" + i, { width: w, height: 2 * R_MAX + LABEL_GAP + 6 });
      });
      for (const e of edges) {
        // Big graphs place labels at their edge's middle: labels as dagre
        // nodes double the ranks, and the layout time with them.
        g.setEdge(ids.get(e.source), ids.get(e.target),
          big ? {} : { width: this.labelWidth, height: 16, labelpos: "c" });
      }
      dagre.layout(g, big ? { customOrder: quickOrder } : {});
      this.svg.classList.toggle("big", big);
      this.size = { w: g.graph().width || 0, h: g.graph().height || 0 };

      this.gEdges.replaceChildren();
      this.gLabels.replaceChildren();
      this.gNodes.replaceChildren();
      this.nodes.clear();
      this.edges.clear();
      const dn = document.createDocumentFragment(), de = document.createDocumentFragment(), dl = document.createDocumentFragment();
      for (const name of nodes) {
        const p = g.node(ids.get(name));
        const center = { x: p.x, y: p.y - (LABEL_GAP + 6) / 2 };
        const el = s("g", { class: "node", transform: `translate(${center.x.toFixed(1)},${center.y.toFixed(1)})` });
        el.dataset.name = name;
        const halo = s("circle", { class: "halo", r: R_MAX + 6 });
        const ring = s("circle", { class: "ring", r: R_MAX });
        const label = s("text", { class: "node-label", y: R_MAX + LABEL_GAP });
        label.textContent = short(name);
        el.append(halo, ring, label);
        dn.append(el);
        this.nodes.set(name, { el, ring, halo, center, r: R_MAX, tally: null });
      }
      for (const e of edges) {
        const de2 = g.edge(ids.get(e.source), ids.get(e.target));
        const points = de2.points.map((p) => ({ x: p.x, y: p.y }));
        const el = s("path", { class: "edge" });
        el.dataset.key = e.source + "\u0001" + e.target;
        // The label sits on its edge, where dagre kept room for it (small
        // graphs), or at the edge's middle point (big ones).
        const at = de2.x != null ? de2 : points[Math.floor(points.length / 2)];
        const label = s("g", { class: "edge-label", transform: `translate(${at.x.toFixed(1)},${at.y.toFixed(1)})` });
        label.append(s("rect", { y: -8, height: 16, rx: 3 }), s("text", { y: 4 }));
        de.append(el);
        dl.append(label);
        this.edges.set(e.source + "\u0001" + e.target, { el, label, points, source: e.source, target: e.target, data: e });
      }
      this.gEdges.append(de);
      this.gLabels.append(dl);
      this.gNodes.append(dn);
    }

    // refresh updates sizes, colours and labels in place.
    refresh(nodes, edges) {
      const inReq = new Map(), inErr = new Map(), outReq = new Map();
      let maxEdge = 1;
      for (const e of edges) {
        inReq.set(e.target, (inReq.get(e.target) || 0) + e.request_count);
        inErr.set(e.target, (inErr.get(e.target) || 0) + (e.error_count || 0));
        outReq.set(e.source, (outReq.get(e.source) || 0) + e.request_count);
        maxEdge = Math.max(maxEdge, e.request_count);
      }
      const traffic = (n) => Math.max(inReq.get(n) || 0, outReq.get(n) || 0);
      let maxNode = 1;
      for (const n of nodes) maxNode = Math.max(maxNode, traffic(n));
      for (const name of nodes) {
        const n = this.nodes.get(name);
        const t = traffic(name);
        n.r = R_MIN + (R_MAX - R_MIN) * Math.sqrt(t / maxNode);
        n.ring.setAttribute("r", n.r.toFixed(1));
        n.halo.setAttribute("r", (n.r + 6).toFixed(1));
        const req = inReq.get(name) || 0, err = inErr.get(name) || 0;
        n.el.setAttribute("class", "node " + (req ? health(req, err) : "root"));
        n.tally = { req, err, out: outReq.get(name) || 0 };
      }
      for (const e of edges) {
        const d = this.edges.get(e.source + "\u0001" + e.target);
        const src = this.nodes.get(e.source), dst = this.nodes.get(e.target);
        const pts = d.points.slice();
        if (e.source !== e.target && pts.length >= 2) {
          pts[0] = toward(src.center, pts[1], src.r + 1);
          pts[pts.length - 1] = toward(dst.center, pts[pts.length - 2], dst.r + 2);
        }
        d.el.setAttribute("d", basis(pts));
        const hl = health(e.request_count, e.error_count || 0);
        d.el.setAttribute("class", "edge " + hl);
        d.el.setAttribute("marker-end", `url(#arrow-${hl})`);
        d.el.setAttribute("stroke-width", (1.2 + 2.3 * Math.sqrt(e.request_count / maxEdge)).toFixed(2));
        d.label.setAttribute("class", "edge-label " + hl);
        const lat = e.latency_ms || {};
        const ratio = e.request_count ? (e.error_count || 0) / e.request_count : 0;
        // The rate once two polls tell it; the count while there is none.
        const volume = e.rps > 0 ? fmt.rate(e.rps) : fmt.count(e.request_count) + " req";
        const text = `${volume} · ${fmt.pct(ratio)} · p95 ${fmt.ms(lat.p95)}`;
        if (d.label.lastChild.textContent !== text) {
          d.label.lastChild.textContent = text;
          const w = Math.ceil(textWidth(text, EDGE_FONT)) + 8;
          d.label.firstChild.setAttribute("x", -w / 2);
          d.label.firstChild.setAttribute("width", w);
        }
        d.data = e;
      }
    }

    // select marks a service (or none) and dims what is not connected to it.
    select(name) {
      this.selected = name;
      this.applySelection();
    }

    applySelection() {
      const sel = this.nodes.has(this.selected) ? this.selected : null;
      this.svg.classList.toggle("has-sel", sel != null);
      for (const [name, n] of this.nodes) {
        n.el.classList.toggle("selected", name === sel);
        n.el.classList.remove("near");
      }
      for (const d of this.edges.values()) {
        const near = sel != null && (d.source === sel || d.target === sel);
        d.el.classList.toggle("near", near);
        d.label.classList.toggle("near", near);
        if (near) {
          this.nodes.get(d.source).el.classList.add("near");
          this.nodes.get(d.target).el.classList.add("near");
        }
      }
    }

    // fit zooms and pans so the whole graph shows. Unless all, a graph too
    // big to read whole is shown from its top, as wide as fits at a zoom
    // where labels are legible: a mesh of many services is a tall column
    // of layers, read by panning down.
    fit(all) {
      const w = this.svg.clientWidth, hgt = this.svg.clientHeight;
      if (!(this.size.w > 0 && this.size.h > 0 && w > 0 && hgt > 0)) return;
      const kw = (w - 24) / this.size.w, kh = (hgt - 24) / this.size.h;
      let k = Math.max(0.02, Math.min(kw, kh, 1.4));
      let x = (w - this.size.w * k) / 2, y = (hgt - this.size.h * k) / 2;
      if (!all && k < LABELS) {
        k = Math.min(Math.max(kw, LABELS), 1);
        x = Math.max(12, (w - this.size.w * k) / 2);
        y = 12;
      }
      this.view = { k, x, y };
      this.apply();
    }

    // reveal pans to a service when it is out of sight.
    reveal(name) {
      const n = this.nodes.get(name);
      if (!n) return;
      const v = this.view, w = this.svg.clientWidth, hgt = this.svg.clientHeight;
      const x = v.x + n.center.x * v.k, y = v.y + n.center.y * v.k;
      if (x > 40 && x < w - 40 && y > 40 && y < hgt - 40) return;
      this.view = { k: v.k, x: w / 2 - n.center.x * v.k, y: hgt / 2 - n.center.y * v.k };
      this.userMoved = true;
      this.apply();
    }

    zoomBy(f, px, py) {
      const v = this.view;
      const k = Math.max(0.05, Math.min(4, v.k * f));
      if (px == null) { px = this.svg.clientWidth / 2; py = this.svg.clientHeight / 2; }
      this.view = { k, x: px - (px - v.x) * (k / v.k), y: py - (py - v.y) * (k / v.k) };
      this.userMoved = true;
      this.apply();
    }

    apply() {
      const v = this.view;
      this.viewport.setAttribute("transform", `translate(${v.x.toFixed(2)},${v.y.toFixed(2)}) scale(${v.k.toFixed(4)})`);
      // Semantic zoom: labels go when they would be too small to read.
      this.svg.classList.toggle("far", v.k < LABELS);
      this.svg.classList.toggle("very-far", v.k < NAMES);
    }

    // tooltip returns the hover text of a node or an edge element, built
    // when the pointer comes (not for every element at every refresh).
    tooltip(el) {
      if (el.classList.contains("node")) {
        const name = el.dataset.name, t = this.nodes.get(name).tally;
        return `${name}\nin: ${fmt.count(t.req)} requests, ${fmt.count(t.err)} 5xx (${fmt.pct(t.req ? t.err / t.req : 0)})\nout: ${fmt.count(t.out)} requests`;
      }
      const e = this.edges.get(el.dataset.key).data, lat = e.latency_ms || {};
      const ratio = e.request_count ? (e.error_count || 0) / e.request_count : 0;
      return `${e.source} → ${e.target}\n${fmt.count(e.request_count)} requests` +
        (e.rps > 0 ? ` (${fmt.rate(e.rps)} now)` : "") +
        `, ${fmt.count(e.error_count || 0)} 5xx (${fmt.pct(ratio)})\np50 ${fmt.ms(lat.p50)} · p95 ${fmt.ms(lat.p95)} · p99 ${fmt.ms(lat.p99)} · max ${fmt.ms(lat.max)}`;
    }

    bindPanZoom() {
      const svg = this.svg;
      svg.addEventListener("pointerover", (e) => {
        const el = e.target.closest(".node, .edge");
        if (!el) return;
        let title = el.querySelector(":scope > title");
        if (!title) el.prepend(title = s("title"));
        title.textContent = this.tooltip(el);
      });
      svg.addEventListener("wheel", (e) => {
        e.preventDefault();
        const r = svg.getBoundingClientRect();
        this.zoomBy(Math.exp(-e.deltaY * (e.deltaMode ? 0.05 : 0.0015)), e.clientX - r.left, e.clientY - r.top);
      }, { passive: false });
      let drag = null, dragged = false;
      svg.addEventListener("pointerdown", (e) => {
        if (e.button !== 0) return;
        drag = { id: e.pointerId, x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y, moved: false };
        dragged = false;
      });
      svg.addEventListener("pointermove", (e) => {
        if (!drag || e.pointerId !== drag.id) return;
        const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
        if (!drag.moved) {
          if (Math.hypot(dx, dy) < 4) return;
          drag.moved = true;
          // Capture only once it is a drag, so a click still targets its node.
          svg.setPointerCapture(e.pointerId);
          svg.classList.add("panning");
        }
        this.view = { k: this.view.k, x: drag.vx + dx, y: drag.vy + dy };
        this.userMoved = true;
        this.apply();
      });
      const end = () => {
        if (drag) dragged = drag.moved;
        drag = null;
        svg.classList.remove("panning");
      };
      svg.addEventListener("pointerup", end);
      svg.addEventListener("pointercancel", end);
      svg.addEventListener("click", (e) => {
        if (dragged) { dragged = false; return; }
        const n = e.target.closest(".node");
        this.onSelect(n ? n.dataset.name : null);
      });
    }
  }
  return GraphView;
})();
