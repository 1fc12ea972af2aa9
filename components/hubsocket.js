// One websocket to the broadcast hub (/live/ws, docs/broadcast.md), shared by the live market, the
// leaderboard, the chat and the paper account: it connects, keeps the connection alive (a ping every
// 15 s; no frame for 40 s means it is dead), and reconnects with jittered exponential backoff. What a
// component follows, and how it applies the frames, stays with the component: `onOpen` (subscribe
// again, resuming from the last applied seq), `onFrame` (each frame, in order) and `onConnection`
// ("connecting", "open", "reconnecting").
import env from "$/env.json";
import { getBackendURL } from "$/utils/state";

const PING_MS = 15000; // the server closes a connection that says nothing for 75 s
const SILENCE_MS = 40000; // no frame (not even a pong) for this long: the connection is dead
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MOST_MS = 10000;

// The hub's address on the backend: the Reflex event socket's host, path /live/ws.
export function hubAddress(serverUrl) {
  if (serverUrl) return serverUrl;
  const url = getBackendURL(env.EVENT);
  url.pathname = "/live/ws";
  url.search = "";
  return url.toString();
}

// Open the hub socket; returns { send(request), close() }. `send` drops requests while disconnected
// (the component subscribes again in `onOpen`).
export function openHubSocket({ serverUrl, onOpen, onFrame, onConnection = () => {} }) {
  const c = { ws: null, attempt: 0, timer: null, closed: false, heard: 0 };

  const send = (request) => {
    if (c.ws && c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify(request));
  };

  const connect = () => {
    if (c.closed) return;
    onConnection(c.attempt ? "reconnecting" : "connecting");
    const ws = new WebSocket(hubAddress(serverUrl));
    c.ws = ws;
    ws.onopen = () => {
      c.attempt = 0;
      c.heard = Date.now();
      onConnection("open");
      onOpen(send);
    };
    ws.onmessage = (event) => {
      c.heard = Date.now();
      for (const line of String(event.data).split("\n")) onFrame(JSON.parse(line));
    };
    ws.onclose = () => {
      if (c.ws !== ws) return;
      c.ws = null;
      if (c.closed) return;
      onConnection("reconnecting");
      const delay = Math.min(BACKOFF_MOST_MS, BACKOFF_FIRST_MS * 2 ** c.attempt) * (0.8 + 0.4 * Math.random());
      c.attempt += 1;
      c.timer = setTimeout(connect, delay);
    };
    ws.onerror = () => ws.close();
  };

  const keepalive = setInterval(() => {
    if (!c.ws || c.ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - c.heard > SILENCE_MS) c.ws.close();
    else send({ op: "ping" });
  }, PING_MS);
  connect();

  return {
    send,
    close() {
      c.closed = true;
      clearInterval(keepalive);
      clearTimeout(c.timer);
      if (c.ws) c.ws.close();
      c.ws = null;
    },
  };
}
