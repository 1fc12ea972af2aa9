// A candlestick chart with volume, line overlays and trade markers, on TradingView's lightweight-charts.
// Data arrives columnar ({t, o, h, l, c, v}) to keep the websocket payload compact.
import { useEffect, useRef } from "react";
import {
  CandlestickSeries,
  ColorType,
  CrosshairMode,
  HistogramSeries,
  LineSeries,
  createChart,
  createSeriesMarkers,
} from "lightweight-charts";

const PALETTES = {
  light: { bg: "#ffffff", text: "#1f2937", grid: "#eef0f3", up: "#16a34a", down: "#dc2626" },
  dark: { bg: "#111113", text: "#d1d5db", grid: "#1f2023", up: "#22c55e", down: "#ef4444" },
};

function chartOptions(theme) {
  const p = PALETTES[theme] || PALETTES.light;
  return {
    autoSize: true,
    layout: { background: { type: ColorType.Solid, color: p.bg }, textColor: p.text, attributionLogo: false },
    grid: { vertLines: { color: p.grid }, horzLines: { color: p.grid } },
    crosshair: { mode: CrosshairMode.Normal },
    rightPriceScale: { borderVisible: false },
    timeScale: { borderVisible: false, timeVisible: false, minBarSpacing: 0.01 },
  };
}

function candleRows(bars) {
  const { t = [], o = [], h = [], l = [], c = [] } = bars || {};
  return t.map((time, i) => ({ time, open: o[i], high: h[i], low: l[i], close: c[i] }));
}

function volumeRows(bars, theme) {
  const p = PALETTES[theme] || PALETTES.light;
  const { t = [], o = [], c = [], v = [] } = bars || {};
  return t.map((time, i) => ({ time, value: v[i], color: (c[i] >= o[i] ? p.up : p.down) + "66" }));
}

function lineRows(times, values) {
  const rows = [];
  for (let i = 0; i < times.length; i++) {
    if (values[i] !== null && values[i] !== undefined) rows.push({ time: times[i], value: values[i] });
  }
  return rows;
}

export function CandleChart({ bars, overlays = [], markers = [], theme = "light", height = 460, id }) {
  const container = useRef(null);
  const chart = useRef(null);
  const series = useRef({ candles: null, volume: null, lines: [], markers: null });

  useEffect(() => {
    const p = PALETTES[theme] || PALETTES.light;
    const c = createChart(container.current, chartOptions(theme));
    const candles = c.addSeries(CandlestickSeries, {
      upColor: p.up, downColor: p.down, wickUpColor: p.up, wickDownColor: p.down, borderVisible: false,
    });
    const volume = c.addSeries(HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "" });
    volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    candles.priceScale().applyOptions({ scaleMargins: { top: 0.05, bottom: 0.25 } });
    chart.current = c;
    series.current = { candles, volume, lines: [], markers: createSeriesMarkers(candles, []) };
    return () => {
      c.remove();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    if (chart.current) chart.current.applyOptions(chartOptions(theme));
  }, [theme]);

  useEffect(() => {
    const s = series.current;
    if (!chart.current || !s.candles) return;
    s.candles.setData(candleRows(bars));
    s.volume.setData(volumeRows(bars, theme));
    chart.current.timeScale().fitContent();
    if (container.current) container.current.dataset.bars = String((bars && bars.t && bars.t.length) || 0);
  }, [bars, theme]);

  useEffect(() => {
    const s = series.current;
    if (!chart.current) return;
    s.lines.forEach((line) => chart.current.removeSeries(line));
    const times = (bars && bars.t) || [];
    s.lines = (overlays || []).map((overlay) => {
      const line = chart.current.addSeries(LineSeries, {
        color: overlay.color, lineWidth: 2, priceLineVisible: false, lastValueVisible: false,
        title: overlay.name, lineStyle: overlay.dashed ? 2 : 0,
      });
      line.setData(lineRows(times, overlay.values || []));
      return line;
    });
  }, [bars, overlays]);

  useEffect(() => {
    if (series.current.markers) series.current.markers.setMarkers(markers || []);
    if (container.current) container.current.dataset.markers = String((markers || []).length);
  }, [markers]);

  return <div id={id} ref={container} data-testid="candle-chart" style={{ width: "100%", height }} />;
}
