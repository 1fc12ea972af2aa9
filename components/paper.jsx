// A paper account, live: one websocket to the broadcast hub (/live/ws, docs/broadcast.md) following the
// private topic paper.<account> (docs/paper.md). The snapshot is the account view (cash, equity, P&L,
// positions, fills, equity curve); each delta is one step of the account (a closed bar): cash, equity,
// positions, the closes and the new fills. The socket reconnects and resubscribes for a fresh snapshot.
import { useEffect, useRef, useState } from "react";
import { ColorType, LineSeries, createChart } from "lightweight-charts";
import { openHubSocket } from "./hubsocket.js";

const KEEP_POINTS = 2000;
const KEEP_FILLS = 50;
const COLORS = { light: { bg: "#ffffff", text: "#1f2937", grid: "#eef0f3", line: "#2563eb" },
                 dark: { bg: "#111113", text: "#d1d5db", grid: "#1f2023", line: "#60a5fa" } };

const money = (v) => (v === null || v === undefined || Number.isNaN(v) ? "–"
  : v.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const time = (ms) => new Date(ms).toLocaleTimeString(undefined, { hour12: false });

function fromSnapshot(view) {
  if (!view) return null;
  return {
    capital: view.capital, cash: view.cash, equity: view.equity, status: view.status, error: view.error,
    positions: Object.fromEntries(view.positions.map((p) => [p.symbol, { size: p.size, last: p.last_price }])),
    fills: view.fills.slice(0, KEEP_FILLS),
    curve: view.equity_curve.map(([t, e]) => ({ time: t / 1000, value: e })),
  };
}

function applyDelta(state, d) {
  if (!state) return state;
  const positions = {};
  for (const [symbol, size] of Object.entries(d.positions)) positions[symbol] = { size, last: d.closes[symbol] };
  const fills = [...d.fills.slice().reverse(), ...state.fills].slice(0, KEEP_FILLS);
  const point = { time: d.t / 1000, value: d.equity };
  const curve = [...state.curve.filter((p) => p.time < point.time), point].slice(-KEEP_POINTS);
  return { ...state, cash: d.cash, equity: d.equity, positions, fills, curve };
}

export function PaperAccount({ account, theme = "light", height = 220 }) {
  const box = useRef(null);
  const chart = useRef(null);
  const [state, setState] = useState(null);
  const [seq, setSeq] = useState(null);
  const [connected, setConnected] = useState(false);

  useEffect(() => {
    if (!box.current) return undefined;
    const p = COLORS[theme] || COLORS.light;
    const made = createChart(box.current, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: p.bg }, textColor: p.text, attributionLogo: false },
      grid: { vertLines: { color: p.grid }, horzLines: { color: p.grid } },
      timeScale: { timeVisible: true, secondsVisible: true },
    });
    chart.current = { chart: made, line: made.addSeries(LineSeries, { color: p.line, lineWidth: 2 }) };
    return () => { made.remove(); chart.current = null; };
  }, [theme]);

  useEffect(() => {
    if (chart.current && state) chart.current.line.setData(state.curve);
  }, [state]);

  useEffect(() => {
    if (!account) return undefined;
    const topic = `paper.${account}`;
    let last = null;
    let socket = null;
    const subscribe = () => socket.send({ op: "subscribe", topic, after: null, epoch: null });
    const handle = (frame) => {
      if (frame.topic !== topic) return;
      if (frame.kind === "snapshot") { last = frame.seq; setState(fromSnapshot(frame.data)); setSeq(frame.seq); }
      else if (frame.kind === "delta") {
        if (last !== null && frame.seq <= last) return;
        if (last !== null && frame.seq !== last + 1) { subscribe(); return; }
        last = frame.seq; setState((s) => applyDelta(s, frame.data)); setSeq(frame.seq);
      } else if (frame.kind === "resync") subscribe();
    };
    socket = openHubSocket({
      onConnection: (state) => setConnected(state === "open"),
      onOpen: () => { last = null; subscribe(); },
      onFrame: handle,
    });
    return () => socket.close();
  }, [account]);

  const pnl = state ? state.equity - state.capital : null;
  const rows = state ? Object.entries(state.positions) : [];
  const cell = { padding: "2px 8px", textAlign: "right", fontVariantNumeric: "tabular-nums" };
  return (
    <div data-testid="paper-account" data-account={account} data-seq={seq === null ? "" : String(seq)}
         data-connected={connected ? "yes" : "no"} style={{ width: "100%" }}>
      <div style={{ display: "flex", gap: "20px", flexWrap: "wrap", fontSize: "14px", marginBottom: "6px" }}>
        <span>Equity <b data-testid="paper-equity">{state ? money(state.equity) : "–"}</b></span>
        <span>Cash <b data-testid="paper-cash">{state ? money(state.cash) : "–"}</b></span>
        <span>P&amp;L <b data-testid="paper-pnl" style={{ color: pnl === null ? undefined : pnl >= 0 ? "#16a34a" : "#dc2626" }}>
          {pnl === null ? "–" : money(pnl)}</b></span>
      </div>
      <div ref={box} data-testid="paper-equity-chart" style={{ width: "100%", height: `${height}px` }} />
      <table data-testid="paper-positions" style={{ fontSize: "13px", marginTop: "6px" }}>
        <thead><tr><th style={cell}>Symbol</th><th style={cell}>Size</th><th style={cell}>Last</th><th style={cell}>Value</th></tr></thead>
        <tbody>{rows.map(([symbol, p]) => (
          <tr key={symbol} data-testid="paper-position"><td style={cell}>{symbol}</td><td style={cell}>{p.size}</td>
            <td style={cell}>{money(p.last)}</td><td style={cell}>{money(p.size * p.last)}</td></tr>))}</tbody>
      </table>
      <table data-testid="paper-fills" style={{ fontSize: "13px", marginTop: "6px" }}>
        <thead><tr><th style={cell}>#</th><th style={cell}>Time</th><th style={cell}>Symbol</th><th style={cell}>Size</th>
          <th style={cell}>Price</th><th style={cell}>Commission</th></tr></thead>
        <tbody>{(state ? state.fills : []).map((f) => (
          <tr key={f.seq} data-testid="paper-fill"><td style={cell}>{f.seq}</td><td style={cell}>{time(f.ts)}</td>
            <td style={cell}>{f.symbol}</td><td style={cell}>{f.size}</td><td style={cell}>{money(f.price)}</td>
            <td style={cell}>{money(f.commission)}</td></tr>))}</tbody>
      </table>
    </div>
  );
}
