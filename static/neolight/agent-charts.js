// Candles of the chosen symbol with the agent's fills as markers, and its equity (lightweight-charts v5).
// Times are UTC (the crosshair label says so); equity reads as dollars and cents.
(function () {
  const source = document.getElementById("agent-chart-data");
  if (!source || !window.LightweightCharts) return;
  const data = JSON.parse(source.textContent);
  const LC = window.LightweightCharts;
  const pad = (n) => String(n).padStart(2, "0");
  const stamp = (seconds) => {
    const d = new Date(seconds * 1000);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + " UTC";
  };
  const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  const options = (extra) => Object.assign({
    autoSize: true, timeScale: { timeVisible: true, secondsVisible: false },
    localization: { timeFormatter: stamp },
  }, extra || {});
  const candles = LC.createChart(document.getElementById("candles"), options());
  const series = candles.addSeries(LC.CandlestickSeries, {});
  series.setData(data.candles);
  if (data.markers.length) LC.createSeriesMarkers(series, data.markers);
  candles.timeScale().fitContent();
  const equity = LC.createChart(document.getElementById("equity"),
    options({ localization: { timeFormatter: stamp, priceFormatter: (v) => money.format(v) } }));
  equity.addSeries(LC.LineSeries, { color: "#0b5cad", lineWidth: 2 }).setData(data.equity);
  equity.timeScale().fitContent();
})();
