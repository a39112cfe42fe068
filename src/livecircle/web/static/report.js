// Post-show report charts (ECharts, vendored at /static/vendor/echarts.min.js). The data and the
// translated labels come from the page's <script type="application/json" id="report-data">.
const source = document.getElementById("report-data");
const echarts = window.echarts;

const HEIGHTS = { curve: 280, interaction: 320, funnel: 260, products: 300, segments: 280 };
const COLORS = ["#e8452c", "#f5a623", "#7b61ff", "#2bb673", "#1f8ef1", "#8a8a8a"];

function curveOption(d) {
  return {
    color: COLORS,
    tooltip: { trigger: "axis" },
    grid: { left: 48, right: 16, top: 24, bottom: 40 },
    xAxis: { type: "value", name: d.minute, nameLocation: "middle", nameGap: 26, min: 0 },
    yAxis: { type: "value", name: d.online, minInterval: 1 },
    series: [{
      type: "line", name: d.online, showSymbol: false, areaStyle: { opacity: 0.12 },
      data: d.curve.map(([seconds, online]) => [Math.round((seconds / 60) * 100) / 100, online]),
    }],
  };
}

function interactionOption(d) {
  const series = Object.entries(d.labels.series).map(([key, name]) => ({
    type: "bar", stack: "all", name, data: d.minutes.map((m) => m[key]),
  }));
  series[0].markPoint = {
    symbol: "pin", symbolSize: 44,
    data: d.peaks.map((p, i) => ({ name: p.text, coord: [String(p.minute), p.total], value: `#${i + 1}` })),
    tooltip: { formatter: (item) => item.name || item.value },
  };
  return {
    color: COLORS,
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 40, right: 16, top: 48, bottom: 40 },
    xAxis: { type: "category", name: d.minute, nameLocation: "middle", nameGap: 26, data: d.minutes.map((m) => String(m.minute)) },
    yAxis: { type: "value", minInterval: 1 },
    series,
  };
}

function funnelOption(d) {
  return {
    color: COLORS,
    tooltip: { trigger: "item", formatter: "{b}: {c}" },
    series: [{ type: "funnel", sort: "none", minSize: "8%", label: { formatter: "{b}: {c}" }, data: d.funnel }],
  };
}

function productsOption(d) {
  const names = d.products.map((p) => p.name).reverse();
  return {
    color: [COLORS[4], COLORS[1]],
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 120, right: 24, top: 32, bottom: 24 },
    xAxis: { type: "value" },
    yAxis: { type: "category", data: names },
    series: [
      { type: "bar", name: d.labels.metrics.paid_cents, data: d.products.map((p) => p.paid_cents / 100).reverse() },
      { type: "bar", name: d.labels.metrics.orders, data: d.products.map((p) => p.orders).reverse() },
    ],
  };
}

function segmentsOption(d) {
  return {
    color: COLORS,
    tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
    legend: { bottom: 0 },
    series: [{ type: "pie", radius: ["35%", "65%"], data: d.segments.filter((s) => s.value > 0) }],
  };
}

const OPTIONS = {
  curve: curveOption,
  interaction: interactionOption,
  funnel: funnelOption,
  products: productsOption,
  segments: segmentsOption,
};

function draw() {
  if (!source || !echarts) return;
  const data = JSON.parse(source.textContent);
  const charts = [];
  for (const el of document.querySelectorAll("[data-chart]")) {
    const make = OPTIONS[el.dataset.chart];
    if (!make) continue;
    el.style.height = `${HEIGHTS[el.dataset.chart] || 280}px`;
    const chart = echarts.init(el);
    chart.setOption(make(data));
    el.dataset.drawn = "true";
    charts.push(chart);
  }
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
}

draw();
