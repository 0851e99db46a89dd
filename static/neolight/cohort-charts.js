// Draws the cohort page's charts from the JSON the server embedded (#cohort-chart-data), when the page
// loads and again when a finished run's results are swapped in: htmx fires htmx:load on the body once it
// has started, then on each element it swaps in. (htmx is loaded with `defer`, after this script.)
document.addEventListener("htmx:load", function (event) {
  const root = event.target;
  const source = root.querySelector && root.querySelector("#cohort-chart-data");
  if (!source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const time = (ms) => new Date(ms).toISOString().slice(11, 16);
  const base = {
    animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
    interaction: { mode: "nearest", intersect: false },
    plugins: { legend: { display: false }, decimation: { enabled: true, algorithm: "lttb" } },
    scales: { x: { type: "linear", ticks: { callback: (v) => time(v), maxTicksLimit: 8 } } },
  };
  const points = (ts, ys) => ts.map((t, i) => ({ x: t, y: ys[i] }));
  const line = (id, datasets, extra) => new Chart(root.querySelector("#" + id), {
    type: "line", data: { datasets }, options: Object.assign({}, base, extra || {}),
  });
  line("parent-chart", [{ label: "Parent equity", data: points(data.t, data.parent), borderColor: "#0b5cad", pointRadius: 0, borderWidth: 1.5 }]);
  line("utilisation-chart", [{ label: "Utilisation %", data: points(data.t, data.utilisation), borderColor: "#6b4a00", pointRadius: 0, borderWidth: 1, fill: true, backgroundColor: "rgba(245,165,36,.15)" }]);
  line("agents-chart", data.agents.map((ys, i) => ({
    label: "Agent " + i, data: points(data.agents_t, ys), pointRadius: 0, borderWidth: 1,
    borderColor: "hsl(" + ((i * 47) % 360) + ",60%,45%)",
  })), { plugins: { legend: { display: false }, tooltip: { mode: "nearest" } } });
});
