"use strict";
// The trace view: one trace's spans as a waterfall, as Jaeger draws it.
// Bars are offset by start and sized by duration on the trace's time axis,
// rows are indented under their parent and coloured by service, and error
// spans (HTTP status >= 500) are marked. A row opens the span's details.

const TraceView = (() => {
  // order returns the spans depth-first from the roots (spans whose parent
  // the trace does not hold), children by start time, each with its depth.
  function order(spans) {
    const byId = new Map(spans.map((sp) => [sp.span_id, sp]));
    const kids = new Map();
    const roots = [];
    for (const sp of spans) {
      if (sp.parent_span_id && byId.has(sp.parent_span_id) && sp.parent_span_id !== sp.span_id) {
        if (!kids.has(sp.parent_span_id)) kids.set(sp.parent_span_id, []);
        kids.get(sp.parent_span_id).push(sp);
      } else {
        roots.push(sp);
      }
    }
    const byStart = (a, b) => a._start - b._start;
    const out = [];
    const seen = new Set();
    const walk = (sp, depth) => {
      if (seen.has(sp.span_id)) return; // a cycle in bad data must not hang the page
      seen.add(sp.span_id);
      out.push({ span: sp, depth });
      for (const c of (kids.get(sp.span_id) || []).sort(byStart)) walk(c, depth + 1);
    };
    roots.sort(byStart).forEach((r) => walk(r, 0));
    return out;
  }

  // ticks returns the time axis' marks: round steps (1, 2, 2.5 or 5 times
  // a power of ten), about four of them.
  function ticks(total) {
    const raw = total / 4, p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((st) => st >= raw);
    const out = [];
    for (let i = 0; i * step <= total * (1 + 1e-9); i++) out.push({ f: i * step / total, label: i ? fmt.ms(i * step) : "0" });
    return out;
  }

  // render draws trace (the /api/traces reply) into container and returns
  // a one-line summary.
  function render(container, trace) {
    const spans = trace.spans.map((sp) => Object.assign({}, sp, { _start: parseTime(sp.start) }));
    container.replaceChildren();
    if (!spans.length) {
      container.append(h("p", { class: "muted pad" }, "This trace holds no spans."));
      return "no spans";
    }
    const t0 = Math.min(...spans.map((sp) => sp._start));
    const t1 = Math.max(...spans.map((sp) => sp._start + sp.duration_ms));
    const total = Math.max(t1 - t0, 0.001);
    const services = [...new Set(spans.map((sp) => sp.service))];

    const axis = h("div", { class: "wf-row wf-axis" },
      h("div", { class: "wf-name" }, "Service · operation"),
      h("div", { class: "wf-time" }, ticks(total).map((t) => {
        const tick = h("span", { class: t.f > 0.92 ? "tick end" : "tick" }, t.label);
        tick.style.left = (t.f * 100) + "%";
        return tick;
      })));
    container.append(axis);

    for (const { span: sp, depth } of order(spans)) {
      const err = sp.status >= 500;
      const color = serviceColor(sp.service);
      const left = (sp._start - t0) / total * 100;
      const width = Math.max(sp.duration_ms / total * 100, 0.3);
      const chip = h("i", { class: "chip" });
      chip.style.background = color;
      const name = h("div", { class: "wf-name", title: `${sp.service} · ${sp.operation}` },
        chip, h("b", {}, sp.service), " ", h("span", { class: "op" }, sp.operation),
        err ? h("span", { class: "err-mark", title: `HTTP ${sp.status}` }, "!") : null);
      name.style.paddingLeft = (8 + depth * 14) + "px";
      const bar = h("div", { class: "wf-bar" + (err ? " err" : "") });
      bar.style.left = left + "%";
      bar.style.width = width + "%";
      bar.style.background = color;
      const dur = h("span", { class: "dur" }, fmt.ms(sp.duration_ms));
      dur.style.left = (left + width) + "%"; // the column keeps room for it at 100%
      const row = h("div", { class: "wf-row span" + (err ? " err" : ""), tabindex: "0", "data-span": sp.span_id },
        name, h("div", { class: "wf-time" }, bar, dur));
      const detail = details(sp, t0);
      detail.hidden = true;
      const toggle = () => { detail.hidden = !detail.hidden; row.classList.toggle("open", !detail.hidden); };
      row.addEventListener("click", toggle);
      row.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
      container.append(row, detail);
    }
    return `${spans.length} span${spans.length === 1 ? "" : "s"} · ${services.length} service${services.length === 1 ? "" : "s"} (${services.join(", ")}) · ${fmt.ms(total)} · started ${fmt.time(new Date(t0))}`;
  }

  function details(sp, t0) {
    const rows = [
      ["span_id", sp.span_id], ["parent_span_id", sp.parent_span_id || "(root)"], ["kind", sp.kind],
      ["start", `${sp.start} (+${fmt.ms(sp._start - t0)})`], ["duration", fmt.ms(sp.duration_ms)],
      ["status", sp.status || "–"],
    ];
    for (const [k, v] of Object.entries(sp.attributes || {})) rows.push([k, typeof v === "string" ? v : JSON.stringify(v)]);
    return h("div", { class: "wf-detail" }, h("table", {}, rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, String(v))))));
  }

  return { render };
})();
