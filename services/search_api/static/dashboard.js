// Operations dashboard: asks for an API key once (kept in sessionStorage, gone with the tab),
// then reads /v1/dashboard/stream (server-sent events, read with fetch so the key travels in a
// header and never in a URL) and redraws on every snapshot. No library, no outside call; every
// value is written with textContent.
"use strict";

(function () {
  const KEY = "borderhub.dashboard.key";
  const HISTORY = 60;
  const $ = (id) => document.getElementById(id);
  const state = { ports: [], portsByCode: new Map(), rates: [], abort: null, retry: 1000, snapshot: null };

  function setStatus(text, mode) {
    const el = $("status");
    el.textContent = text;
    el.dataset.state = mode;
  }

  function showLogin(message) {
    $("board").hidden = true;
    $("sign-out").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("api-key").focus();
  }

  function authHeaders() {
    return { "X-API-Key": sessionStorage.getItem(KEY) || "" };
  }

  class AuthError extends Error {}

  async function fetchJSON(url) {
    const res = await fetch(url, { headers: authHeaders(), cache: "no-store" });
    if (res.status === 401 || res.status === 403) throw new AuthError(res.status === 401
      ? "This key is not valid." : "This key's role may not open the dashboard (operations or admin).");
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  }

  async function start() {
    $("login").hidden = true;
    setStatus("connecting…", "idle");
    try {
      const body = await fetchJSON("/v1/dashboard/ports");
      state.ports = body.ports;
      state.portsByCode = new Map(body.ports.map((p) => [p.locode, p]));
    } catch (err) {
      if (err instanceof AuthError) {
        sessionStorage.removeItem(KEY);
        showLogin(err.message);
        return;
      }
      setStatus(`cannot reach the API (${err.message}); retrying`, "error");
      setTimeout(start, 3000);
      return;
    }
    $("board").hidden = false;
    $("sign-out").hidden = false;
    drawMap(null);
    follow();
  }

  // --- server-sent events over fetch ---------------------------------------------------------

  async function follow() {
    state.abort = new AbortController();
    try {
      const res = await fetch("/v1/dashboard/stream", {
        headers: { ...authHeaders(), Accept: "text/event-stream" }, cache: "no-store", signal: state.abort.signal,
      });
      if (res.status === 401 || res.status === 403) {
        sessionStorage.removeItem(KEY);
        showLogin("The key was refused.");
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      setStatus("live", "live");
      state.retry = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          handleEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
      throw new Error("stream ended");
    } catch (err) {
      if (err.name === "AbortError") return;
      setStatus(`reconnecting (${err.message})`, "error");
      state.retry = Math.min(state.retry * 2, 15000);
      setTimeout(follow, state.retry);
    }
  }

  function handleEvent(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (event === "snapshot" && data.length) render(JSON.parse(data.join("\n")));
  }

  // --- rendering -------------------------------------------------------------------------------

  function cell(row, text, numeric) {
    const td = document.createElement("td");
    td.textContent = text;
    if (numeric) td.className = "num";
    row.appendChild(td);
    return td;
  }

  function fmt(n, digits) {
    if (n === null || n === undefined) return "–";
    return Number(n).toLocaleString("en", { maximumFractionDigits: digits === undefined ? 0 : digits });
  }

  function fill(tableId, rows, build) {
    const body = document.querySelector(`#${tableId} tbody`);
    body.replaceChildren(...rows.map((r) => {
      const tr = document.createElement("tr");
      build(tr, r);
      return tr;
    }));
  }

  function render(s) {
    state.snapshot = s;
    const events = s.topics.filter((t) => t.topic.startsWith("poe."));
    const known = events.filter((t) => t.per_second !== null);
    const total = known.length ? known.reduce((a, t) => a + t.per_second, 0) : null;
    $("total-rate").textContent = fmt(total, 1);
    if (total !== null) state.rates = state.rates.concat([total]).slice(-HISTORY);
    bars($("rate-chart"), state.rates, "#4fb3ff");

    fill("topics", s.topics, (tr, t) => {
      tr.dataset.topic = t.topic;
      cell(tr, t.topic);
      cell(tr, fmt(t.per_second, 1), true).classList.add("rate");
      cell(tr, fmt(t.end_offset), true).classList.add("total");
    });
    fill("lag", s.lag, (tr, g) => {
      tr.dataset.group = g.group;
      cell(tr, g.group);
      cell(tr, g.known ? fmt(g.total) : "no commits", true).classList.add("lag");
      cell(tr, Object.entries(g.topics).map(([t, n]) => `${t}: ${fmt(n)}`).join(", "));
    });
    const health = $("health");
    health.replaceChildren(...s.health.map((h) => {
      const li = document.createElement("li");
      li.dataset.component = h.component;
      const badge = document.createElement("span");
      badge.className = `badge ${h.status}`;
      badge.textContent = h.status;
      const name = document.createElement("strong");
      name.textContent = h.component;
      const detail = document.createElement("span");
      detail.className = "detail";
      detail.textContent = h.detail || "";
      li.append(badge, name, detail);
      return li;
    }));

    const alerts = s.alerts || {};
    $("alerts-minute").textContent = fmt(alerts.last_minute);
    bars($("alerts-chart"), (alerts.per_minute || []).map((b) => b.count), "#ff8a3d");
    fill("latest-alerts", alerts.latest || [], (tr, a) => {
      tr.dataset.alert = a.alert_id;
      cell(tr, a.created_at ? new Date(a.created_at).toLocaleTimeString() : "");
      cell(tr, a.severity || "").className = `sev-${a.severity}`;
      cell(tr, a.alert_type || "");
      cell(tr, a.source_list || a.rule || "");
      cell(tr, a.port_locode || "");
      cell(tr, a.status || "new");
    });

    const ports = [...s.ports].sort((a, b) => b.total - a.total);
    fill("ports", ports.slice(0, 15), (tr, p) => {
      tr.dataset.port = p.locode;
      const info = state.portsByCode.get(p.locode);
      cell(tr, info ? `${p.locode} · ${info.name}` : p.locode);
      cell(tr, fmt(p.crossings), true).classList.add("crossings");
      cell(tr, fmt(p.seizures), true).classList.add("seizures");
      cell(tr, fmt(p.biometrics), true);
    });
    drawMap(s.ports);
    $("updated").textContent = `updated ${new Date(s.at).toLocaleTimeString()} · every ${s.interval_seconds} s`;
  }

  function bars(canvas, values, colour) {
    const ctx = canvas.getContext("2d");
    const { width, height } = canvas;
    ctx.clearRect(0, 0, width, height);
    if (!values.length) return;
    const max = Math.max(1, ...values);
    const w = width / Math.max(values.length, 30);
    ctx.fillStyle = colour;
    values.forEach((v, i) => {
      const h = (v / max) * (height - 4);
      ctx.fillRect(i * w + 1, height - h, Math.max(1, w - 2), h);
    });
  }

  // --- map: equirectangular, latitudes 85N..60S ------------------------------------------------

  const NORTH = 85, SOUTH = -60;

  function project(canvas, lon, lat) {
    return [((lon + 180) / 360) * canvas.width, ((NORTH - lat) / (NORTH - SOUTH)) * canvas.height];
  }

  function drawMap(activity) {
    const canvas = $("map");
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#0c131b";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "#223140";
    ctx.strokeStyle = "#32475a";
    for (const ring of window.BH_WORLD || []) {
      ctx.beginPath();
      ring.forEach(([lon, lat], i) => {
        const [x, y] = project(canvas, lon, lat);
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
    }
    const active = new Map((activity || []).map((p) => [p.locode, p]));
    ctx.fillStyle = "#8a9bab";
    for (const p of state.ports) {
      if (active.has(p.locode)) continue;
      const [x, y] = project(canvas, p.lon, p.lat);
      ctx.fillRect(x - 1, y - 1, 2, 2);
    }
    const max = Math.max(1, ...[...active.values()].map((p) => p.total));
    for (const a of active.values()) {
      const p = state.portsByCode.get(a.locode);
      if (!p) continue;
      const [x, y] = project(canvas, p.lon, p.lat);
      const r = 3 + 14 * Math.sqrt(a.total / max);
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = a.seizures > 0 ? "rgba(255,138,61,.55)" : "rgba(79,179,255,.55)";
      ctx.fill();
      ctx.strokeStyle = a.seizures > 0 ? "#ff8a3d" : "#4fb3ff";
      ctx.stroke();
    }
  }

  // --- wiring ----------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("login").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const key = $("api-key").value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY, key);
      $("api-key").value = "";
      start();
    });
    $("sign-out").addEventListener("click", () => {
      sessionStorage.removeItem(KEY);
      if (state.abort) state.abort.abort();
      setStatus("not connected", "idle");
      showLogin("");
    });
    if (sessionStorage.getItem(KEY)) start(); else showLogin("");
  });
})();
