// The cohort page's charts, drawn from the JSON the server embedded: equity and utilisation over the
// cohort's window (time axes in UTC, bounded by the window), every agent's curve with hover and
// highlight, and the correlation heat-map on a canvas.
(function () {
  "use strict";
  const pad = (n) => String(n).padStart(2, "0");
  const day = (d) => d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
  const clock = (d) => pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  const stamp = (ms) => { const d = new Date(ms); return day(d) + " " + clock(d) + " UTC"; };
  const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  const wholeMoney = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
  const MINUTE = 60000;
  const STEPS = [5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440, 2880, 10080].map((m) => m * MINUTE);

  // Ticks on whole UTC minutes, hours or days (epoch multiples), at most 8 across the window.
  function timeTicks(scale) {
    const span = scale.max - scale.min;
    const step = STEPS.find((s) => span / s <= 8) || Math.ceil(span / 8 / 86400000) * 86400000;
    const ticks = [];
    for (let v = Math.ceil(scale.min / step) * step; v <= scale.max; v += step) ticks.push({ value: v });
    scale.ticks = ticks;
  }
  // The time under each tick, with the date under the first tick and wherever the day changes.
  function timeLabel(value, index, ticks) {
    const d = new Date(value);
    const previous = index > 0 ? new Date(ticks[index - 1].value) : null;
    return previous && day(previous) === day(d) ? clock(d) : [clock(d), day(d)];
  }
  function timeAxis(window) {
    return {
      type: "linear", min: window[0], max: window[1], bounds: "data", afterBuildTicks: timeTicks,
      ticks: { callback: timeLabel, autoSkip: false, maxRotation: 0 },
      title: { display: true, text: "Time (UTC)" },
    };
  }

  // Tooltips as HTML beside the canvas (readable, selectable, and visible to assistive technology).
  function htmlTooltip(context) {
    const { chart, tooltip } = context;
    const frame = chart.canvas.parentNode;
    let tip = frame.querySelector(".chart-tooltip");
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "chart-tooltip";
      tip.setAttribute("role", "status");
      frame.append(tip);
    }
    if (tooltip.opacity === 0) { tip.hidden = true; return; }
    const title = document.createElement("div");
    title.className = "chart-tooltip-title";
    title.textContent = (tooltip.title || []).join(" ");
    const lines = (tooltip.body || []).flatMap((b) => b.lines).map((text) => {
      const line = document.createElement("div");
      line.textContent = text;
      return line;
    });
    tip.replaceChildren(title, ...lines);
    tip.hidden = false;
    const left = Math.min(Math.max(tooltip.caretX, tip.offsetWidth / 2), frame.clientWidth - tip.offsetWidth / 2);
    tip.style.left = left + "px";
    tip.style.top = tooltip.caretY + "px";
  }

  function drawCharts(data) {
    const base = (yTitle, yTick) => ({
      animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
      interaction: { mode: "nearest", intersect: false, axis: "x" },
      plugins: {
        legend: { display: false },
        tooltip: { enabled: false, external: htmlTooltip, callbacks: { title: (items) => stamp(items[0].parsed.x) } },
      },
      scales: { x: timeAxis(data.window), y: { title: { display: true, text: yTitle }, ticks: { callback: yTick } } },
    });
    const points = (ts, ys) => ts.map((t, i) => ({ x: t, y: ys[i] }));
    const chart = (id, datasets, options) => new Chart(document.getElementById(id), { type: "line", data: { datasets }, options });

    const parent = base("Equity (USD)", (v) => wholeMoney.format(v));
    parent.plugins.tooltip.callbacks.label = (item) => "Parent equity: " + money.format(item.parsed.y);
    chart("parent-chart", [{ label: "Parent equity", data: points(data.t, data.parent), borderColor: "#0b5cad", pointRadius: 0, borderWidth: 1.5 }], parent);

    const utilisation = base("Exposure (% of equity)", (v) => v + "%");
    utilisation.plugins.tooltip.callbacks.label = (item) => "Utilisation: " + item.parsed.y.toFixed(1) + "%";
    chart("utilisation-chart", [{ label: "Utilisation", data: points(data.t, data.utilisation), borderColor: "#6b4a00", pointRadius: 0, borderWidth: 1, fill: true, backgroundColor: "rgba(245,165,36,.15)" }], utilisation);

    drawAgents(data, base("Equity (USD)", (v) => wholeMoney.format(v)), points, chart);
  }

  // Every agent's curve, coloured by family; hovering a curve, a family or a leaderboard row picks out
  // those agents and dims the rest; a click keeps the choice until the next click.
  function drawAgents(data, options, points, chart) {
    const families = [...new Set(data.families)];
    const hue = (family) => (families.indexOf(family) * 360) / families.length;
    const colour = (i) => "hsl(" + hue(data.families[i]) + ",65%," + (38 + (i % 3) * 8) + "%)";
    const DIM = "rgba(120,130,140,.18)";
    options.interaction = { mode: "nearest", intersect: false, axis: "xy" };
    options.plugins.tooltip.callbacks.label = (item) =>
      "Agent " + item.datasetIndex + " · " + data.families[item.datasetIndex] + ": " + money.format(item.parsed.y);
    const datasets = data.agents_cents.map((cents, i) => ({
      label: "Agent " + i, data: points(data.agents_t, cents.map((c) => (c === null ? null : c / 100))), pointRadius: 0, pointHoverRadius: 3,
      borderWidth: 1, borderColor: colour(i), backgroundColor: colour(i),
    }));
    let pinned = null;
    let shown = null;
    const rows = Array.from(document.querySelectorAll("#leaderboard tr[data-agent]"));
    const legend = document.getElementById("agents-legend");

    function highlight(pick) { // pick: {agent: i} or {family: name} or null for all
      const key = pick ? JSON.stringify(pick) : null;
      if (key === shown) return;
      shown = key;
      const picked = (i) => !pick || (pick.agent !== undefined ? pick.agent === i : data.families[i] === pick.family);
      agents.data.datasets.forEach((set, i) => {
        set.borderColor = picked(i) ? colour(i) : DIM;
        set.borderWidth = pick && picked(i) ? 2.5 : 1;
        set.order = picked(i) ? 0 : 1; // drawn last, on top
      });
      agents.update("none");
      rows.forEach((row) => row.classList.toggle("is-highlighted", !!pick && picked(Number(row.dataset.agent))));
      legend.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(!!pick && pick.family === b.dataset.family)));
    }
    const restore = () => highlight(pinned);
    const toggle = (pick) => { pinned = pinned && JSON.stringify(pinned) === JSON.stringify(pick) ? null : pick; highlight(pinned); };

    let overChart = false; // Chart.js replays the last pointer event on update, even once the pointer has left
    options.onHover = (event, elements) => {
      if (!overChart || event.type === "mouseout") return;
      if (elements.length) highlight({ agent: elements[0].datasetIndex }); else restore();
    };
    options.onClick = (event, elements) => toggle(elements.length ? { agent: elements[0].datasetIndex } : pinned);
    const agents = chart("agents-chart", datasets, options);
    agents.canvas.addEventListener("mouseenter", () => { overChart = true; });
    agents.canvas.addEventListener("mouseleave", () => { overChart = false; restore(); });

    families.forEach((family) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.family = family;
      button.setAttribute("aria-pressed", "false");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = "hsl(" + hue(family) + ",65%,46%)";
      const count = data.families.filter((f) => f === family).length;
      button.append(swatch, family + " (" + count + ")");
      button.addEventListener("mouseenter", () => highlight({ family }));
      button.addEventListener("mouseleave", restore);
      button.addEventListener("click", () => toggle({ family }));
      item.append(button);
      legend.append(item);
    });
    rows.forEach((row) => {
      const pick = { agent: Number(row.dataset.agent) };
      row.addEventListener("mouseenter", () => highlight(pick));
      row.addEventListener("mouseleave", restore);
      row.addEventListener("click", (event) => { if (event.target.tagName !== "A") toggle(pick); });
    });
  }

  // The correlation heat-map: agents on both axes (labels every few cells so they stay legible),
  // red -1 through white 0 to blue +1, the pair under the pointer read out below.
  function drawHeatmap(data) {
    const canvas = document.getElementById("heatmap");
    const readout = document.getElementById("heatmap-readout");
    const n = data.size;
    const cells = new Int8Array(Uint8Array.from(atob(data.cells), (ch) => ch.charCodeAt(0)).buffer);
    const value = (i, j) => { const [r, c] = i >= j ? [i, j] : [j, i]; return cells[(r * (r + 1)) / 2 + c] / 100; };
    const fill = (v) => {
      const s = Math.round(255 * (1 - Math.min(1, Math.abs(v))));
      return v >= 0 ? "rgb(" + s + "," + s + ",255)" : "rgb(255," + s + "," + s + ")";
    };
    const margin = 34;
    let cell = 1;
    function draw() {
      const size = canvas.clientWidth;
      const ratio = window.devicePixelRatio || 1;
      canvas.width = size * ratio;
      canvas.height = size * ratio;
      const ctx = canvas.getContext("2d");
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, size, size);
      cell = (size - margin) / n;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          ctx.fillStyle = fill(value(i, j));
          ctx.fillRect(margin + j * cell, i * cell, Math.ceil(cell), Math.ceil(cell));
        }
      }
      const every = Math.max(1, Math.ceil(14 / cell));
      ctx.fillStyle = "#4a5866";
      ctx.font = "10px system-ui, sans-serif";
      for (let k = 0; k < n; k += every) {
        ctx.textAlign = "right"; ctx.textBaseline = "middle";
        ctx.fillText(String(k), margin - 4, (k + 0.5) * cell);
        ctx.textAlign = "center"; ctx.textBaseline = "top";
        ctx.fillText(String(k), margin + (k + 0.5) * cell, n * cell + 4);
      }
      ctx.textAlign = "left"; ctx.textBaseline = "bottom";
      ctx.fillText("agent", 0, size);
    }
    canvas.addEventListener("mousemove", (event) => {
      const box = canvas.getBoundingClientRect();
      const j = Math.floor((event.clientX - box.left - margin) / cell);
      const i = Math.floor((event.clientY - box.top) / cell);
      if (i < 0 || j < 0 || i >= n || j >= n) return;
      const v = value(i, j);
      readout.textContent = "Agent " + i + " × agent " + j + ": " + (v > 0 ? "+" : "") + v.toFixed(2);
    });
    draw();
    window.addEventListener("resize", draw);
  }

  // Drawn when the page loads and again when a finished run's results are swapped in: htmx fires
  // htmx:load on the body once it has started, then on each element it swaps in (htmx is loaded with
  // `defer`, after this script).
  document.addEventListener("htmx:load", (event) => {
    const root = event.target;
    if (!root.querySelector) return;
    const charts = root.querySelector("#cohort-chart-data");
    if (charts && window.Chart) drawCharts(JSON.parse(charts.textContent));
    const heatmap = root.querySelector("#cohort-heatmap-data");
    if (heatmap) drawHeatmap(JSON.parse(heatmap.textContent));
  });
})();
