// A strategy's source, edited together: CodeMirror 6 bound to a shared Y.Text ("source") that
// y-websocket keeps in sync with the room server at /collab/<room> (quanta/collab, docs/collab.md).
// Remote cursors and selections come from awareness (each peer's {name, color}); error markers and
// completion words are props. Rendered on the client only (editor.py wraps it as a NoSSRComponent).
import { useEffect, useRef } from "react";
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";
import { Compartment, EditorState } from "@codemirror/state";
import {
  EditorView,
  crosshairCursor,
  drawSelection,
  dropCursor,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  rectangularSelection,
} from "@codemirror/view";
import { defaultKeymap, indentWithTab } from "@codemirror/commands";
import {
  bracketMatching,
  defaultHighlightStyle,
  foldGutter,
  foldKeymap,
  indentOnInput,
  syntaxHighlighting,
} from "@codemirror/language";
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { lintGutter, lintKeymap, setDiagnostics } from "@codemirror/lint";
import { python, pythonLanguage } from "@codemirror/lang-python";
import env from "$/env.json";
import { getBackendURL } from "$/utils/state";

const POLICY_VIOLATION = 1008;

// The rooms' address on the backend: the Reflex event socket's host, path /collab.
function collabServer(serverUrl) {
  if (serverUrl) return serverUrl.replace(/\/$/, "");
  const url = getBackendURL(env.EVENT);
  url.pathname = "/collab";
  url.search = "";
  return url.toString().replace(/\/$/, "");
}

function basics() {
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    foldGutter(),
    drawSelection(),
    dropCursor(),
    EditorState.allowMultipleSelections.of(true),
    indentOnInput(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    bracketMatching(),
    closeBrackets(),
    autocompletion(),
    rectangularSelection(),
    crosshairCursor(),
    highlightActiveLine(),
    lintGutter(),
    keymap.of([
      ...yUndoManagerKeymap,
      ...closeBracketsKeymap,
      ...defaultKeymap,
      ...foldKeymap,
      ...completionKeymap,
      ...lintKeymap,
      indentWithTab,
    ]),
  ];
}

function themeFor(theme, height) {
  const dark = theme === "dark";
  return EditorView.theme(
    {
      "&": {
        height: typeof height === "number" ? `${height}px` : height,
        fontSize: "13px",
        backgroundColor: dark ? "#111113" : "#ffffff",
        color: dark ? "#d1d5db" : "#1f2937",
      },
      ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace" },
      ".cm-gutters": {
        backgroundColor: dark ? "#18191b" : "#f8f9fa",
        color: dark ? "#6b7280" : "#9ca3af",
        borderRight: "none",
      },
      ".cm-activeLine, .cm-activeLineGutter": { backgroundColor: dark ? "#1f2023" : "#f3f4f6" },
      "&.cm-focused .cm-cursor": { borderLeftColor: dark ? "#e5e7eb" : "#111827" },
    },
    { dark },
  );
}

function editable(readOnly) {
  return [EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)];
}

// Completion of the given words (Quanta's API, indicator names) beside Python's own completions.
function wordCompletion(wordsRef) {
  return (context) => {
    const word = context.matchBefore(/[\w.]+/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    const options = (wordsRef.current || []).map((item) =>
      typeof item === "string" ? { label: item, type: /^[A-Z0-9_]+$/.test(item) ? "function" : "variable" } : item,
    );
    return { from: word.from, options, validFor: /^[\w.]*$/ };
  };
}

// Each {line, message, severity?} as a lint diagnostic over its (1-based) line.
function diagnosticsFor(doc, markers) {
  return (markers || [])
    .filter((m) => Number.isFinite(Number(m.line)))
    .map((m) => {
      const line = doc.line(Math.min(Math.max(1, Number(m.line)), doc.lines));
      return { from: line.from, to: line.to, severity: m.severity || "error", message: String(m.message || "") };
    });
}

function peersOf(awareness) {
  const seen = new Map();
  awareness.getStates().forEach((state, clientId) => {
    const user = state && state.user;
    if (clientId === awareness.clientID || !user || !user.name) return;
    seen.set(`${user.name}|${user.color}`, { name: String(user.name), color: String(user.color || "") });
  });
  return [...seen.values()];
}

function useLatest(value) {
  const ref = useRef(value);
  ref.current = value;
  return ref;
}

export function StrategyEditor({
  room,
  userName = "",
  userColor = "#6366f1",
  readOnly = false,
  diagnostics = [],
  completions = [],
  theme = "light",
  height = 480,
  debounceMs = 400,
  serverUrl = "",
  onChange,
  onPeers,
  onStatus,
  id,
}) {
  const container = useRef(null);
  const viewRef = useRef(null);
  const providerRef = useRef(null);
  const compartments = useRef({ editable: new Compartment(), theme: new Compartment() });
  const words = useLatest(completions);
  const callbacks = useLatest({ onChange, onPeers, onStatus });
  const initial = useLatest({ readOnly, theme, height, diagnostics, debounceMs });

  useEffect(() => {
    if (!room) return undefined;
    const doc = new Y.Doc();
    const ytext = doc.getText("source");
    const provider = new WebsocketProvider(collabServer(serverUrl), room, doc, { disableBc: true });
    providerRef.current = provider;
    const el = container.current;
    const status = (value) => {
      if (el) el.dataset.status = value;
      if (callbacks.current.onStatus) callbacks.current.onStatus(value);
    };
    provider.on("status", ({ status: value }) => status(value));
    provider.on("sync", (synced) => {
      if (el) el.dataset.synced = String(synced);
    });
    provider.on("connection-close", (event) => {
      if (event && event.code === POLICY_VIOLATION) {
        provider.disconnect(); // refused: no retry
        status("refused");
      }
    });
    const awareness = provider.awareness;
    const reportPeers = () => {
      const peers = peersOf(awareness);
      if (el) el.dataset.peers = String(peers.length);
      if (callbacks.current.onPeers) callbacks.current.onPeers(peers);
    };
    awareness.on("change", reportPeers);

    let timer = null;
    const changed = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (callbacks.current.onChange) callbacks.current.onChange(ytext.toString());
      }, initial.current.debounceMs);
    };
    ytext.observe(changed);

    const { readOnly: ro, theme: th, height: h } = initial.current;
    const view = new EditorView({
      parent: el,
      state: EditorState.create({
        doc: ytext.toString(),
        extensions: [
          basics(),
          python(),
          pythonLanguage.data.of({ autocomplete: wordCompletion(words) }),
          compartments.current.editable.of(editable(ro)),
          compartments.current.theme.of(themeFor(th, h)),
          yCollab(ytext, awareness, { undoManager: new Y.UndoManager(ytext) }),
        ],
      }),
    });
    viewRef.current = view;
    view.dispatch(setDiagnostics(view.state, diagnosticsFor(view.state.doc, initial.current.diagnostics)));

    return () => {
      clearTimeout(timer);
      ytext.unobserve(changed);
      awareness.off("change", reportPeers);
      view.destroy();
      provider.destroy();
      doc.destroy();
      viewRef.current = null;
      providerRef.current = null;
    };
  }, [room, serverUrl]);

  useEffect(() => {
    const provider = providerRef.current;
    if (provider) provider.awareness.setLocalStateField("user", { name: userName, color: userColor, colorLight: `${userColor}33` });
  }, [room, serverUrl, userName, userColor]);

  useEffect(() => {
    const view = viewRef.current;
    if (view) view.dispatch({ effects: compartments.current.editable.reconfigure(editable(readOnly)) });
    if (container.current) container.current.dataset.readOnly = String(readOnly);
  }, [readOnly]);

  useEffect(() => {
    const view = viewRef.current;
    if (view) view.dispatch({ effects: compartments.current.theme.reconfigure(themeFor(theme, height)) });
  }, [theme, height]);

  useEffect(() => {
    const view = viewRef.current;
    if (view) view.dispatch(setDiagnostics(view.state, diagnosticsFor(view.state.doc, diagnostics)));
  }, [diagnostics]);

  return <div id={id} ref={container} data-testid="strategy-editor" data-status="connecting" />;
}
