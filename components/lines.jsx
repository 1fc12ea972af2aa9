// Time series as lines or areas (equity, drawdown) on TradingView's lightweight-charts.
// Series arrive columnar: {t: [seconds…], series: [{name, color, values: […], area, scale}]}.
import { useEffect, useRef } from "react";
import { AreaSeries, ColorType, LineSeries, createChart } from "lightweight-charts";

const PALETTES = {
  light: { bg: "#ffffff", text: "#1f2937", grid: "#eef0f3" },
  dark: { bg: "#111113", text: "#d1d5db", grid: "#1f2023" },
};

function options(theme) {
  const p = PALETTES[theme] || PALETTES.light;
  return {
    autoSize: true,
    layout: { background: { type: ColorType.Solid, color: p.bg }, textColor: p.text, attributionLogo: false },
    grid: { vertLines: { color: p.grid }, horzLines: { color: p.grid } },
    rightPriceScale: { borderVisible: false },
    timeScale: { borderVisible: false, minBarSpacing: 0.01 },
  };
}

function rows(times, values) {
  const out = [];
  for (let i = 0; i < times.length; i++) {
    if (values[i] !== null && values[i] !== undefined) out.push({ time: times[i], value: values[i] });
  }
  return out;
}

export function LineChart({ data, theme = "light", height = 260, id }) {
  const container = useRef(null);
  const chart = useRef(null);
  const lines = useRef([]);

  useEffect(() => {
    chart.current = createChart(container.current, options(theme));
    return () => {
      chart.current.remove();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    if (chart.current) chart.current.applyOptions(options(theme));
  }, [theme]);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    lines.current.forEach((line) => c.removeSeries(line));
    const times = (data && data.t) || [];
    lines.current = ((data && data.series) || []).map((s) => {
      const line = s.area
        ? c.addSeries(AreaSeries, {
            lineColor: s.color, topColor: s.color + "55", bottomColor: s.color + "08", lineWidth: 2,
            priceLineVisible: false, title: s.name,
          })
        : c.addSeries(LineSeries, { color: s.color, lineWidth: 2, priceLineVisible: false, title: s.name });
      line.setData(rows(times, s.values || []));
      return line;
    });
    c.timeScale().fitContent();
    if (container.current) container.current.dataset.points = String(times.length);
  }, [data]);

  return <div id={id} ref={container} data-testid="line-chart" style={{ width: "100%", height }} />;
}
