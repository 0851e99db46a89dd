// Candles of the chosen symbol with the agent's fills as markers, and its equity (lightweight-charts v5).
(function () {
  const source = document.getElementById("agent-chart-data");
  if (!source || !window.LightweightCharts) return;
  const data = JSON.parse(source.textContent);
  const LC = window.LightweightCharts;
  const options = { autoSize: true, timeScale: { timeVisible: true, secondsVisible: false } };
  const candles = LC.createChart(document.getElementById("candles"), options);
  const series = candles.addSeries(LC.CandlestickSeries, {});
  series.setData(data.candles);
  if (data.markers.length) LC.createSeriesMarkers(series, data.markers);
  candles.timeScale().fitContent();
  const equity = LC.createChart(document.getElementById("equity"), options);
  equity.addSeries(LC.LineSeries, { color: "#0b5cad", lineWidth: 2 }).setData(data.equity);
  equity.timeScale().fitContent();
})();
