// A live chat room (docs/chat.md): history from the REST API (/api/v1/chat), new messages, edits,
// deletions, presence and typing pushed over the broadcast websocket (/live/ws, docs/broadcast.md).
//
// Keeping the messages exact across reconnects:
// - hub frames are applied only in order (seq = last + 1; anything else resubscribes from the last);
// - messages are kept by their room number (seq) and replaced only by a later change number, so a
//   message that arrives twice (push and REST answer, or a catch-up) changes nothing;
// - lastChange advances only over consecutive change numbers; a snapshot (the hub could not resume
//   us: too far behind, a new epoch, a ban recheck) or a change that skips numbers is caught up with
//   GET /rooms/{id}/changes?after=lastChange, page by page until a page comes back short.
// The HTML of every message is rendered and sanitised on the server (markdown-it + nh3) and shown as is.
import { useCallback, useEffect, useRef, useState } from "react";
import env from "$/env.json";
import { openHubSocket } from "./hubsocket.js";
import { getBackendURL } from "$/utils/state";

const PAGE = 50;
const CATCH_UP_PAGE = 100;
const HEARTBEAT_MS = 20000; // presence lasts 60 s on the server
const TYPING_EVERY_MS = 3000; // a typing indicator lasts 6 s on the server

function backend() {
  const url = getBackendURL(env.EVENT);
  const http = url.protocol === "wss:" ? "https:" : url.protocol === "ws:" ? "http:" : url.protocol;
  return { api: `${http}//${url.host}/api/v1/chat` };
}

class ChatProblem extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function call(method, path, body) {
  const response = await fetch(backend().api + path, {
    method,
    credentials: "include",
    keepalive: method === "POST" && path.endsWith("/presence"),
    headers: body === undefined ? { "X-Requested-With": "quanta" } : { "Content-Type": "application/json", "X-Requested-With": "quanta" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = data.detail || (data.errors && data.errors[0] && data.errors[0].message) || data.title || `HTTP ${response.status}`;
    throw new ChatProblem(response.status, detail);
  }
  return data;
}

function when(iso) {
  const date = new Date(iso);
  return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

const button = {
  border: "1px solid var(--gray-6, #d1d5db)", background: "transparent", borderRadius: "6px",
  padding: "0.1em 0.5em", fontSize: "0.8em", cursor: "pointer", color: "inherit",
};

function MessageRow({ message, me, room, busy, act }) {
  const [editing, setEditing] = useState(false);
  const [reporting, setReporting] = useState(false);
  const [text, setText] = useState("");
  const own = message.author === me;
  const open = !message.deleted;
  return (
    <div data-testid="chat-message" data-seq={message.seq} data-author={message.author || ""} data-deleted={String(message.deleted)}
      style={{ padding: "0.35em 0.2em", borderBottom: "1px solid var(--gray-4, #f0f0f0)" }}>
      <div style={{ display: "flex", gap: "0.6em", alignItems: "baseline", fontSize: "0.85em" }}>
        <strong data-testid="chat-author">{message.author || "deleted account"}</strong>
        <span style={{ opacity: 0.6 }}>{when(message.created_at)}</span>
        {message.edited_at && open ? <span style={{ opacity: 0.6 }} data-testid="chat-edited">(edited)</span> : null}
        <span style={{ marginLeft: "auto", display: "flex", gap: "0.3em" }}>
          {own && open && room.can_post ? <button style={button} data-testid="chat-edit" disabled={busy}
            onClick={() => { setText(message.body); setEditing(true); }}>Edit</button> : null}
          {open && (own || room.can_moderate) ? <button style={button} data-testid="chat-delete" disabled={busy}
            onClick={() => act("delete", message)}>Delete</button> : null}
          {!own && open ? <button style={button} data-testid="chat-report" disabled={busy}
            onClick={() => { setText(""); setReporting(true); }}>Report</button> : null}
          {!own && room.can_moderate && message.author ? <>
            <button style={button} data-testid="chat-mute" disabled={busy} onClick={() => act("mute", message)}>Mute 10 min</button>
            <button style={button} data-testid="chat-ban" disabled={busy} onClick={() => act("ban", message)}>Ban</button>
          </> : null}
        </span>
      </div>
      {editing ? (
        <form onSubmit={(e) => { e.preventDefault(); act("edit", message, text).then((ok) => ok && setEditing(false)); }}
          style={{ display: "flex", gap: "0.4em", marginTop: "0.3em" }}>
          <textarea data-testid="chat-edit-box" aria-label="Edit message" value={text} rows={2}
            onChange={(e) => setText(e.target.value)} style={{ flex: 1, font: "inherit" }} />
          <button style={button} type="submit" data-testid="chat-edit-save">Save</button>
          <button style={button} type="button" onClick={() => setEditing(false)}>Cancel</button>
        </form>
      ) : (
        <div data-testid="chat-message-body" className="chat-body" dangerouslySetInnerHTML={{ __html: message.html }} />
      )}
      {reporting ? (
        <form onSubmit={(e) => { e.preventDefault(); act("report", message, text).then((ok) => ok && setReporting(false)); }}
          style={{ display: "flex", gap: "0.4em", marginTop: "0.3em" }}>
          <input data-testid="chat-report-reason" aria-label="Why report this message?" placeholder="Why report this message?"
            value={text} onChange={(e) => setText(e.target.value)} style={{ flex: 1, font: "inherit" }} />
          <button style={button} type="submit" data-testid="chat-report-send">Send report</button>
          <button style={button} type="button" onClick={() => setReporting(false)}>Cancel</button>
        </form>
      ) : null}
    </div>
  );
}

function Notifications({ unread, onRead }) {
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState([]);
  const toggle = async () => {
    if (!open) setItems((await call("GET", "/notifications?limit=20")).items);
    setOpen(!open);
  };
  return (
    <span style={{ position: "relative" }}>
      <button style={button} data-testid="chat-notifications" data-unread={unread} onClick={toggle}>
        Mentions {unread ? <strong data-testid="chat-unread">{unread}</strong> : null}
      </button>
      {open ? (
        <div data-testid="chat-notification-list" style={{ position: "absolute", right: 0, zIndex: 10, width: "22em", background: "var(--color-panel-solid, #fff)",
          border: "1px solid var(--gray-6, #ddd)", borderRadius: "8px", padding: "0.5em", boxShadow: "0 4px 16px #0002" }}>
          {items.length === 0 ? <div style={{ opacity: 0.7 }}>No mentions yet.</div> : items.map((n) => (
            <a key={n.id} href={`/chat/${n.room}`} data-testid="chat-notification" style={{ display: "block", padding: "0.3em 0", fontWeight: n.read ? 400 : 600, color: "inherit" }}>
              {n.author || "someone"} in {n.room_title}: {n.excerpt}
            </a>
          ))}
          <button style={button} onClick={async () => { await call("POST", "/notifications/read", { ids: null }); onRead(); setOpen(false); }}>
            Mark all read
          </button>
        </div>
      ) : null}
    </span>
  );
}

export function ChatRoom({ room = "", strategy = "", me = "", height = 520, compact = false }) {
  const c = useRef(null);
  if (c.current === null) {
    c.current = { ws: null, room: null, topic: null, hubSeq: null, epoch: null, presenceSeq: null, messages: new Map(),
      oldest: null, lastChange: 0, seen: new Set(), loaded: false, syncing: false, again: false, attempt: 0, timer: null, closed: false, heard: 0 };
  }
  const [view, setView] = useState(null); // the room as I see it (RoomView)
  const [version, setVersion] = useState(0);
  const [presence, setPresence] = useState({ present: [], typing: [] });
  const [connection, setConnection] = useState("connecting");
  const [error, setError] = useState("");
  const [draft, setDraft] = useState("");
  const [busy, setBusy] = useState(false);
  const [unread, setUnread] = useState(0);
  const list = useRef(null);
  const typedAt = useRef(0);
  const meRef = useRef(me);
  meRef.current = me;
  const redraw = () => setVersion((v) => v + 1);

  const apply = useCallback((message) => {
    const s = c.current;
    const held = s.messages.get(message.seq);
    if (!held || held.change < message.change) s.messages.set(message.seq, message);
    if (message.change > s.lastChange) s.seen.add(message.change);
    while (s.seen.has(s.lastChange + 1)) {
      s.lastChange += 1;
      s.seen.delete(s.lastChange);
    }
  }, []);

  // Initial load (newest page) or catch-up (every change after lastChange); one at a time.
  const sync = useCallback(async () => {
    const s = c.current;
    if (!s.room) return;
    if (s.syncing) { s.again = true; return; }
    s.syncing = true;
    try {
      do {
        s.again = false;
        if (!s.loaded) {
          const page = await call("GET", `/rooms/${s.room}/messages?limit=${PAGE}`);
          page.items.forEach(apply);
          s.oldest = page.items.length ? page.items[0].seq : page.room.last_seq + 1;
          s.lastChange = Math.max(s.lastChange, page.room.last_change);
          s.seen = new Set([...s.seen].filter((x) => x > s.lastChange));
          s.loaded = true;
          setView(page.room);
        } else {
          for (;;) {
            const page = await call("GET", `/rooms/${s.room}/changes?after=${s.lastChange}&limit=${CATCH_UP_PAGE}`);
            page.items.forEach(apply);
            const complete = page.items.length < CATCH_UP_PAGE; // else the room's last change may lie beyond
            const changes = page.items.map((m) => m.change).concat(complete ? [page.last_change] : []);
            s.lastChange = Math.max(s.lastChange, ...changes);
            s.seen = new Set([...s.seen].filter((x) => x > s.lastChange));
            if (complete) break;
          }
        }
        redraw();
      } while (s.again);
      // A change pushed after our read whose predecessor has not arrived yet: look again shortly.
      if (s.seen.size > 0) setTimeout(() => sync(), 1000);
    } catch (problem) {
      setError(problem.message);
    } finally {
      s.syncing = false;
    }
  }, [apply]);

  // Which room: a strategy's, a given one, or the lobby.
  useEffect(() => {
    let cancelled = false;
    const s = c.current;
    Object.assign(s, { room: null, hubSeq: null, epoch: null, presenceSeq: null, messages: new Map(), oldest: null,
      lastChange: 0, seen: new Set(), loaded: false });
    setView(null);
    setPresence({ present: [], typing: [] });
    redraw();
    const opened = strategy ? call("POST", "/rooms", { kind: "strategy", ref: strategy })
      : room ? call("GET", `/rooms/${room}`) : call("POST", "/rooms", { kind: "lobby" });
    opened.then((found) => {
      if (cancelled) return;
      s.room = found.id;
      setView(found);
      setError("");
      if (s.subscribe) s.subscribe();
      heartbeat("here");
    }).catch((problem) => !cancelled && setError(problem.status === 404 ? "This room does not exist, or you may not read it." : problem.message));
    return () => {
      cancelled = true;
      if (s.room) {
        if (s.send) { s.send({ op: "unsubscribe", topic: `chat.${s.room}` }); s.send({ op: "unsubscribe", topic: `chat.${s.room}.presence` }); }
        call("POST", `/rooms/${s.room}/presence`, { state: "left" }).catch(() => {});
      }
    };
  }, [room, strategy]);

  const heartbeat = useCallback((state) => {
    const s = c.current;
    if (!s.room) return;
    call("POST", `/rooms/${s.room}/presence`, { state }).then((answer) => setUnread(answer.unread_notifications)).catch(() => {});
  }, []);

  // The websocket: subscribe, apply, resume, reconnect.
  useEffect(() => {
    const s = c.current;
    let socket = null;
    const send = (request) => socket.send(request);
    s.subscribe = () => {
      if (!s.room) return;
      send({ op: "subscribe", topic: `chat.${s.room}`, after: s.hubSeq, epoch: s.epoch });
      send({ op: "subscribe", topic: `chat.${s.room}.presence`, after: null, epoch: null });
    };
    const handle = (frame) => {
      if (frame.kind === "pong" || !s.room) return;
      const topic = `chat.${s.room}`;
      if (frame.topic === topic + ".presence") {
        if (frame.kind === "snapshot" || frame.kind === "delta") { if (frame.data) setPresence(frame.data); }
        else if (frame.kind === "resync") send({ op: "subscribe", topic: frame.topic, after: null, epoch: null });
        return;
      }
      if (frame.topic !== topic) return;
      if (frame.kind === "snapshot") {
        s.hubSeq = frame.seq;
        s.epoch = frame.epoch;
        sync();
      } else if (frame.kind === "delta") {
        if (s.hubSeq !== null && frame.seq <= s.hubSeq) return;
        if (s.hubSeq !== null && frame.seq !== s.hubSeq + 1) { s.subscribe(); return; }
        s.hubSeq = frame.seq;
        const message = frame.data.message;
        apply(message); // before the first load too: that load may have been read before this commit
        if (!s.loaded) return;
        const mine = meRef.current;
        if (frame.data.kind === "message.posted" && message.author !== mine && message.mentions.includes(mine)) setUnread((n) => n + 1);
        if (s.seen.size > 0) sync();
        redraw();
      } else if (frame.kind === "resync") {
        s.subscribe();
      } else if (frame.kind === "error") {
        setError(frame.data.detail);
      }
    };
    socket = openHubSocket({
      onConnection: (state) => setConnection(state === "open" ? "live" : state),
      onOpen: () => s.subscribe(),
      onFrame: handle,
    });
    s.send = send;
    const beat = setInterval(() => heartbeat("here"), HEARTBEAT_MS);
    return () => {
      clearInterval(beat);
      socket.close();
      s.send = null;
    };
  }, [apply, sync, heartbeat]);

  // Keep the newest message in sight when one arrives and we were at the bottom.
  const shown = [...c.current.messages.values()].filter((m) => c.current.oldest !== null && m.seq >= c.current.oldest).sort((a, b) => a.seq - b.seq);
  const newest = shown.length ? shown[shown.length - 1].seq : 0;
  useEffect(() => {
    const box = list.current;
    if (box && box.scrollHeight - box.scrollTop - box.clientHeight < 160) box.scrollTop = box.scrollHeight;
  }, [newest]);

  const s = c.current;
  const run = async (work) => {
    setBusy(true);
    try {
      await work();
      setError("");
      return true;
    } catch (problem) {
      setError(problem.message);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const send = (event) => {
    event.preventDefault();
    const body = draft.trim();
    if (!body || !s.room) return;
    run(async () => {
      apply(await call("POST", `/rooms/${s.room}/messages`, { body }));
      setDraft("");
      typedAt.current = 0;
      heartbeat("idle");
      redraw();
    });
  };
  const act = (what, message, text) => run(async () => {
    const path = `/rooms/${s.room}/messages/${message.seq}`;
    if (what === "edit") apply(await call("PATCH", path, { body: text }));
    else if (what === "delete") apply(await call("DELETE", path));
    else if (what === "report") await call("POST", `${path}/report`, { reason: text || "inappropriate" });
    else await call("POST", `/rooms/${s.room}/restrictions`, { username: message.author, kind: what, minutes: what === "mute" ? 10 : null });
    redraw();
  });
  const older = () => run(async () => {
    const page = await call("GET", `/rooms/${s.room}/messages?before=${s.oldest}&limit=${PAGE}`);
    page.items.forEach(apply);
    if (page.items.length) s.oldest = page.items[0].seq;
    else s.oldest = 1;
    redraw();
  });
  const typing = (value) => {
    setDraft(value);
    const now = Date.now();
    if (!value.trim()) { if (typedAt.current) heartbeat("idle"); typedAt.current = 0; return; }
    if (now - typedAt.current > TYPING_EVERY_MS) { typedAt.current = now; heartbeat("typing"); }
  };
  const others = presence.typing.filter((name) => name !== me);
  const status = connection === "live" && s.loaded ? "live" : connection;

  return (
    <div data-testid="chat-room" data-room={s.room || ""} data-last-change={s.lastChange} data-version={version}
      style={{ display: "flex", flexDirection: "column", gap: "0.5em", width: "100%" }}>
      <div style={{ display: "flex", alignItems: "center", gap: "0.6em", flexWrap: "wrap" }}>
        {compact ? null : <strong data-testid="chat-title" style={{ fontSize: "1.15em" }}>{view ? view.title || "Chat" : "…"}</strong>}
        <span data-testid="chat-presence" style={{ fontSize: "0.85em", opacity: 0.8 }}>
          {presence.present.length ? `Here: ${presence.present.join(", ")}` : ""}
        </span>
        <span style={{ marginLeft: "auto", display: "flex", gap: "0.5em", alignItems: "center" }}>
          <Notifications unread={unread} onRead={() => setUnread(0)} />
          <span data-testid="chat-status" data-state={status} style={{ fontSize: "0.8em", padding: "0.1em 0.6em", borderRadius: "999px", color: "#fff",
            background: status === "live" ? "#16a34a" : "#6b7280" }}>{status}</span>
        </span>
      </div>
      <div ref={list} data-testid="chat-messages" style={{ height, overflowY: "auto", border: "1px solid var(--gray-5, #e5e7eb)", borderRadius: "8px", padding: "0.4em 0.6em" }}>
        {s.oldest !== null && s.oldest > 1 ? (
          <button style={{ ...button, display: "block", margin: "0.3em auto" }} data-testid="chat-load-older" disabled={busy} onClick={older}>
            Load older messages
          </button>
        ) : null}
        {s.loaded && shown.length === 0 ? <div style={{ opacity: 0.6, padding: "1em 0" }}>No messages yet. Say hello!</div> : null}
        {shown.map((message) => (
          <MessageRow key={message.seq} message={message} me={me} room={view || {}} busy={busy} act={act} />
        ))}
      </div>
      <div data-testid="chat-typing" style={{ minHeight: "1.2em", fontSize: "0.8em", opacity: 0.7 }}>
        {others.length ? `${others.join(", ")} ${others.length === 1 ? "is" : "are"} typing…` : ""}
      </div>
      {error ? <div data-testid="chat-error" role="alert" style={{ color: "#dc2626", fontSize: "0.9em" }}>{error}</div> : null}
      {view && view.muted ? <div data-testid="chat-muted" style={{ fontSize: "0.9em" }}>You are muted in this room{view.muted_until ? ` until ${new Date(view.muted_until).toLocaleString()}` : ""}.</div> : null}
      <form onSubmit={send} style={{ display: "flex", gap: "0.5em" }}>
        <textarea data-testid="chat-composer" aria-label="Message" placeholder={view && view.can_post ? "Write a message (markdown; @name to mention)" : "You cannot post here."}
          value={draft} rows={2} disabled={!view || !view.can_post} onChange={(e) => typing(e.target.value)}
          onKeyDown={(e) => { if (e.key === "Enter" && !e.shiftKey) send(e); }} style={{ flex: 1, font: "inherit", padding: "0.4em", borderRadius: "6px" }} />
        <button type="submit" data-testid="chat-send" disabled={busy || !view || !view.can_post || !draft.trim()}
          style={{ ...button, fontSize: "0.95em", padding: "0.3em 1em" }}>Send</button>
      </form>
    </div>
  );
}
