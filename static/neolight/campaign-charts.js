// The campaign page's script. Draws its charts from the JSON the server embeds (#campaign-chart-data), and redraws
// them whenever a live update replaces that JSON: equity across the days with a dashed line where each
// day begins, each day's ROI, and each learning cycle's in-sample vs out-of-sample score.
(function () {
  // A link to a cycle (#cycle-<id>) opens its collapsed section and the list holding it.
  function openTarget() {
    const target = location.hash && document.getElementById(location.hash.slice(1));
    for (let node = target; node; node = node.parentElement) if (node.tagName === "DETAILS") node.open = true;
    if (target) target.scrollIntoView();
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();

  if (!window.Chart) return;
  const charts = {};
  const pad = (n) => String(n).padStart(2, "0");
  const when = (ms) => { const d = new Date(ms); return `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`; };
  const money = (v) => "$" + Number(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const signed = (v) => (v > 0 ? "+" : "") + Number(v).toFixed(2) + "%";

  // Ticks on whole UTC hours (1, 2, 3, 6, 12 or 24 apart), as many as the chart's width holds.
  function hourTicks(scale) {
    const hour = 3600 * 1000, room = Math.max(2, Math.floor(scale.width / 95));
    const step = [1, 2, 3, 6, 12, 24, 48, 96].find((h) => (scale.max - scale.min) / (h * hour) <= room) || 168;
    const ticks = [];
    for (let t = Math.ceil(scale.min / (step * hour)) * step * hour; t <= scale.max; t += step * hour) ticks.push({ value: t });
    scale.ticks = ticks;
  }

  const dayLines = {  // a dashed vertical line and the day's name where each day begins
    id: "dayLines",
    afterDatasetsDraw(chart, args, options) {
      const { ctx, chartArea, scales } = chart;
      ctx.save();
      ctx.strokeStyle = "#8a96a3"; ctx.fillStyle = "#4a5866"; ctx.setLineDash([4, 4]); ctx.font = "12px system-ui";
      for (const b of options.boundaries || []) {
        const x = scales.x.getPixelForValue(b.t);
        if (x < chartArea.left - 1 || x > chartArea.right + 1) continue;
        ctx.beginPath(); ctx.moveTo(x, chartArea.top); ctx.lineTo(x, chartArea.bottom); ctx.stroke();
        ctx.fillText(b.label, x + 4, chartArea.top + 12);
      }
      ctx.restore();
    },
  };

  function show(id, hasData) {
    const figure = document.getElementById(id).closest("figure");
    figure.classList.toggle("is-empty", !hasData);
  }

  function draw(kind, id, config, hasData) {
    show(id, hasData);
    if (charts[kind]) charts[kind].destroy();
    charts[kind] = hasData ? new Chart(document.getElementById(id), config) : null;
  }

  function render() {
    const source = document.getElementById("campaign-chart-data");
    if (!source) return;
    const data = JSON.parse(source.textContent);
    const base = { animation: false, responsive: true, maintainAspectRatio: false };
    draw("equity", "campaign-equity-chart", {
      type: "line",
      data: { datasets: [{ label: "Parent equity", data: data.t.map((t, i) => ({ x: t, y: data.equity[i] })),
                           borderColor: "#0b5cad", borderWidth: 1.5, pointRadius: 0, spanGaps: false }] },
      options: Object.assign({}, base, {
        parsing: false, interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: { type: "linear", min: Math.min(...data.t, ...data.boundaries.map((b) => b.t)),
               max: Math.max(...data.t, ...data.boundaries.map((b) => b.t)),
               afterBuildTicks: hourTicks, ticks: { callback: (v) => when(v), autoSkip: false, maxRotation: 0 },
               title: { display: true, text: "UTC" } },
          y: { ticks: { callback: (v) => money(v) } },
        },
        plugins: { legend: { display: false }, dayLines: { boundaries: data.boundaries },
                   tooltip: { callbacks: { title: (items) => when(items[0].parsed.x) + " UTC",
                                           label: (item) => money(item.parsed.y) } } },
      }),
      plugins: [dayLines],
    }, data.t.length > 1);
    draw("roi", "campaign-roi-chart", {
      type: "bar",
      data: { labels: data.days.map((d) => d.label),
              datasets: [{ label: "ROI", data: data.days.map((d) => d.roi),
                           backgroundColor: data.days.map((d) => (d.roi >= 0 ? "#2f8f4e" : "#b42318")) }] },
      options: Object.assign({}, base, {
        scales: { y: { ticks: { callback: (v) => signed(v) } } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (item) => "ROI " + signed(item.parsed.y) } } },
      }),
    }, data.days.length > 0);
    draw("cycles", "campaign-cycles-chart", {
      type: "bar",
      data: { labels: data.cycles.map((c) => c.label), datasets: [
        { label: "In-sample", data: data.cycles.map((c) => c.in_sample), backgroundColor: "#8fb4de" },
        { label: "Out-of-sample", data: data.cycles.map((c) => c.out_of_sample), backgroundColor: "#0b5cad" },
      ] },
      options: Object.assign({}, base, { plugins: { legend: { position: "bottom" } } }),
    }, data.cycles.length > 0);
  }

  render();
  document.body.addEventListener("htmx:oobAfterSwap", (event) => {
    if (event.target && event.target.id === "campaign-chart-box") render();
  });
})();
