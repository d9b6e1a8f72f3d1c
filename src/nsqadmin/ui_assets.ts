/**
 * The UI's only assets, inlined into every page (no CDN, no request of their own, STYLE §9): the
 * stylesheet, a favicon as a data URL, and the client script.
 *
 * The script does three things, and a page works without it (figures are in the HTML):
 * - actions: a button with `data-method` opens a confirmation dialog, then calls the JSON API;
 * - live refresh: on a page whose `<body>` has `data-refresh="<ms>"`, it fetches the page again
 *   (which nsqadmin renders from fresh nsqd `/stats`) and swaps `<main>`, unless a dialog is open;
 * - charts: every element with `data-chart` carries the figures of that render (`data-at` ms,
 *   `data-counters` and `data-gauges` as JSON); the script keeps the last samples per chart, turns
 *   successive counters into rates (messages per second) and draws rates and gauges as SVG lines.
 */

/** The stylesheet: readable from a phone up (tables scroll sideways inside their box). */
export const UI_STYLE = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2733;background:#f6f7f9}
nav{background:#1f2d3d;padding:.55em 1em;display:flex;flex-wrap:wrap;gap:.3em 1.2em;align-items:center}
nav a{color:#fff;text-decoration:none;font-weight:500}nav a.current{border-bottom:2px solid #5dade2}
nav .brand{color:#5dade2;font-weight:700}nav .version{margin-left:auto;color:#9fb0c2;font-size:.85em}
#live{color:#9fb0c2;font-size:.85em}#live.on::before{content:"\\25CF ";color:#2ecc71}
main{padding:1em 1.5em;max-width:1400px}
h2{margin:.3em 0 .6em;font-size:1.35em;word-break:break-all}h3{margin:1.2em 0 .4em;font-size:1.1em}
a{color:#1f6fb2}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.4em 0 1.2em;background:#fff;border:1px solid #dde2e8;border-radius:4px}
table{border-collapse:collapse;width:100%}
th,td{padding:.35em .7em;text-align:right;white-space:nowrap;border-bottom:1px solid #eceff3}
th{background:#eef1f5;font-weight:600;font-size:.9em}
th:first-child,td:first-child,td.text,th.text{text-align:left}
tr.total td{font-weight:700;background:#f8f9fb}tr.sub td:first-child{padding-left:1.8em}
.warning{background:#fcf8e3;border:1px solid #e5d08c;padding:.6em 1em;margin-bottom:1em;white-space:pre-wrap}
.error{background:#f2dede;border:1px solid #d9a5a5;padding:.6em 1em;margin-bottom:1em;white-space:pre-wrap}
.label{display:inline-block;border-radius:3px;padding:0 .45em;font-size:.8em;margin:0 .3em 0 0;background:#dfe6ee}
.label.paused{background:#e67e22;color:#fff}.label.tombstoned{background:#c0392b;color:#fff}
.label.outdated{background:#f1c40f}
tr.outdated td{background:#fff8d6}
.actions{display:flex;flex-wrap:wrap;gap:.5em;margin:.4em 0 1em}
button{font:inherit;padding:.35em .9em;border:1px solid #b8c2cc;border-radius:4px;background:#fff;cursor:pointer}
button.danger{border-color:#c0392b;color:#c0392b}button.x{padding:0 .45em;color:#c0392b;border-color:#e3b3ad}
dialog{border:1px solid #b8c2cc;border-radius:6px;max-width:min(30em,90vw)}dialog::backdrop{background:#0005}
dialog .buttons{display:flex;justify-content:flex-end;gap:.5em}
form.create{display:flex;flex-wrap:wrap;gap:.5em;align-items:center}
input{font:inherit;padding:.3em .5em;border:1px solid #b8c2cc;border-radius:4px}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin-bottom:1em}
.card{background:#fff;border:1px solid #dde2e8;border-radius:4px;padding:.5em .9em;min-width:9em}
.card b{display:block;font-size:1.4em}
.counter{font-size:clamp(2.5em,12vw,6em);font-weight:700;text-align:center;margin:.3em 0 0;font-variant-numeric:tabular-nums}
.chart{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:.8em;margin:0 0 1em}
.panel{background:#fff;border:1px solid #dde2e8;border-radius:4px;padding:.4em .6em}
.panel .title{font-size:.85em;color:#5b6b7b}
.panel svg{width:100%;height:90px;display:block}
.legend{font-size:.8em;display:flex;flex-wrap:wrap;gap:.2em .9em}
.legend i{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.25em;vertical-align:-.05em}
.chart.spark{display:block;margin:0;width:120px}.chart.spark svg{width:120px;height:22px;display:block}
ul.tree{list-style:none;padding-left:0}ul.tree ul{list-style:none;padding-left:1.5em}
@media (max-width:600px){main{padding:.6em}th,td{padding:.3em .45em}}
`;

/** A one-glyph SVG icon, so the browser asks nsqadmin for no favicon. */
export const UI_FAVICON = "data:image/svg+xml," +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" ' +
      'fill="#1f2d3d"/><path d="M3 12V4l5 8V4m2 8h3" stroke="#5dade2" stroke-width="2" fill="none"/></svg>',
  );

/** The client script (plain ES2020, run as is by every current browser). */
export const UI_SCRIPT = `
(() => {
  const dialog = document.getElementById("confirm");
  let pending = null;
  const flash = (text, isError) => {
    const main = document.querySelector("main");
    const div = document.createElement("div");
    div.className = (isError ? "error" : "warning") + " flash";
    div.textContent = text;
    main.prepend(div);
  };
  const saved = sessionStorage.getItem("nsqadmin-flash");
  if (saved) { sessionStorage.removeItem("nsqadmin-flash"); flash(saved, false); }

  async function send(url, method, body, next) {
    let res;
    try {
      res = await fetch(url, { method, body: body || undefined,
        headers: { "Content-Type": "application/json", Accept: "application/vnd.nsq; version=1.0" } });
    } catch (err) { flash(String(err), true); return; }
    const msg = (await res.json().catch(() => ({}))).message || "";
    if (!res.ok) { flash(msg || "HTTP " + res.status, true); return; }
    if (msg) sessionStorage.setItem("nsqadmin-flash", msg);
    location.href = next || location.href;
  }

  document.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-method]");
    if (!b) return;
    pending = b;
    dialog.querySelector(".question").textContent = b.dataset.confirm;
    dialog.returnValue = "";
    dialog.showModal();
  });
  dialog.addEventListener("close", () => {
    const b = pending;
    pending = null;
    if (b && dialog.returnValue === "ok") send(b.dataset.url, b.dataset.method, b.dataset.body, b.dataset.next);
  });
  document.addEventListener("submit", (e) => {
    const f = e.target.closest("form[data-url]");
    if (!f) return;
    e.preventDefault();
    const body = {};
    for (const [k, v] of new FormData(f)) if (v !== "") body[k] = String(v).trim();
    send(f.dataset.url, "POST", JSON.stringify(body), f.dataset.next);
  });

  // ---- charts ----
  const KEEP = 60;
  const COLORS = ["#2980b9", "#27ae60", "#e67e22", "#8e44ad", "#c0392b", "#16a085", "#d35400", "#7f8c8d"];
  // Kept in sessionStorage, so a chart goes on across reloads (after an action, say).
  const STORE = "nsqadmin-charts";
  const history = new Map(Object.entries(JSON.parse(sessionStorage.getItem(STORE) || "{}")));
  const save = () => { try { sessionStorage.setItem(STORE, JSON.stringify(Object.fromEntries(history))); } catch {} };
  const fmt = (v) => Number.isInteger(v) || v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => "&#" + c.charCodeAt(0) + ";");

  function lines(series, w, h) {
    let max = 1;
    for (const s of series) for (const v of s.values) if (v > max) max = v;
    const step = w / (KEEP - 1);
    let out = '<line x1="0" y1="' + (h - 0.5) + '" x2="' + w + '" y2="' + (h - 0.5) + '" stroke="#ccd3da"/>';
    series.forEach((s, i) => {
      const off = KEEP - s.values.length;
      const pts = s.values.map((v, j) => ((off + j) * step).toFixed(1) + "," + (h - 2 - (v / max) * (h - 6)).toFixed(1));
      if (pts.length === 1) pts.unshift((off - 1) * step + "," + pts[0].split(",")[1]);
      out += '<polyline fill="none" stroke-width="1.6" stroke="' + COLORS[i % COLORS.length] + '" data-series="' +
        esc(s.name) + '" points="' + pts.join(" ") + '"/>';
    });
    return { svg: out, max };
  }

  function panel(title, series, unit) {
    const { svg, max } = lines(series, 300, 90);
    const legend = series.map((s, i) => '<span><i style="background:' + COLORS[i % COLORS.length] + '"></i>' +
      esc(s.name) + " <b>" + fmt(s.values[s.values.length - 1] || 0) + "</b>" + unit + "</span>").join("");
    return '<div class="panel"><div class="title">' + esc(title) + " (max " + fmt(max) + unit + ')</div>' +
      '<svg viewBox="0 0 300 90" preserveAspectRatio="none" role="img" aria-label="' + esc(title) + '">' + svg +
      '</svg><div class="legend">' + legend + "</div></div>";
  }

  function draw(el) {
    const key = el.dataset.chart;
    const h = history.get(key) || [];
    const rates = {};
    const rateSeries = Object.keys(h.length ? h[h.length - 1].c : {}).map((name) => {
      const values = [];
      for (let i = 1; i < h.length; i++) {
        const dt = (h[i].t - h[i - 1].t) / 1000;
        const d = (h[i].c[name] ?? 0) - (h[i - 1].c[name] ?? 0);
        values.push(dt > 0 && d > 0 ? d / dt : 0);
      }
      rates[name] = values.length ? values[values.length - 1] : 0;
      return { name, values };
    });
    el.dataset.rates = JSON.stringify(rates);
    el.dataset.samples = String(h.length);
    if (el.classList.contains("spark")) {
      el.innerHTML = '<svg viewBox="0 0 300 60" preserveAspectRatio="none">' + lines(rateSeries.slice(0, 1), 300, 60).svg +
        "</svg>";
      el.title = rateSeries.length ? fmt(rates[rateSeries[0].name]) + " msg/s" : "";
      return;
    }
    const gaugeSeries = Object.keys(h.length ? h[h.length - 1].g : {}).map((name) =>
      ({ name, values: h.map((s) => s.g[name] ?? 0) })
    );
    el.innerHTML = panel("rate", rateSeries, "/s") + (gaugeSeries.length ? panel("depth", gaugeSeries, "") : "");
  }

  function sample() {
    for (const el of document.querySelectorAll("[data-chart]")) {
      const key = el.dataset.chart;
      const h = history.get(key) || [];
      const t = Number(el.dataset.at);
      if (!h.length || h[h.length - 1].t < t) {
        h.push({ t, c: JSON.parse(el.dataset.counters || "{}"), g: JSON.parse(el.dataset.gauges || "{}") });
        if (h.length > KEEP) h.shift();
      }
      if (h.length > 1 && t - h[h.length - 2].t > 30000) h.splice(0, h.length - 1); // a gap: start again
      history.set(key, h);
      draw(el);
    }
    save();
  }

  // ---- live refresh ----
  const every = Number(document.body.dataset.refresh || 0);
  const liveEl = document.getElementById("live");
  let busy = false;
  async function refresh() {
    if (busy || document.hidden || dialog.open) return;
    busy = true;
    try {
      const res = await fetch(location.href, { headers: { "X-Nsqadmin-Refresh": "1" } });
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      const next = doc.querySelector("main");
      const flashes = [...document.querySelectorAll("main > .flash")];
      if (next) document.querySelector("main").replaceWith(next);
      flashes.forEach((f) => next.prepend(f));
      sample();
      liveEl.className = "on";
      liveEl.textContent = "live " + new Date().toLocaleTimeString();
    } catch {
      liveEl.className = "";
      liveEl.textContent = "offline";
    } finally {
      busy = false;
    }
  }
  sample();
  if (every > 0) {
    liveEl.className = "on";
    liveEl.textContent = "live";
    setInterval(refresh, every);
  }
})();
`;
