"""``/dashboard``: one self-contained page that reads ``/stats`` and draws it.

No script, font or style comes from anywhere but this response (the page
works offline and leaks nothing to a CDN). When the proxy has API keys, open
``/dashboard#key=YOUR_KEY``: the fragment never leaves the browser, and the
page sends the key to ``/stats`` itself, so each tenant sees its own figures.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

__all__ = ["DASHBOARD_HTML", "dashboard_routes"]

DASHBOARD_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Headroom dashboard</title>
<style>
 body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
 header{background:#1d2330;color:#fff;padding:12px 24px;display:flex;gap:16px;align-items:baseline}
 header h1{font-size:18px;margin:0} header span{opacity:.7}
 main{padding:16px 24px;max-width:1100px}
 .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px}
 .card{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 2px #0002}
 .card b{display:block;font-size:24px} .card small{color:#667}
 h2{font-size:15px;margin:24px 0 8px}
 table{border-collapse:collapse;width:100%;background:#fff;border-radius:8px;overflow:hidden}
 th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eef} th{background:#eef1f6}
 td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
 #error{color:#b00020} svg{background:#fff;border-radius:8px;width:100%;height:140px}
</style></head><body>
<header><h1>Headroom</h1><span id="updated">loading…</span></header>
<main>
<p id="error"></p>
<div class="cards">
 <div class="card"><small>requests proxied</small><b id="requests">–</b><small id="requests-detail"></small></div>
 <div class="card"><small>tokens saved</small><b id="tokens-saved">–</b><small id="savings-percent"></small></div>
 <div class="card"><small>spend (USD)</small><b id="cost">–</b><small id="budget"></small></div>
 <div class="card"><small>saved (USD)</small><b id="savings-usd">–</b><small>at each model's input price</small></div>
 <div class="card"><small>originals retrieved</small><b id="retrievals">–</b><small id="cache"></small></div>
</div>
<h2>Tokens per minute: sent before (grey) and after (green) compression</h2>
<svg id="chart" viewBox="0 0 600 140" preserveAspectRatio="none"></svg>
<h2>Per model</h2>
<table><thead><tr><th>model</th><th class="n">requests</th><th class="n">tokens before</th>
<th class="n">after</th><th class="n">saved</th><th class="n">cost USD</th><th class="n">saved USD</th></tr></thead>
<tbody id="models"></tbody></table>
<h2>Recent requests</h2>
<table><thead><tr><th>time</th><th>route</th><th>model</th><th class="n">status</th>
<th class="n">before</th><th class="n">after</th><th class="n">retrievals</th><th class="n">ms</th></tr></thead>
<tbody id="recent"></tbody></table>
</main>
<script>
"use strict";
const key = new URLSearchParams(location.hash.slice(1)).get("key");
const fmt = n => Number(n).toLocaleString("en-US");
const usd = n => "$" + Number(n).toFixed(4);
const el = id => document.getElementById(id);
function cell(text, numeric) {
  const td = document.createElement("td");
  td.textContent = text;
  if (numeric) td.className = "n";
  return td;
}
function rows(id, items, columns) {
  const body = el(id);
  body.replaceChildren(...items.map(item => {
    const tr = document.createElement("tr");
    columns.forEach(([get, numeric]) => tr.appendChild(cell(get(item), numeric)));
    return tr;
  }));
}
function chart(points) {
  const svg = el("chart");
  const max = Math.max(1, ...points.map(p => p.tokens_before));
  const step = 600 / Math.max(1, points.length);
  const bars = points.map((p, i) => {
    const hb = 130 * p.tokens_before / max, ha = 130 * p.tokens_after / max;
    const x = (i * step).toFixed(1), w = Math.max(1, step - 2).toFixed(1);
    return `<rect x="${x}" y="${135 - hb}" width="${w}" height="${hb}" fill="#c9ced8"/>` +
           `<rect x="${x}" y="${135 - ha}" width="${w}" height="${ha}" fill="#2e9e5b"/>`;
  });
  svg.innerHTML = bars.join("");
}
function show(s) {
  const r = s.requests, t = s.tokens, c = s.cost || {};
  el("requests").textContent = fmt(r.proxy);
  el("requests-detail").textContent =
    `${fmt(r.compress)} /v1/compress · ${fmt(r.failed)} failed · ${fmt(r.bypassed)} bypassed · ${fmt(r.cached || 0)} cached`;
  el("tokens-saved").textContent = fmt(t.saved);
  el("savings-percent").textContent = `${t.savings_percent}% of ${fmt(t.before)}`;
  el("cost").textContent = usd(c.total_cost_usd || 0);
  el("budget").textContent = c.budget ? `of ${usd(c.budget.budget_usd)} budget` : "no budget set";
  el("savings-usd").textContent = usd(c.total_savings_usd || 0);
  el("retrievals").textContent = fmt(s.ccr.hits + s.ccr.misses + s.ccr.retrieve_calls_answered);
  el("cache").textContent = s.cache && s.cache.enabled
    ? `response cache: ${fmt(s.cache.entries)} entries, ${fmt(s.cache.total_hits)} hits`
    : "response cache off";
  rows("models", Object.entries(s.models || {}), [
    [e => e[0]], [e => fmt(e[1].requests), 1], [e => fmt(e[1].tokens_before), 1],
    [e => fmt(e[1].tokens_after), 1], [e => fmt(e[1].tokens_saved), 1],
    [e => usd(e[1].total_cost_usd), 1], [e => usd(e[1].total_savings_usd), 1]]);
  rows("recent", s.recent || [], [
    [r => new Date(r.time * 1000).toLocaleTimeString()], [r => r.route], [r => r.model || "–"],
    [r => r.status, 1], [r => fmt(r.tokens_before), 1], [r => fmt(r.tokens_after), 1],
    [r => r.retrievals, 1], [r => r.latency_ms, 1]]);
  chart(s.timeline || []);
  el("updated").textContent = "updated " + new Date().toLocaleTimeString();
  el("error").textContent = "";
  document.body.dataset.loaded = "true";
}
async function refresh() {
  try {
    const res = await fetch("/stats", {headers: key ? {Authorization: "Bearer " + key} : {}});
    if (!res.ok) throw new Error(`/stats answered ${res.status}` +
      (res.status === 401 ? ": open /dashboard#key=YOUR_KEY" : ""));
    show(await res.json());
  } catch (err) {
    el("error").textContent = String(err.message || err);
  }
}
refresh();
setInterval(refresh, 5000);
</script></body></html>
"""


async def dashboard(request: Request) -> HTMLResponse:
    """The page; its figures come from ``/stats`` (which checks the key)."""
    return HTMLResponse(
        DASHBOARD_HTML,
        headers={
            # Nothing but this page's own inline code and same-origin fetches.
            "content-security-policy": (
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                "connect-src 'self'; img-src 'self' data:"
            ),
            "cache-control": "no-store",
        },
    )


def dashboard_routes() -> list[Route]:
    return [Route("/dashboard", dashboard, methods=["GET"])]
