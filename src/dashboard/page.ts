/**
 * The dashboard's page: one static HTML file with its script and style inline (no build step, no
 * framework). It reads a snapshot and then every change from /events (server-sent events), keeps
 * a bounded number of log lines, and posts actions with the token of its own URL.
 * Test hooks: `tr[data-service][data-state][data-health]` per service, `button[data-action]`,
 * `.l[data-service]` per log line, `[data-activity][data-kind][data-state]` per activity (with
 * `data-container` for the engine's copies and execs), `#timeline [data-timeline-from]`,
 * `#conn[data-connected]`.
 * (A String.raw template: the script uses no backquote and no dollar-brace.)
 */
export const PAGE = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dockyard</title>
<style>
:root { color-scheme: dark; --bg:#0f1419; --panel:#161c23; --line:#252d37; --fg:#d8dee6; --dim:#7d8894; --ok:#3fb950; --warn:#d29922; --bad:#f85149; --info:#58a6ff; --crit:#f0883e; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg); font:13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display:flex; align-items:center; gap:14px; padding:10px 16px; border-bottom:1px solid var(--line); background:var(--panel); }
header h1 { font-size:15px; margin:0; font-weight:600; }
header .counts { color:var(--dim); }
#conn { margin-left:auto; color:var(--dim); font-size:12px; }
#conn::before { content:""; display:inline-block; width:8px; height:8px; border-radius:50%; background:var(--bad); margin-right:6px; }
#conn[data-connected="true"]::before { background:var(--ok); }
main { display:grid; grid-template-columns: 1fr 1fr; gap:12px; padding:12px 16px; }
section { background:var(--panel); border:1px solid var(--line); border-radius:6px; padding:10px 12px; min-width:0; }
section.wide { grid-column: 1 / -1; }
h2 { font-size:12px; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); margin:0 0 8px; font-weight:600; }
table { width:100%; border-collapse:collapse; }
th { text-align:left; color:var(--dim); font-weight:500; font-size:12px; padding:4px 8px; border-bottom:1px solid var(--line); }
td { padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
tr:last-child td { border-bottom:none; }
.svc { font-weight:600; white-space:nowrap; }
.dot { display:inline-block; width:9px; height:9px; border-radius:50%; margin-right:7px; background:var(--dim); vertical-align:0; }
[data-state="running"] .dot { background:var(--ok); }
[data-state="running"][data-health="starting"] .dot, [data-state="restarting"] .dot, [data-state="paused"] .dot, [data-state="created"] .dot, [data-state="mixed"] .dot { background:var(--warn); }
[data-state="exited"] .dot, [data-state="dead"] .dot, [data-health="unhealthy"] .dot { background:var(--bad); }
[data-state="exited"][data-exit="0"] .dot { background:var(--info); }
.badge { display:inline-block; padding:0 6px; border-radius:9px; font-size:11px; border:1px solid var(--line); color:var(--dim); margin-left:4px; }
.badge.ok { color:var(--ok); border-color:#2a4f33; } .badge.warn { color:var(--warn); border-color:#5a4719; } .badge.bad { color:var(--bad); border-color:#6b2a27; } .badge.info { color:var(--info); border-color:#1f4470; }
.sub { color:var(--dim); font-size:12px; }
.out { white-space:pre-wrap; font:11px/1.35 ui-monospace, SFMono-Regular, Menlo, monospace; color:#ffb4ad; margin-top:3px; max-height:5.5em; overflow:auto; }
a { color:var(--info); text-decoration:none; } a:hover { text-decoration:underline; }
button { background:#21262d; color:var(--fg); border:1px solid #363d46; border-radius:5px; padding:2px 8px; font-size:12px; cursor:pointer; margin:0 2px 2px 0; }
button:hover { border-color:#8b949e; } button:disabled { opacity:.5; cursor:default; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12px; }
#timeline svg { width:100%; height:auto; display:block; }
#timeline .none, #leases .none, #activity .none { color:var(--dim); }
#activity { max-height:260px; overflow:auto; }
.act { border-left:3px solid var(--dim); padding:3px 8px; margin-bottom:6px; }
.act[data-state="running"] { border-color:var(--warn); } .act[data-state="done"] { border-color:var(--ok); } .act[data-state="failed"] { border-color:var(--bad); }
.act pre { margin:2px 0 0; white-space:pre-wrap; font:11px/1.35 ui-monospace, monospace; color:var(--dim); }
.act .err { color:var(--bad); }
.act[data-kind="copy"], .act[data-kind="exec"] { border-left-style:dotted; }
#timeline .notes { margin:4px 0 0; padding-left:16px; color:var(--dim); font-size:12px; }
#logbar { display:flex; gap:8px; align-items:center; margin-bottom:6px; flex-wrap:wrap; }
#logbar input[type=search] { flex:1; min-width:140px; background:#0d1117; color:var(--fg); border:1px solid #363d46; border-radius:5px; padding:3px 8px; }
#logbar select { background:#0d1117; color:var(--fg); border:1px solid #363d46; border-radius:5px; padding:2px 4px; }
#logbar .sub { margin-left:auto; }
#logs { height:38vh; min-height:200px; overflow:auto; background:#0d1117; border:1px solid var(--line); border-radius:5px; padding:4px 8px; font:12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; contain:strict; }
.l { white-space:pre-wrap; word-break:break-all; content-visibility:auto; contain-intrinsic-size:auto 17px; }
.l.h { display:none; }
.l::before { content: attr(data-t); color:#4d5866; margin-right:8px; }
.l .s { margin-right:8px; font-weight:600; }
.l.e { color:#ffb4ad; }
.l.gap { color:var(--warn); font-style:italic; }
</style>
</head>
<body>
<header><h1>dockyard · <span id="project"></span></h1><span class="counts" id="counts"></span><span id="conn" data-connected="false">connecting</span></header>
<main>
<section class="wide"><h2>Services</h2>
<table id="services"><thead><tr><th>service</th><th>state</th><th>containers</th><th>ports</th><th>image</th><th>actions</th></tr></thead><tbody></tbody></table></section>
<section><h2>Startup timeline</h2><div id="timeline"><div class="none">no startup timeline: no container of the project on the engine</div></div></section>
<section><h2>Activity</h2><div id="activity"><div class="none">nothing yet: actions, builds, recreations and watch syncs show here</div></div></section>
<section class="wide"><h2>Logs</h2>
<div id="logbar"><select id="logsvc"><option value="">all services</option></select><input type="search" id="filter" placeholder="filter lines"><label><input type="checkbox" id="follow" checked> follow</label><button id="pause" type="button">pause</button><button id="clear" type="button">clear</button><span class="sub" id="logstat"></span></div>
<div id="logs"></div></section>
<section class="wide"><h2>Leased environments</h2><div id="leases"><div class="none">no leases on this engine</div></div></section>
</main>
<!--snapshot-->
<script>
(function () {
  "use strict";
  var q = new URLSearchParams(location.search);
  var TOKEN = q.get("token") || "";
  var MAX = Number(q.get("lines")) || 1500;
  var S = { project: "", services: [], containers: new Map(), plan: null, timeline: null, leases: [], activity: new Map(), busy: new Map() };
  var rows = new Map();
  var tbody = document.querySelector("#services tbody");
  var logEl = document.getElementById("logs");
  function esc(s) { return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; }); }
  // a colour per service: one style rule and a class each (no inline style on every log line)
  var hues = new Map(), hueSheet = document.head.appendChild(document.createElement("style")).sheet;
  function colorClass(svc) {
    var k = hues.get(svc);
    if (!k) {
      var h = 0; for (var i = 0; i < svc.length; i++) h = (h * 31 + svc.charCodeAt(i)) >>> 0;
      k = "k" + hues.size; hues.set(svc, k);
      hueSheet.insertRule(".l ." + k + " { color: hsl(" + (h % 360) + " 65% 66%); }", hueSheet.cssRules.length);
    }
    return k;
  }
  var lastSec = -1, lastClock = "";
  function clock(t) { var sec = Math.floor(t / 1000); if (sec !== lastSec) { lastSec = sec; lastClock = new Date(t).toTimeString().slice(0, 8); } return lastClock; }
  function dur(n) { var s = Math.max(0, Math.round(n / 1000)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60; return h ? h + "h " + m + "m" : m ? m + "m " + r + "s" : r + "s"; }
  function ms(n) { return n < 1000 ? Math.round(n) + " ms" : (n / 1000).toFixed(n < 10000 ? 2 : 1) + " s"; }

  // ---- services ----
  function serviceNames() {
    var names = S.services.map(function (s) { return s.name; });
    S.containers.forEach(function (c) { if (!c.oneoff && names.indexOf(c.service) < 0) names.push(c.service); });
    return names;
  }
  function containersOf(name) {
    var out = [];
    S.containers.forEach(function (c) { if (c.service === name && !c.oneoff) out.push(c); });
    return out.sort(function (a, b) { return a.number - b.number; });
  }
  function aggregate(cs) {
    if (!cs.length) return { state: "absent", health: "none" };
    var states = cs.map(function (c) { return c.state; });
    var state = states.indexOf("restarting") >= 0 ? "restarting" : states.every(function (s) { return s === states[0]; }) ? states[0] : "mixed";
    var hs = cs.map(function (c) { return c.health || "none"; });
    var health = hs.indexOf("unhealthy") >= 0 ? "unhealthy" : hs.indexOf("starting") >= 0 ? "starting" : hs.every(function (h) { return h === "healthy"; }) ? "healthy" : "none";
    return { state: state, health: health };
  }
  function stateText(c) {
    var t = c.state === "exited" ? "exited (" + c.exitCode + ")" : c.state;
    if (c.health) t += " · " + c.health;
    return t;
  }
  function renderService(name, batched) {
    var tr = rows.get(name);
    if (!tr) {
      tr = document.createElement("tr");
      tr.setAttribute("data-service", name);
      rows.set(name, tr);
      tbody.appendChild(tr);
      addServiceOption(name);
    }
    var cs = containersOf(name);
    var ag = aggregate(cs);
    tr.setAttribute("data-state", ag.state);
    tr.setAttribute("data-health", ag.health);
    var exit = cs.length === 1 && cs[0].exitCode != null ? String(cs[0].exitCode) : "";
    if (exit) tr.setAttribute("data-exit", exit); else tr.removeAttribute("data-exit");
    var model = S.services.find(function (s) { return s.name === name; });
    var restarts = cs.reduce(function (n, c) { return n + c.restarts; }, 0);
    var stateCell = cs.length === 1 ? esc(stateText(cs[0])) : cs.length ? esc(ag.state) + (ag.health !== "none" ? " · " + esc(ag.health) : "") : '<span class="sub">no container</span>';
    if (restarts) stateCell += '<span class="badge warn" title="restarts">↻ ' + restarts + "</span>";
    cs.forEach(function (c) {
      if (c.healthOutput && c.health === "unhealthy") stateCell += '<div class="out" title="last health check">' + esc(c.healthOutput) + "</div>";
      if (c.error) stateCell += '<div class="out">' + esc(c.error) + "</div>";
    });
    var contCell = cs.map(function (c) {
      return '<div class="mono" data-container="' + esc(c.name) + '" data-state="' + esc(c.state) + '">' + esc(c.name) + (cs.length > 1 ? ' <span class="sub">' + esc(stateText(c)) + "</span>" : "") + (c.startedAt && c.state === "running" ? ' <span class="sub" data-started="' + esc(c.startedAt) + '"></span>' : "") + "</div>";
    }).join("");
    var seen = {};
    var ports = [];
    cs.forEach(function (c) {
      c.ports.forEach(function (p) {
        var k = (p.published || "") + "/" + p.target + "/" + p.protocol;
        if (seen[k]) return;
        seen[k] = 1;
        if (p.published && p.protocol === "tcp") {
          var h = !p.hostIp || p.hostIp === "0.0.0.0" || p.hostIp === "::" ? location.hostname : p.hostIp;
          if (h.indexOf(":") >= 0 && h[0] !== "[") h = "[" + h + "]";
          ports.push('<a href="http://' + esc(h) + ":" + p.published + '/" target="_blank" rel="noopener">' + p.published + "→" + p.target + "</a>");
        } else if (p.published) ports.push(p.published + "→" + p.target + "/" + esc(p.protocol));
        else ports.push('<span class="sub">' + p.target + "/" + esc(p.protocol) + "</span>");
      });
    });
    var image = esc((cs[0] && cs[0].image) || (model && model.image) || (model && model.build ? S.project + "-" + name : ""));
    var plan = S.plan && S.plan.services[name];
    if (plan && plan.image) {
      var ia = plan.image;
      if (ia.action === "build") image += '<span class="badge warn" title="' + esc(ia.reason) + '">stale: ' + esc(ia.reason) + "</span>";
      else if (model && model.build && ia.action === "use") image += '<span class="badge ok" title="' + esc(ia.reason) + '">up to date</span>';
      else if (ia.action === "fail") image += '<span class="badge bad">' + esc(ia.reason) + "</span>";
    }
    if (plan) plan.steps.forEach(function (st) {
      if (st.action === "recreate") image += '<div class="sub">would recreate ' + esc(st.name) + ": " + esc(st.reasons.join(", ")) + "</div>";
      else if (st.action === "create" && cs.length) image += '<div class="sub">would create ' + esc(st.name) + "</div>";
      else if (st.action === "remove") image += '<div class="sub">would remove ' + esc(st.name) + ": " + esc(st.reasons.join(", ")) + "</div>";
    });
    var busy = S.busy.get(name);
    var btn = function (a, label, title) { return '<button type="button" data-action="' + a + '"' + (busy ? " disabled" : "") + ' title="' + title + '">' + label + "</button>"; };
    var actions = btn("restart", "restart", "restart its containers") + btn("stop", "stop", "stop its containers") + btn("start", "start", "start its containers") + btn("rebuild", "rebuild", "build its image and recreate its containers") + btn("run", "run", "run a one-off container of it");
    tr.innerHTML = '<td class="svc"><span class="dot"></span>' + esc(name) + "</td><td>" + stateCell + "</td><td>" + contCell + "</td><td>" + (ports.join(" ") || '<span class="sub">—</span>') + '</td><td class="mono">' + image + "</td><td>" + actions + "</td>";
    if (!batched) updateCounts();
  }
  function renderAllServices() {
    var names = serviceNames();
    rows.forEach(function (tr, n) { if (names.indexOf(n) < 0) { tr.remove(); rows.delete(n); } });
    names.forEach(function (n) { renderService(n, true); });
    updateCounts();
  }
  function updateCounts() {
    var total = 0, running = 0, unhealthy = 0;
    S.containers.forEach(function (c) { if (c.oneoff) return; total++; if (c.state === "running") running++; if (c.health === "unhealthy") unhealthy++; });
    document.getElementById("counts").textContent = running + "/" + total + " containers running" + (unhealthy ? ", " + unhealthy + " unhealthy" : "");
  }
  tbody.addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-action]");
    if (!b) return;
    var name = b.closest("tr").getAttribute("data-service");
    act(b.getAttribute("data-action"), name);
  });
  function act(action, service) {
    S.busy.set(service, action);
    renderService(service);
    fetch("/api/actions", { method: "POST", headers: { "content-type": "application/json", "x-dockyard-token": TOKEN }, body: JSON.stringify({ action: action, service: service }) })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || r.statusText); return j; }); })
      .then(function (j) { S.busy.set(service, j.id); })
      .catch(function (e) { S.busy.delete(service); renderService(service); addLocalActivity(action + " " + service, e.message); });
  }

  // ---- logs ----
  var pending = [], paused = false, held = [], scheduled = false, shown = 0, total = 0, dropped = 0;
  var filterText = "", filterSvc = "";
  function addServiceOption(name) {
    var sel = document.getElementById("logsvc");
    for (var i = 0; i < sel.options.length; i++) if (sel.options[i].value === name) return;
    var o = document.createElement("option"); o.value = name; o.textContent = name; sel.appendChild(o);
  }
  function queueLogs(lines, drop) {
    if (drop) pending.push({ gap: drop });
    for (var i = 0; i < lines.length; i++) pending.push(lines[i]);
    total += lines.length;
    if (pending.length > MAX) pending.splice(0, pending.length - MAX);
    schedule();
  }
  // at most ten flushes a second, each in an animation frame (or after 100 ms where frames are not drawn)
  var lastFlush = 0;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    var done = false;
    var run = function () { if (done) return; done = true; scheduled = false; lastFlush = performance.now(); flushLogs(); };
    setTimeout(function () { requestAnimationFrame(run); setTimeout(run, 100); }, Math.max(0, 100 - (performance.now() - lastFlush)));
  }
  function matches(svc, text) {
    return (!filterSvc || svc === filterSvc) && (!filterText || text.toLowerCase().indexOf(filterText) >= 0);
  }
  function lineEl(l) {
    var d = document.createElement("div");
    if (l.gap) { d.className = "l gap"; d.textContent = "… " + l.gap + " line(s) skipped: the page fell behind"; return d; }
    d.className = l.e ? "l e" : "l";
    d.setAttribute("data-service", l.s);
    d.setAttribute("data-t", clock(l.t));
    var s = document.createElement("span"); s.className = "s " + colorClass(l.s); s.textContent = l.c;
    d.appendChild(s); d.appendChild(document.createTextNode(l.x));
    if (!matches(l.s, l.x)) d.classList.add("h");
    return d;
  }
  function flushLogs() {
    var batch = pending; pending = [];
    if (paused) {
      held = held.concat(batch);
      if (held.length > MAX) held.splice(0, held.length - MAX);
      document.getElementById("pause").textContent = "resume (" + held.length + " new)";
      return;
    }
    if (!batch.length) return;
    var frag = document.createDocumentFragment();
    for (var i = 0; i < batch.length; i++) frag.appendChild(lineEl(batch[i]));
    logEl.appendChild(frag);
    var extra = logEl.childElementCount - MAX;
    if (extra > 0) { var r = document.createRange(); r.setStartBefore(logEl.firstChild); r.setEndAfter(logEl.children[extra - 1]); r.deleteContents(); }
    shown = logEl.childElementCount;
    if (document.getElementById("follow").checked) logEl.scrollTop = logEl.scrollHeight;
    document.getElementById("logstat").textContent = shown + " lines shown (last " + MAX + " kept), " + total + " received";
  }
  function refilter() {
    for (var n = logEl.firstElementChild; n; n = n.nextElementSibling) {
      var svc = n.getAttribute("data-service");
      if (svc === null) continue;
      n.classList.toggle("h", !matches(svc, n.lastChild.nodeValue || ""));
    }
    if (document.getElementById("follow").checked) logEl.scrollTop = logEl.scrollHeight;
  }
  document.getElementById("filter").addEventListener("input", function (e) { filterText = e.target.value.toLowerCase(); refilter(); });
  document.getElementById("logsvc").addEventListener("change", function (e) { filterSvc = e.target.value; refilter(); });
  document.getElementById("pause").addEventListener("click", function (e) {
    paused = !paused;
    e.target.textContent = paused ? "resume" : "pause";
    if (!paused) { pending = held.concat(pending); held = []; schedule(); }
  });
  document.getElementById("clear").addEventListener("click", function () { logEl.textContent = ""; held = []; });
  logEl.addEventListener("wheel", function (e) { if (e.deltaY < 0) document.getElementById("follow").checked = false; });

  // ---- timeline ----
  function renderTimeline() {
    var t = S.timeline, box = document.getElementById("timeline");
    if (!t || !t.entries.length) { box.innerHTML = '<div class="none">no startup timeline: no container of the project on the engine</div>'; return; }
    var crit = t.criticalPath.services, W = 640, L = 110, R = 60, rowH = 20, H = t.entries.length * rowH + 26;
    var span = Math.max(t.totalMs, 1), x = function (v) { return L + (v / span) * (W - L - R); };
    var svg = '<svg viewBox="0 0 ' + W + " " + H + '" xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">';
    for (var k = 0; k <= 4; k++) { var gx = x((span * k) / 4); svg += '<line x1="' + gx + '" y1="0" x2="' + gx + '" y2="' + (H - 18) + '" stroke="#252d37"/><text x="' + gx + '" y="' + (H - 5) + '" fill="#7d8894" text-anchor="middle">' + ms((span * k) / 4) + "</text>"; }
    t.entries.forEach(function (e, i) {
      var y = i * rowH + 4, onCrit = crit.indexOf(e.service) >= 0;
      var start = e.starting != null ? e.starting : e.started != null ? e.started : e.queued;
      var end = e.ready != null ? e.ready : e.exited != null ? e.exited : e.started != null ? e.started : start;
      svg += '<text x="' + (L - 8) + '" y="' + (y + 12) + '" fill="' + (onCrit ? "#f0883e" : "#d8dee6") + '" text-anchor="end"' + (onCrit ? ' font-weight="600"' : "") + ">" + esc(e.service) + "</text>";
      if (start > e.queued) svg += '<rect x="' + x(e.queued) + '" y="' + (y + 5) + '" width="' + Math.max(1, x(start) - x(e.queued)) + '" height="6" rx="2" fill="#30363d"><title>waiting for ' + esc(e.deps.join(", ") || "its turn") + "</title></rect>";
      svg += '<rect data-timeline="' + esc(e.service) + '" x="' + x(start) + '" y="' + (y + 2) + '" width="' + Math.max(2, x(end) - x(start)) + '" height="12" rx="3" fill="' + (onCrit ? "#f0883e" : "#3fb950") + '"><title>' + esc(e.service) + ": " + ms(start) + " → " + ms(end) + "</title></rect>";
      svg += '<text x="' + (x(end) + 5) + '" y="' + (y + 12) + '" fill="#7d8894">' + ms(end) + "</text>";
    });
    svg += "</svg>";
    var from = S.timelineFrom === "engine" ? " · from the engine: each container's creation, last start and first healthy check, since " + new Date(t.startedAt).toTimeString().slice(0, 8) : "";
    var notes = (S.timelineNotes || []).map(function (n) { return "<li>" + esc(n) + "</li>"; }).join("");
    box.innerHTML = svg + '<div class="sub" data-timeline-from="' + esc(S.timelineFrom || "up") + '">total ' + ms(t.totalMs) + " · critical path " + esc(crit.join(" → ")) + " (" + ms(t.criticalPath.ms) + ")" + from + "</div>" + (notes ? '<ul class="notes">' + notes + "</ul>" : "");
  }

  // ---- activity ----
  var localId = 0;
  function addLocalActivity(title, error) {
    var id = "local-" + ++localId;
    S.activity.set(id, { id: id, kind: "action", title: title, state: "failed", started: Date.now(), lines: [], error: error });
    renderActivity();
  }
  function renderActivity() {
    var box = document.getElementById("activity");
    var list = Array.from(S.activity.values()).sort(function (a, b) { return b.started - a.started; }).slice(0, 30);
    if (!list.length) return;
    box.innerHTML = list.map(function (a) {
      var took = a.state === "running" ? "running…" : a.kind === "copy" ? "reported by the engine" : a.state + " in " + ms(a.ms || 0);
      return '<div class="act" data-activity="' + esc(a.id) + '" data-kind="' + esc(a.kind) + '" data-state="' + a.state + '"' + (a.service ? ' data-service="' + esc(a.service) + '"' : "") + (a.container ? ' data-container="' + esc(a.container) + '"' : "") + "><b>" + esc(a.title) + '</b> <span class="sub">' + took + " · " + new Date(a.started).toTimeString().slice(0, 8) + "</span>" +
        (a.lines.length ? "<pre>" + esc(a.lines.slice(-8).join("\n")) + "</pre>" : "") + (a.error ? '<pre class="err">' + esc(a.error) + "</pre>" : "") + "</div>";
    }).join("");
  }
  function onActivity(a) {
    S.activity.set(a.id, a);
    if (a.service && a.state !== "running" && S.busy.get(a.service) === a.id) { S.busy.delete(a.service); renderService(a.service); }
    renderActivity();
  }

  // ---- leases ----
  function renderLeases() {
    var box = document.getElementById("leases");
    if (!S.leases.length) { box.innerHTML = '<div class="none">no leases on this engine</div>'; return; }
    box.innerHTML = "<table><thead><tr><th>lease</th><th>expires</th><th>owner</th><th>containers</th><th>health</th></tr></thead><tbody>" + S.leases.map(function (l) {
      var left = l.expiresAt - Date.now();
      var health = l.unhealthy ? '<span class="badge bad">' + l.unhealthy + " unhealthy</span>" : l.healthy ? '<span class="badge ok">' + l.healthy + " healthy</span>" : '<span class="sub">—</span>';
      return '<tr data-lease="' + esc(l.name) + '"><td class="mono">' + esc(l.name) + "</td><td>" + (l.expired ? '<span class="badge bad">expired</span>' : "in " + dur(left)) + "</td><td>" + esc(l.owner) + ' <span class="sub">' + esc(l.ownerState) + "</span></td><td>" + l.running + "/" + l.containers + " running</td><td>" + health + "</td></tr>";
    }).join("") + "</tbody></table>";
  }
  setInterval(function () { if (S.leases.length) renderLeases(); }, 1000);

  // ---- the stream ----
  function applySnapshot(s) {
    S.project = s.project; S.services = s.services; S.plan = s.plan || null; S.timeline = s.timeline || null; S.timelineFrom = s.timelineFrom; S.timelineNotes = s.timelineNotes || []; S.leases = s.leases;
    document.getElementById("project").textContent = s.project;
    document.title = "dockyard · " + s.project;
    S.containers = new Map(s.containers.map(function (c) { return [c.id, c]; }));
    renderAllServices();
    S.activity = new Map(s.activity.map(function (a) { return [a.id, a]; }));
    renderActivity(); renderTimeline(); renderLeases();
    logEl.textContent = ""; pending = []; total = 0;
    queueLogs(s.logs);
  }
  function setConn(on) {
    var c = document.getElementById("conn");
    c.setAttribute("data-connected", on ? "true" : "false");
    c.textContent = on ? "live" : "reconnecting…";
  }
  // the snapshot the page came with: painted before the event stream is even open (it sends a fresh one)
  var pre = document.getElementById("snapshot");
  if (pre) applySnapshot(JSON.parse(pre.textContent));
  var es = new EventSource("/events?token=" + encodeURIComponent(TOKEN));
  var on = function (type, fn) { es.addEventListener(type, function (e) { fn(JSON.parse(e.data)); }); };
  on("snapshot", applySnapshot);
  // a container event re-renders its service's row at once: it is painted in the next frame
  on("container", function (m) { var c = m.container, old = S.containers.get(c.id); S.containers.set(c.id, c); if (old && old.service !== c.service) renderService(old.service); if (!c.oneoff) renderService(c.service); });
  on("removed", function (m) { var c = S.containers.get(m.id); if (!c) return; S.containers.delete(m.id); renderService(c.service); });
  on("logs", function (m) { queueLogs(m.lines, m.dropped); });
  on("activity", function (m) { onActivity(m.entry); });
  on("activity-removed", function (m) { if (S.activity.delete(m.id)) renderActivity(); });
  on("timeline", function (m) { S.timeline = m.timeline; S.timelineFrom = m.from; S.timelineNotes = m.notes || []; renderTimeline(); });
  on("plan", function (m) { S.plan = m.plan; renderAllServices(); });
  on("leases", function (m) { S.leases = m.leases; renderLeases(); });
  es.onopen = function () { setConn(true); };
  es.onerror = function () { setConn(false); };
  window.dockyardDashboard = { state: S, act: act };
})();
</script>
</body>
</html>
`;
