"use strict";
// Formatting and DOM helpers shared by the graph, the trace view and the page.

const fmt = {
  // rate formats requests per second.
  rate(r) {
    if (r >= 100) return r.toFixed(0) + " rps";
    if (r >= 10) return r.toFixed(1) + " rps";
    return r.toFixed(2) + " rps";
  },
  // count formats an integer with thousands separators.
  count(n) { return Number(n).toLocaleString("en-US"); },
  // pct formats a ratio (0..1) as a percentage.
  pct(x) {
    if (!x) return "0%";
    if (x < 0.001) return "<0.1%";
    return (x * 100).toFixed(x < 0.1 ? 1 : 0) + "%";
  },
  // ms formats a duration in milliseconds.
  ms(v) {
    if (v == null || isNaN(v)) return "–";
    if (v >= 1000) return (v / 1000).toFixed(v >= 10000 ? 1 : 2) + " s";
    if (v >= 100) return v.toFixed(0) + " ms";
    if (v >= 10) return v.toFixed(1) + " ms";
    return v.toFixed(2) + " ms";
  },
  // time formats a Date as HH:MM:SS.mmm (local time).
  time(d) {
    const p = (n, w) => String(n).padStart(w, "0");
    return p(d.getHours(), 2) + ":" + p(d.getMinutes(), 2) + ":" + p(d.getSeconds(), 2) + "." + p(d.getMilliseconds(), 3);
  },
};

// health classifies a 5xx ratio as Kiali does by default: any error is
// degraded, 10% or more is failure; without requests there is no health.
function health(requests, errors) {
  if (!requests) return "idle";
  const r = errors / requests;
  if (r >= 0.1) return "bad";
  if (r > 0) return "warn";
  return "ok";
}

// statusClass returns "s2".."s5" for an HTTP status, for colouring.
function statusClass(code) { return "s" + Math.floor(code / 100); }

// parseTime parses an RFC 3339 time with up to nanoseconds into fractional
// milliseconds since the epoch (Date.parse keeps only milliseconds).
function parseTime(s) {
  const m = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return Date.parse(s);
  const frac = m[2] ? Number("0." + m[2]) * 1000 : 0;
  return Date.parse(m[1] + m[3]) + frac;
}

// h builds an element: h("td", {class: "num"}, "text", child, ...).
// Strings become text nodes, so no markup is ever parsed from data.
function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

const SVG_NS = "http://www.w3.org/2000/svg";

// s builds an SVG element with attributes.
function s(tag, attrs) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

// serviceColor gives each service a stable colour (trace view).
const serviceColor = (() => {
  const palette = ["#0066cc", "#009596", "#5752d1", "#ec7a08", "#3e8635", "#8476d1",
    "#c58c00", "#a30000", "#004b95", "#4cb140", "#f4b678", "#73c5c5"];
  const seen = new Map();
  return (name) => {
    if (!seen.has(name)) {
      let x = 0;
      for (const ch of name) x = (x * 31 + ch.codePointAt(0)) >>> 0;
      seen.set(name, palette[x % palette.length]);
    }
    return seen.get(name);
  };
})();
