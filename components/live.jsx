// Live market data: one websocket to the broadcast hub (/live/ws, quanta/broadcast, docs/broadcast.md),
// a candlestick chart that ticks as bars arrive, the last price, change, volume and indicator values.
// The socket reconnects with exponential backoff and resumes after the last sequence number applied,
// so a reconnect neither skips nor repeats a bar; a client too far behind gets a fresh snapshot.
import { useEffect, useRef, useState } from "react";
import { CandlestickSeries, ColorType, HistogramSeries, LineSeries, createChart } from "lightweight-charts";
import { openHubSocket } from "./hubsocket.js";

const PALETTES = {
  light: { bg: "#ffffff", text: "#1f2937", grid: "#eef0f3", up: "#16a34a", down: "#dc2626", sma: "#2563eb", ema: "#d97706" },
  dark: { bg: "#111113", text: "#d1d5db", grid: "#1f2023", up: "#22c55e", down: "#ef4444", sma: "#60a5fa", ema: "#fbbf24" },
};
const KEEP_BARS = 600;
const SINCE = /\(?no bars since (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\)?/; // quanta.broadcast.market's stale detail

function chartOptions(theme) {
  const p = PALETTES[theme] || PALETTES.light;
  return {
    autoSize: true,
    layout: { background: { type: ColorType.Solid, color: p.bg }, textColor: p.text, attributionLogo: false },
    grid: { vertLines: { color: p.grid }, horzLines: { color: p.grid } },
    rightPriceScale: { borderVisible: false },
    timeScale: { borderVisible: false, timeVisible: true, secondsVisible: true },
  };
}

const candle = (bar) => ({ time: bar.t / 1000, open: bar.o, high: bar.h, low: bar.l, close: bar.c });
const volume = (bar, p) => ({ time: bar.t / 1000, value: bar.v, color: (bar.c >= bar.o ? p.up : p.down) + "66" });

function indicatorPoint(bar, name) {
  const value = bar.x ? bar.x[name] : null;
  return value === null || value === undefined ? { time: bar.t / 1000 } : { time: bar.t / 1000, value };
}

function formatNumber(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return value.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

// What a stale topic shows: since when (the last bar's time from the server, else when the client
// heard of it) and why, without the time stamp.
function staleNote(topicState) {
  const detail = topicState.detail || "";
  const match = SINCE.exec(detail);
  const since = match ? new Date(match[1]) : topicState.at ? new Date(topicState.at) : null;
  const reason = detail.replace(SINCE, "").replace(/[\s;:]+$/, "").trim();
  if (!match && reason === "waiting for the first data") return { since: null, text: "Waiting for the first bars…" };
  const clock = since ? since.toLocaleTimeString(undefined, { hour12: false }) : "";
  return {
    since,
    text: `Feed stale since ${clock}${reason ? ` — ${reason}` : ""}. Showing the last bars; it resumes by itself.`,
  };
}

function summary(bars) {
  const last = bars[bars.length - 1];
  if (!last) return null;
  const previous = bars.length > 1 ? bars[bars.length - 2].c : last.o;
  const change = last.c - previous;
  return {
    t: last.t,
    bars: bars.length,
    close: last.c,
    change,
    changePct: previous ? (100 * change) / previous : 0,
    volume: last.v,
    indicators: last.x || {},
    forming: Boolean(last.f), // the window is still open: the candle moves with the ticks
  };
}

export function LiveMarket({ symbol = "GOOG", topicPrefix = "market.bars.1s.", serverUrl, theme = "light", height = 420 }) {
  const container = useRef(null);
  const chart = useRef(null);
  const series = useRef({});
  const conn = useRef({ topic: null, seq: null, epoch: null, bars: [], send: null, subscribe: null });
  const [connection, setConnection] = useState("connecting");
  const [topicState, setTopicState] = useState({ state: "stale", detail: "" });
  const [view, setView] = useState(null);
  const [seq, setSeq] = useState(null);

  const themeRef = useRef(theme);
  themeRef.current = theme;

  // The chart.
  useEffect(() => {
    const p = PALETTES[theme] || PALETTES.light;
    const c = createChart(container.current, chartOptions(theme));
    const candles = c.addSeries(CandlestickSeries, {
      upColor: p.up, downColor: p.down, wickUpColor: p.up, wickDownColor: p.down, borderVisible: false,
    });
    const volumes = c.addSeries(HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "" });
    volumes.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    candles.priceScale().applyOptions({ scaleMargins: { top: 0.05, bottom: 0.25 } });
    const line = (color, title) =>
      c.addSeries(LineSeries, { color, lineWidth: 2, priceLineVisible: false, lastValueVisible: false, title });
    chart.current = c;
    series.current = { candles, volumes, sma: line(p.sma, "SMA 20"), ema: line(p.ema, "EMA 20") };
    return () => {
      c.remove();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    if (chart.current) chart.current.applyOptions(chartOptions(theme));
  }, [theme]);

  // The connection: open, resume, keep alive, reconnect.
  useEffect(() => {
    const c = conn.current;

    const draw = () => {
      const s = series.current;
      if (!s.candles) return;
      const p = PALETTES[themeRef.current] || PALETTES.light;
      s.candles.setData(c.bars.map(candle));
      s.volumes.setData(c.bars.map((bar) => volume(bar, p)));
      s.sma.setData(c.bars.map((bar) => indicatorPoint(bar, "sma_20")));
      s.ema.setData(c.bars.map((bar) => indicatorPoint(bar, "ema_20")));
      if (chart.current) chart.current.timeScale().scrollToRealTime();
    };

    const applyBar = (bar) => {
      const s = series.current;
      const bars = c.bars;
      const last = bars[bars.length - 1];
      const p = PALETTES[themeRef.current] || PALETTES.light;
      let historical = false;
      if (!last || bar.t > last.t) {
        bars.push(bar);
        if (bars.length > KEEP_BARS) bars.shift();
      } else {
        const at = bars.findIndex((b) => b.t === bar.t);
        if (at >= 0) bars[at] = bar;
        else {
          bars.push(bar); // a window older than the newest that had no bar: rare, redraw in order
          bars.sort((a, b) => a.t - b.t);
          draw();
          return;
        }
        historical = at < bars.length - 1;
      }
      if (!s.candles) return;
      s.candles.update(candle(bar), historical);
      s.volumes.update(volume(bar, p), historical);
      s.sma.update(indicatorPoint(bar, "sma_20"), historical);
      s.ema.update(indicatorPoint(bar, "ema_20"), historical);
    };

    const handle = (frame) => {
      if (frame.kind === "pong") return;
      if (frame.topic !== c.topic) return; // a late frame of the symbol shown before
      if (frame.kind === "snapshot") {
        c.seq = frame.seq;
        c.epoch = frame.epoch;
        c.bars = ((frame.data && frame.data.bars) || []).slice(-KEEP_BARS);
        draw();
        setView(summary(c.bars));
      } else if (frame.kind === "delta") {
        if (c.seq !== null && frame.seq <= c.seq) return; // already applied
        if (c.seq !== null && frame.seq !== c.seq + 1) {
          c.subscribe(); // a gap (the server never sends one): ask again from the last applied
          return;
        }
        c.seq = frame.seq;
        applyBar(frame.data);
        setView(summary(c.bars));
      } else if (frame.kind === "status") {
        setTopicState({ ...frame.data, at: Date.now() });
      } else if (frame.kind === "resync") {
        c.subscribe();
        return;
      } else if (frame.kind === "error") {
        setTopicState({ state: "stale", detail: frame.data.detail });
        return;
      }
      setSeq(c.seq);
    };

    const socket = openHubSocket({
      serverUrl,
      onConnection: setConnection,
      onOpen: () => c.subscribe(),
      onFrame: handle,
    });
    c.send = socket.send;
    c.subscribe = () => {
      if (c.topic) socket.send({ op: "subscribe", topic: c.topic, after: c.seq, epoch: c.epoch });
    };
    return () => {
      socket.close();
      c.send = null;
      c.subscribe = null;
    };
  }, [serverUrl]);

  // The symbol: follow its topic from a snapshot.
  useEffect(() => {
    const c = conn.current;
    const topic = topicPrefix + symbol;
    if (c.topic === topic) return;
    if (c.topic && c.send) c.send({ op: "unsubscribe", topic: c.topic });
    c.topic = topic;
    c.seq = null;
    c.epoch = null;
    c.bars = [];
    const s = series.current;
    if (s.candles) Object.values(s).forEach((one) => one.setData([]));
    setView(null);
    setSeq(null);
    setTopicState({ state: "stale", detail: "" });
    if (c.subscribe) c.subscribe();
  }, [symbol, topicPrefix]);

  const status = connection !== "open" ? connection : topicState.state;
  const colour = status === "live" ? "#16a34a" : status === "stale" ? "#d97706" : "#6b7280";
  const up = view && view.change >= 0;
  const indicators = view ? Object.entries(view.indicators).sort(([a], [b]) => a.localeCompare(b)) : [];
  const stale = status === "stale" ? staleNote(topicState) : null;

  return (
    <div
      data-testid="live-market"
      data-symbol={symbol}
      data-seq={seq === null ? "" : String(seq)}
      data-bars={view ? String(view.bars) : "0"}
      data-forming={view && view.forming ? "true" : "false"}
      style={{ width: "100%" }}
    >
      <div style={{ display: "flex", flexWrap: "wrap", alignItems: "baseline", gap: "1.25em", marginBottom: "0.5em" }}>
        <span style={{ fontSize: "1.6em", fontWeight: 700 }} data-testid="live-last-price">
          {view ? formatNumber(view.close) : "–"}
        </span>
        <span data-testid="live-change" style={{ color: view ? (up ? "#16a34a" : "#dc2626") : undefined }}>
          {view ? `${up ? "+" : ""}${formatNumber(view.change)} (${up ? "+" : ""}${formatNumber(view.changePct)} %)` : "–"}
        </span>
        <span>
          Vol <span data-testid="live-volume">{view ? formatNumber(view.volume, 0) : "–"}</span>
        </span>
        {indicators.map(([name, value]) => (
          <span key={name}>
            {name.replace("_", " ").toUpperCase()}{" "}
            <span data-testid={`live-indicator-${name}`}>{formatNumber(value)}</span>
          </span>
        ))}
        <span
          data-testid="live-status"
          data-state={status}
          title={topicState.detail || ""}
          style={{
            marginLeft: "auto", padding: "0.1em 0.6em", borderRadius: "999px", fontSize: "0.85em",
            fontWeight: 600, color: "#fff", background: colour,
          }}
        >
          {status}
        </span>
      </div>
      {stale && (
        <div
          data-testid="live-stale"
          data-since={stale.since ? stale.since.toISOString() : ""}
          role="status"
          style={{
            marginBottom: "0.5em", padding: "0.35em 0.75em", borderRadius: "6px", fontSize: "0.9em",
            color: "#92400e", background: "#fef3c7", border: "1px solid #f59e0b",
          }}
        >
          {stale.text}
        </div>
      )}
      <div ref={container} data-testid="live-chart" style={{ width: "100%", height }} />
    </div>
  );
}
