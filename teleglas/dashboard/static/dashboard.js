// TELEGLAS dashboard. Every value from the API is outside text (symbols and exchanges come from the stream):
// it reaches the page only as text nodes or attribute values, never as markup. Alert texts are Telegram HTML,
// rebuilt element by element from a small allowlist.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
let liqRange = "5m";
let lastMarket = null;

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined) continue;
    if (key === "class") node.className = value;
    else if (key === "title") node.title = String(value);
    else if (key === "style") node.style.cssText = value; // only ever our own computed widths
    else node.setAttribute(key, String(value));
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

function setText(id, value) { $(id).textContent = value === null || value === undefined ? "–" : String(value); }

function usd(value) {
  if (value === null || value === undefined) return "–";
  const abs = Math.abs(value);
  if (abs >= 1e9) return "$" + (value / 1e9).toFixed(2) + "B";
  if (abs >= 1e6) return "$" + (value / 1e6).toFixed(2) + "M";
  if (abs >= 1e3) return "$" + (value / 1e3).toFixed(1) + "K";
  return "$" + value.toFixed(0);
}

function price(value) {
  if (value === null || value === undefined) return "–";
  return value >= 100 ? value.toLocaleString("en-US", {maximumFractionDigits: 2}) : value.toPrecision(5);
}

function clock(ms) { return ms ? new Date(ms).toLocaleTimeString("en-GB", {hour12: false}) : "–"; }

function seconds(value) {
  if (value === null || value === undefined) return "–";
  return value < 1 ? (value * 1000).toFixed(0) + " ms" : value < 120 ? value.toFixed(1) + " s" : (value / 60).toFixed(1) + " min";
}

function count(value) { return value === null || value === undefined ? "–" : Number(value).toLocaleString("en-US"); }

async function getJSON(path) {
  // location.origin: a page opened as http://user:pass@host/ must not put the credentials into fetch URLs.
  const response = await fetch(new URL(path, location.origin), {cache: "no-store", credentials: "same-origin"});
  if (!response.ok) throw new Error(path + " answered " + response.status);
  return response.json();
}

// -- Telegram HTML, rebuilt safely ----------------------------------------------------------------------

const ALLOWED = {B: "b", STRONG: "b", I: "i", EM: "i", U: "u", INS: "u", S: "s", STRIKE: "s", DEL: "s", CODE: "code", PRE: "pre", BLOCKQUOTE: "blockquote"};

function telegramHtml(text) {
  // DOMParser builds an inert document: nothing in it loads or runs. Only text and allowlisted tags are copied.
  const parsed = new DOMParser().parseFromString("<body>" + text + "</body>", "text/html");
  const out = document.createDocumentFragment();
  copyChildren(parsed.body, out);
  return out;
}

function copyChildren(from, to) {
  for (const node of from.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) { to.append(document.createTextNode(node.nodeValue)); continue; }
    if (node.nodeType !== Node.ELEMENT_NODE) continue;
    let target = to;
    if (ALLOWED[node.tagName]) {
      target = document.createElement(ALLOWED[node.tagName]);
      to.append(target);
    } else if (node.tagName === "A") {
      const href = node.getAttribute("href") || "";
      target = /^https?:\/\//i.test(href) ? el("a", {href: href, rel: "noopener noreferrer", target: "_blank"}) : document.createElement("span");
      to.append(target);
    } else if (node.tagName === "TG-SPOILER" || (node.tagName === "SPAN" && node.classList.contains("tg-spoiler"))) {
      target = el("span", {class: "spoiler"});
      to.append(target);
    }
    copyChildren(node, target);
  }
}

// -- live status ----------------------------------------------------------------------------------------

function renderStatus(s) {
  const redis = $("redis-status");
  redis.dataset.state = s.redis_reachable ? "ok" : "bad";
  redis.textContent = s.redis_reachable ? "Redis up" : "Redis unreachable";
  setText("updated", "updated " + clock(s.at * 1000));
  if (!s.websocket) return;
  const ws = $("ws-status");
  const connected = s.websocket.connected;
  ws.dataset.state = connected ? "ok" : (s.mode === "polling" ? "warn" : "bad");
  ws.textContent = connected ? "WebSocket connected" : "WebSocket disconnected";
  setText("mode", "whales: " + s.mode + (s.mode_reason ? " (" + s.mode_reason + ")" : ""));

  const rates = $("channel-rates");
  rates.replaceChildren(...Object.entries(s.events_per_s).map(([channel, rate]) =>
    el("li", {"data-channel": channel}, el("span", {class: "channel"}, channel), el("b", {}, rate.toFixed(1)))));
  if (!rates.children.length) rates.append(el("li", {class: "muted"}, "no stream"));
  setText("events-evaluated", count(s.events_evaluated));
  setText("evaluated-rate", s.evaluated_per_s.toFixed(1));
  setText("queue-events", count(s.queues.events));
  setText("queue-telegram", count(s.queues.telegram));
  setText("workers-count", s.workers.length);
  setText("workers-age", s.workers.length ? "newest heartbeat " + Math.min(...s.workers.map((w) => w.heartbeat_age_s)).toFixed(1) + " s ago" : "no heartbeat");
  setText("messages-sent", count(s.messages_sent));
  setText("messages-rate", s.messages_per_s.toFixed(2));
  setText("telegram-errors", count(s.telegram_errors));
  $("telegram-errors-detail").replaceChildren(...s.telegram_errors_by_reason.slice(0, 3).map((e) =>
    el("div", {}, e.reason + " (" + e.code + "): " + count(e.count))));
  setText("dead-letters", count(s.dead_letters));
  setText("due-tasks", count(s.due_tasks));
  setText("disabled-count", s.disabled_chats.length);
  $("disabled-chats").replaceChildren(...s.disabled_chats.map((c) => el("div", {"data-chat": String(c.chat_id), class: c.configured ? "bad" : "muted"},
    String(c.chat_id) + (c.configured ? " (alert chat)" : "") + ": " + c.reason)));
  const detail = $("ws-detail");
  detail.replaceChildren(...s.websocket.listeners.map((l) => el("div", {"data-listener": l.id},
    (l.connected ? "● " : "○ ") + l.id + " · last pong " + (l.last_pong_age_s === null ? "never" : l.last_pong_age_s + " s ago") +
    " · reconnects " + l.reconnects + " · up " + seconds(l.uptime_s) + " · frames " + count(l.frames) + " · bad " + count(l.bad_frames))));
  if (!s.websocket.listeners.length) detail.append(el("div", {class: "muted"}, "no listener has reported"));
}

function renderAlerts(data) {
  const body = $("alerts-body");
  body.replaceChildren(...data.alerts.map((a) => el("tr", {"data-kind": a.kind, "data-symbol": a.symbol},
    el("td", {}, clock(a.sent_ms)),
    el("td", {class: "kind kind-" + a.kind.replace(/[^a-z_]/g, "")}, a.kind + (a.form && a.form !== "single" ? " · " + a.form : "")),
    el("td", {class: "symbol"}, a.kind === "digest" ? a.symbols.join(", ") : a.symbol),
    el("td", {class: "side side-" + a.side.replace(/[^A-Z]/g, "")}, a.side),
    el("td", {class: "num"}, usd(a.usd)),
    el("td", {class: "num"}, seconds(a.latency_s)),
    el("td", {class: "muted"}, a.chat_id),
    el("td", {class: "message"}, telegramHtml(a.text)))));
  if (!data.alerts.length) body.append(el("tr", {}, el("td", {colspan: 8, class: "muted"}, "no alert sent yet")));
  setText("alerts-count", data.alerts.length ? "(" + data.alerts.length + ")" : "");
}

// -- market ---------------------------------------------------------------------------------------------

function renderLiquidations(m) {
  const rows = liqRange === "5m" ? m.liquidations_5m : m.liquidations_1h;
  const max = Math.max(1, ...rows.map((r) => r.long_usd + r.short_usd));
  const box = $("liq-bars");
  box.replaceChildren(...rows.map((r) => el("div", {class: "hbar", "data-symbol": r.symbol},
    el("span", {class: "label"}, r.symbol),
    el("span", {class: "bar"},
      el("span", {class: "long", style: "width:" + (100 * r.long_usd / max).toFixed(2) + "%", title: "long " + usd(r.long_usd)}),
      el("span", {class: "short", style: "width:" + (100 * r.short_usd / max).toFixed(2) + "%", title: "short " + usd(r.short_usd)})),
    el("span", {class: "value"}, usd(r.long_usd + r.short_usd) + " · " + r.count))));
  if (!rows.length) box.append(el("div", {class: "muted"}, "no liquidation in this range"));
}

function barChart(box, points, series, label, edges) {
  const width = 720, height = 150, pad = 24;
  const max = Math.max(1, ...points.map((p) => series.reduce((sum, s) => sum + (p[s.key] || 0), 0)));
  const chart = svg("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", class: "bars"});
  const step = (width - pad) / Math.max(1, points.length);
  points.forEach((p, i) => {
    let y = height - pad;
    for (const s of series) {
      const h = (height - 2 * pad) * (p[s.key] || 0) / max;
      if (h <= 0) continue;
      y -= h;
      const rect = svg("rect", {x: pad + i * step, y: y, width: Math.max(1, step - 1), height: h, class: s.cls});
      const tip = svg("title", {});
      tip.textContent = label(p) + " · " + s.name + " " + usd(p[s.key]).replace("$", "");
      rect.append(tip);
      chart.append(rect);
    }
  });
  const top = svg("text", {x: 2, y: 14, class: "axis"});
  top.textContent = series[0].money === false ? String(max) : usd(max);
  chart.append(top);
  if (points.length) {
    const first = svg("text", {x: pad, y: height - 6, class: "axis"});
    first.textContent = edges ? edges[0] : label(points[0]);
    const last = svg("text", {x: width - 60, y: height - 6, class: "axis"});
    last.textContent = edges ? edges[1] : label(points[points.length - 1]);
    chart.append(first, last);
  }
  box.replaceChildren(chart);
}

function renderMarket(m) {
  lastMarket = m;
  renderLiquidations(m);
  barChart($("timeline"), m.timeline, [{key: "long_usd", name: "long", cls: "long"}, {key: "short_usd", name: "short", cls: "short"}],
    (p) => clock(p.t * 1000));
  $("orders-body").replaceChildren(...m.largest_orders_1h.map((o) => el("tr", {"data-symbol": o.symbol},
    el("td", {}, clock(o.time_ms)), el("td", {}, o.kind), el("td", {}, o.exchange), el("td", {class: "symbol"}, o.symbol),
    el("td", {class: "side side-" + o.side.replace(/[^A-Z]/g, "")}, o.side), el("td", {class: "num"}, usd(o.usd)), el("td", {class: "num"}, price(o.price)))));
}

// -- analytics ------------------------------------------------------------------------------------------

function kv(id, entries) {
  $(id).replaceChildren(...entries.map(([key, value]) => el("li", {"data-key": key}, el("span", {}, key), el("b", {}, value))));
  if (!entries.length) $(id).append(el("li", {class: "muted"}, "none yet"));
}

function move(value, pressure) {
  if (value === null || value === undefined) return el("td", {class: "num muted"}, "…");
  const sign = value > 0 ? "+" : "";
  const with_ = pressure !== 0 && value !== 0 && (value > 0) === (pressure > 0);
  return el("td", {class: "num " + (value >= 0 ? "up" : "down")}, sign + value.toFixed(2) + "%" + (with_ ? " ✓" : ""));
}

function renderAnalytics(a) {
  kv("alerts-by-kind", Object.entries(a.alerts.by_kind).map(([k, n]) => [k, count(n)]));
  kv("alerts-by-symbol", a.alerts.by_symbol.map((r) => [r.symbol, count(r.alerts)]));
  const hours = a.alerts.by_hour.map((h) => ({t: h.hour_ms, n: Object.values(h.by_kind).reduce((x, y) => x + y, 0)}));
  barChart($("alerts-by-hour"), hours, [{key: "n", name: "alerts", cls: "alerts", money: false}],
    (p) => new Date(p.t).toLocaleString("en-GB", {weekday: "short", hour: "2-digit", minute: "2-digit"}), ["24 h ago", "now"]);
  const names = {duplicate: "duplicates dropped", cooldown: "folded by cooldown", storm: "folded into storms", digest: "sent inside digests"};
  kv("suppressed", Object.keys(names).map((k) => [names[k], count(a.suppressed[k] || 0)]));
  $("latency-body").replaceChildren(...Object.entries(a.latency_s).map(([form, l]) => el("tr", {"data-form": form},
    el("td", {}, form), el("td", {class: "num"}, count(l.count)), el("td", {class: "num"}, seconds(l.p50)),
    el("td", {class: "num"}, seconds(l.p95)), el("td", {class: "num"}, seconds(l.p99)))));
  kv("moves-summary", Object.entries(a.price_moves.summary).map(([m, s]) => [m + " min",
    s.measured ? count(s.measured) + " measured · mean |move| " + s.mean_abs_pct.toFixed(2) + "%" +
      (s.with_pressure_share === null ? "" : " · ✓ " + (100 * s.with_pressure_share).toFixed(0) + "%") : "waiting"]));
  $("moves-body").replaceChildren(...a.price_moves.alerts.map((r) => el("tr", {"data-symbol": r.symbol},
    el("td", {}, clock(r.event_ms)), el("td", {}, r.kind + (r.form !== "single" ? " · " + r.form : "")), el("td", {class: "symbol"}, r.symbol),
    el("td", {class: "side side-" + r.side.replace(/[^A-Z]/g, "")}, r.side), el("td", {class: "num"}, usd(r.usd)),
    move(r.moves["5"], r.pressure), move(r.moves["15"], r.pressure), move(r.moves["60"], r.pressure))));
}

// -- polling --------------------------------------------------------------------------------------------

function every(ms, path, render) {
  const run = async () => {
    try {
      const data = await getJSON(path);
      if (data && data.at !== undefined) render(data);
      document.body.classList.remove("offline");
    } catch (error) {
      document.body.classList.add("offline");
      $("updated").textContent = "dashboard unreachable";
    }
    setTimeout(run, ms);
  };
  run();
}

function chooseRange(range) {
  liqRange = range;
  $("range-5m").classList.toggle("on", range === "5m");
  $("range-1h").classList.toggle("on", range === "1h");
  if (lastMarket) renderLiquidations(lastMarket);
}

document.addEventListener("DOMContentLoaded", () => {
  $("range-5m").addEventListener("click", () => chooseRange("5m"));
  $("range-1h").addEventListener("click", () => chooseRange("1h"));
  every(500, "/api/status", renderStatus);
  every(1000, "/api/alerts", renderAlerts);
  every(2000, "/api/market", renderMarket);
  every(5000, "/api/analytics", renderAnalytics);
});
