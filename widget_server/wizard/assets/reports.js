// The dashboard's chat reports: draws the charts (SVG, no library) from /wizard/reports/data and asks again every
// few seconds while the page is open, so new chats show without a reload. The page's numbers and tables are
// rendered by the server; this only keeps them current. Text goes in with textContent, never innerHTML.
(() => {
  "use strict";
  const section = document.getElementById("reports");
  if (!section) return;
  const form = document.getElementById("report-range");
  const status = document.getElementById("report-status");
  const SVG = "http://www.w3.org/2000/svg";
  const W = 640, H = 220, LEFT = 40, BOTTOM = 24, TOP = 8;
  const tz = (Intl.DateTimeFormat().resolvedOptions().timeZone) || "UTC";
  form.elements.tz.value = tz;

  function el(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Bars per period: side by side, or stacked (ratings). series: [{name, cls, values}]
  function barChart(svg, labels, series, stacked) {
    svg.replaceChildren();
    const n = Math.max(labels.length, 1);
    const totals = labels.map((_, i) => stacked
      ? series.reduce((s, ser) => s + (ser.values[i] || 0), 0)
      : Math.max(0, ...series.map((ser) => ser.values[i] || 0)));
    const max = Math.max(1, ...totals);
    const plotH = H - BOTTOM - TOP, slot = (W - LEFT) / n;
    svg.append(el("line", {class: "axis", x1: LEFT, y1: H - BOTTOM, x2: W, y2: H - BOTTOM}));
    svg.append(el("text", {x: 2, y: TOP + 10}, String(Math.round(max * 10) / 10)));
    svg.append(el("text", {x: 2, y: H - BOTTOM}, "0"));
    const every = Math.ceil(n / 8);
    labels.forEach((label, i) => {
      const x0 = LEFT + i * slot;
      let base = H - BOTTOM;
      series.forEach((ser, s) => {
        const v = ser.values[i] || 0;
        const h = plotH * v / max;
        const w = stacked ? slot * 0.7 : slot * 0.8 / series.length;
        const x = stacked ? x0 + slot * 0.15 : x0 + slot * 0.1 + s * w;
        const y = stacked ? base - h : H - BOTTOM - h;
        if (stacked) base -= h;
        const bar = el("rect", {class: ser.cls, x: x.toFixed(1), y: y.toFixed(1), width: Math.max(1, w - 1).toFixed(1),
                                height: h.toFixed(1), "data-value": v});
        bar.append(el("title", {}, `${label}: ${ser.name} ${v}`));
        svg.append(bar);
      });
      if (i % every === 0) {
        svg.append(el("text", {x: (x0 + 2).toFixed(1), y: H - 6}, label.length >= 10 ? label.slice(5, 16) : label));
      }
    });
    let legend = svg.parentNode.querySelector(".legend");
    if (!legend) {
      legend = document.createElement("ul");
      legend.className = "legend";
      svg.after(legend);
    }
    legend.replaceChildren(...series.map((ser) => {
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = "swatch " + ser.cls;
      li.append(sw, ser.name);
      return li;
    }));
  }

  function text(id, value) {
    const node = document.getElementById(id);
    if (node) node.textContent = value;
  }

  function fillTable(id, rows, cells) {
    const body = document.querySelector(`#${id} tbody`);
    body.replaceChildren(...rows.map((row) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = String(row.id);
      tr.append(th, ...cells.map((c) => {
        const td = document.createElement("td");
        const v = row[c];
        td.textContent = v === null || v === undefined ? "–" : String(v);
        return td;
      }));
      return tr;
    }));
  }

  function show(data) {
    const labels = data.periods.map((p) => p.period);
    const col = (name) => data.periods.map((p) => p[name] || 0);
    barChart(document.getElementById("chart-chats"), labels, [
      {name: "chats", cls: "s0", values: col("chats")},
      {name: "missed", cls: "s1", values: col("missed")},
      {name: "tickets", cls: "s2", values: col("tickets")}]);
    barChart(document.getElementById("chart-frt"), labels, [
      {name: "median", cls: "s0", values: col("first_response_median")},
      {name: "90th percentile", cls: "s2", values: col("first_response_p90")}]);
    barChart(document.getElementById("chart-duration"), labels, [
      {name: "average", cls: "s0", values: col("duration_avg")}]);
    barChart(document.getElementById("chart-ratings"), labels, [
      {name: "good", cls: "good", values: col("good")},
      {name: "bad", cls: "bad", values: col("bad")}], true);
    const t = data.total;
    const secs = (v) => (v === null ? "–" : v) + " s";
    text("report-chats", t.chats);
    text("report-missed", t.missed);
    text("report-tickets", t.tickets);
    text("report-frt-median", secs(t.first_response_median));
    text("report-frt-p90", secs(t.first_response_p90));
    text("report-duration", secs(t.duration_avg));
    text("report-ratings", `${t.good} / ${t.bad}`);
    text("report-comments", t.comments);
    fillTable("report-agents", data.agents, ["chats", "missed", "first_response_median", "duration_avg", "good",
                                             "bad", "available_hours"]);
    fillTable("report-groups", data.groups, ["chats", "missed", "first_response_median", "duration_avg", "good",
                                             "bad", "tickets", "available_hours"]);
    const list = document.getElementById("report-comments-list");
    list.replaceChildren(...(data.comments.length ? data.comments.map((c) => {
      const li = document.createElement("li");
      const score = document.createElement("strong");
      score.textContent = c.score === 1 ? "Good" : "Bad";
      li.append(score, ` “${c.comment}”`);  // a visitor's words: text, never markup
      return li;
    }) : [Object.assign(document.createElement("li"), {className: "hint", textContent: "None in this range."})]));
    section.dataset.updated = String(Date.now());
  }

  let timer = 0;
  async function refresh() {
    clearTimeout(timer);
    const q = new URLSearchParams({from: form.elements.from.value, to: form.elements.to.value,
                                   distribution: form.elements.distribution.value, tz});
    try {
      const response = await fetch(`/wizard/reports/data?${q}`, {credentials: "same-origin",
                                                                 headers: {Accept: "application/json"}});
      if (response.status === 401) {
        status.textContent = "Your session ended: sign in again to see current numbers.";
        return;
      }
      const body = await response.json();
      if (!response.ok) {
        status.textContent = (body.error && body.error.message) || "The numbers could not be loaded.";
      } else {
        show(body);
      }
    } catch (e) {
      status.textContent = "The numbers could not be loaded; trying again.";
    }
    timer = setTimeout(refresh, Math.max(1, Number(section.dataset.poll) || 10) * 1000);
  }

  for (const name of ["from", "to", "distribution"]) form.elements[name].addEventListener("change", refresh);
  refresh();
})();
