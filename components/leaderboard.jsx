// A competition's live leaderboard: one websocket to the broadcast hub (/live/ws, docs/broadcast.md),
// topic competition.<id>.board (quanta/competitions/board.py). The snapshot holds every row and each
// entry's recent equity points; a delta holds only the rows that changed. The socket reconnects with
// backoff and resumes after the last sequence number applied (no row update skipped or applied twice).
// Rows sit at absolute positions by rank, so a rank change slides the row to its new place.
import { useEffect, useRef, useState } from "react";
import { ColorType, LineSeries, createChart } from "lightweight-charts";
import { openHubSocket } from "./hubsocket.js";

const KEEP_POINTS = 240;
const ROW_PX = 44;
const TOP_LINES = 5;
const LINE_COLOURS = ["#2563eb", "#16a34a", "#d97706", "#db2777", "#7c3aed"];
const PALETTES = {
  light: { bg: "#ffffff", text: "#1f2937", grid: "#eef0f3", mine: "#eff6ff", up: "#16a34a", down: "#dc2626", line: "#e5e7eb" },
  dark: { bg: "#111113", text: "#d1d5db", grid: "#1f2023", mine: "#172554", up: "#22c55e", down: "#ef4444", line: "#27272a" },
};

function formatNumber(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

// One equity point per mark; a point for the same or an earlier mark replaces those from there on.
function addPoint(points, t, eq) {
  while (points.length && points[points.length - 1][0] >= t) points.pop();
  points.push([t, eq]);
  if (points.length > KEEP_POINTS) points.splice(0, points.length - KEEP_POINTS);
}

function Sparkline({ points, width = 96, height = 24, colour }) {
  if (!points || points.length < 2) return <svg width={width} height={height} />;
  const values = points.map((p) => p[1]);
  const low = Math.min(...values);
  const high = Math.max(...values);
  const span = high - low || 1;
  const path = points
    .map((p, i) => `${((i / (points.length - 1)) * width).toFixed(1)},${(height - ((p[1] - low) / span) * height).toFixed(1)}`)
    .join(" ");
  return (
    <svg width={width} height={height} data-testid="leaderboard-sparkline">
      <polyline points={path} fill="none" stroke={colour} strokeWidth="1.5" />
    </svg>
  );
}

export function Leaderboard({ competition, mine = [], capital = 0, serverUrl, theme = "light" }) {
  const chartBox = useRef(null);
  const chart = useRef(null);
  const lines = useRef({});
  const conn = useRef({ topic: null, seq: null, epoch: null });
  const board = useRef({ rows: {}, series: {}, moved: {} });
  const [view, setView] = useState({ rows: [], final: false, seq: null });
  const [connection, setConnection] = useState("connecting");
  const [topicState, setTopicState] = useState("stale");
  const p = PALETTES[theme] || PALETTES.light;
  const mineSet = new Set(mine || []);

  // The chart of the top entries' equity.
  useEffect(() => {
    const c = createChart(chartBox.current, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: p.bg }, textColor: p.text, attributionLogo: false },
      grid: { vertLines: { color: p.grid }, horzLines: { color: p.grid } },
      rightPriceScale: { borderVisible: false },
      timeScale: { borderVisible: false, timeVisible: true, secondsVisible: true },
    });
    chart.current = c;
    return () => {
      c.remove();
      chart.current = null;
      lines.current = {};
    };
  }, [theme]);

  const drawChart = (rows) => {
    const c = chart.current;
    if (!c) return;
    const top = rows.slice(0, TOP_LINES).map((row) => row.id);
    for (const [id, series] of Object.entries(lines.current)) {
      if (!top.includes(id)) {
        c.removeSeries(series);
        delete lines.current[id];
      }
    }
    top.forEach((id, index) => {
      const row = board.current.rows[id];
      let series = lines.current[id];
      if (!series) {
        series = c.addSeries(LineSeries, { lineWidth: 2, priceLineVisible: false, lastValueVisible: false });
        lines.current[id] = series;
      }
      series.applyOptions({ color: LINE_COLOURS[index], title: row ? row.user || row.title : id });
      const seen = new Set();
      const data = [];
      for (const [t, eq] of board.current.series[id] || []) {
        const time = Math.floor(t / 1000);
        if (seen.has(time)) data.pop();
        seen.add(time);
        data.push({ time, value: eq });
      }
      series.setData(data);
    });
  };

  const publish = (final) => {
    const rows = Object.values(board.current.rows).sort((a, b) => a.rank - b.rank);
    setView({ rows, final, seq: conn.current.seq });
    drawChart(rows);
  };

  useEffect(() => {
    const c = conn.current;
    const b = board.current;
    c.topic = `competition.${competition}.board`;
    c.seq = null;
    c.epoch = null;
    let final = false;
    let socket = null;
    const subscribe = () => socket.send({ op: "subscribe", topic: c.topic, after: c.seq, epoch: c.epoch });

    const take = (row) => {
      const before = b.rows[row.id];
      if (before && before.rank !== row.rank) b.moved[row.id] = { from: before.rank, at: Date.now() };
      b.rows[row.id] = row;
      addPoint((b.series[row.id] = b.series[row.id] || []), row.t, row.eq);
    };

    const handle = (frame) => {
      if (frame.kind === "pong" || frame.topic !== c.topic) return;
      if (frame.kind === "snapshot") {
        c.seq = frame.seq;
        c.epoch = frame.epoch;
        const data = frame.data || { rows: [], series: {} };
        b.rows = {};
        b.series = {};
        for (const row of data.rows || []) b.rows[row.id] = row;
        for (const [id, points] of Object.entries(data.series || {})) b.series[id] = points.slice(-KEEP_POINTS);
        final = Boolean(data.final);
      } else if (frame.kind === "delta") {
        if (c.seq !== null && frame.seq <= c.seq) return;
        if (c.seq !== null && frame.seq !== c.seq + 1) {
          subscribe();
          return;
        }
        c.seq = frame.seq;
        for (const row of frame.data.rows || []) take(row);
        final = final || Boolean(frame.data.final);
      } else if (frame.kind === "status") {
        setTopicState(frame.data.state);
        return;
      } else if (frame.kind === "resync") {
        subscribe();
        return;
      } else {
        return;
      }
      setTopicState("live");
      publish(final);
    };

    socket = openHubSocket({ serverUrl, onConnection: setConnection, onOpen: subscribe, onFrame: handle });
    return () => socket.close();
  }, [competition, serverUrl]);

  const status = connection !== "open" ? connection : view.final ? "final" : topicState;
  const rows = view.rows;
  const byId = [...rows].sort((a, b) => (a.id < b.id ? -1 : 1)); // stable DOM order; position by rank
  const cell = { overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" };
  const columns = "3em minmax(6em, 1.2fr) minmax(8em, 1.6fr) 6em 6em 6em 4em 7em";

  return (
    <div
      data-testid="leaderboard"
      data-competition={competition}
      data-seq={view.seq === null ? "" : String(view.seq)}
      data-status={status}
      data-final={view.final ? "true" : "false"}
      style={{ width: "100%" }}
    >
      <div style={{ display: "flex", gap: "1em", alignItems: "baseline", marginBottom: "0.5em" }}>
        <span data-testid="leaderboard-status" style={{ fontWeight: 600, color: status === "live" ? p.up : status === "final" ? p.text : "#d97706" }}>
          {status === "final" ? "Final ranking" : status === "live" ? "● live" : status}
        </span>
        <span style={{ opacity: 0.7 }}>{rows.length} entries · starting capital {formatNumber(capital, 0)}</span>
      </div>
      <div style={{ display: "grid", gridTemplateColumns: columns, gap: "0.5em", fontSize: "0.8em", opacity: 0.7, padding: "0 0.5em" }}>
        <span>#</span><span>Trader</span><span>Entry</span><span style={{ textAlign: "right" }}>Score</span>
        <span style={{ textAlign: "right" }}>Return</span><span style={{ textAlign: "right" }}>Drawdown</span>
        <span style={{ textAlign: "right" }}>Trades</span><span>Equity</span>
      </div>
      <div style={{ position: "relative", height: `${rows.length * ROW_PX}px`, transition: "height 0.3s" }}>
        {byId.map((row) => {
          const moved = board.current.moved[row.id];
          const recent = moved && Date.now() - moved.at < 2500;
          const arrow = recent ? (row.rank < moved.from ? "▲" : "▼") : "";
          const own = mineSet.has(row.id);
          return (
            <div
              key={row.id}
              data-testid="leaderboard-row"
              data-entry={row.id}
              data-rank={String(row.rank)}
              data-mine={own ? "true" : "false"}
              style={{
                position: "absolute", left: 0, right: 0, height: `${ROW_PX - 4}px`,
                transform: `translateY(${(row.rank - 1) * ROW_PX}px)`, transition: "transform 0.6s ease",
                display: "grid", gridTemplateColumns: columns, gap: "0.5em", alignItems: "center", padding: "0 0.5em",
                borderRadius: "6px", background: own ? p.mine : "transparent", borderBottom: `1px solid ${p.line}`,
                fontWeight: own ? 600 : 400,
              }}
            >
              <span data-testid="leaderboard-rank">
                {row.rank}
                <span style={{ color: arrow === "▲" ? p.up : p.down, fontSize: "0.75em", marginLeft: "0.2em" }}>{arrow}</span>
              </span>
              <span style={cell} data-testid="leaderboard-user">{row.user}</span>
              <span style={cell}>{row.title}{row.dq ? " (disqualified)" : ""}</span>
              <span style={{ textAlign: "right" }} data-testid="leaderboard-score">{formatNumber(row.score, 3)}</span>
              <span style={{ textAlign: "right", color: row.ret >= 0 ? p.up : p.down }} data-testid="leaderboard-return">
                {formatNumber(row.ret)} %
              </span>
              <span style={{ textAlign: "right" }}>{formatNumber(row.dd)} %</span>
              <span style={{ textAlign: "right" }} data-testid="leaderboard-trades">{row.trades}</span>
              <Sparkline points={board.current.series[row.id]} colour={row.ret >= 0 ? p.up : p.down} />
            </div>
          );
        })}
      </div>
      <div ref={chartBox} data-testid="leaderboard-chart" style={{ width: "100%", height: "260px", marginTop: "1em" }} />
    </div>
  );
}
