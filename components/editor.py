"""The collaborative strategy editor: CodeMirror 6 on a Yjs document synced through the room server
(``quanta.collab``, websocket ``/collab/{public_id}``), wrapped as a client-only Reflex component."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.event import passthrough_event_spec

EDITOR_PACKAGES = [
    "yjs@13.6.33",
    "y-protocols@1.0.7",
    "y-websocket@3.1.0",
    "y-codemirror.next@0.3.6",
    "@codemirror/state@6.7.6",
    "@codemirror/view@6.43.15",
    "@codemirror/commands@6.11.1",
    "@codemirror/language@6.13.1",
    "@codemirror/autocomplete@6.20.4",
    "@codemirror/lint@6.9.8",
    "@codemirror/lang-python@6.2.1",
]
"""Pinned: one copy each of @codemirror/state and /view is what keeps the extensions compatible."""


def _peers_spec(peers: rx.Var[list[dict[str, str]]]) -> tuple[rx.Var[list[dict[str, str]]]]:
    return (peers,)


class StrategyEditor(rx.NoSSRComponent):
    """A strategy's source, edited together in real time.

    Props: ``room`` (the strategy's public id), ``user_name``/``user_color`` (shown at this person's
    cursor to the others), ``read_only`` (viewers), ``diagnostics`` (``[{line, message, severity?}]``,
    lines 1-based, shown as lint markers), ``completions`` (words offered besides Python's own),
    ``theme`` (``light``/``dark``), ``height``, ``debounce_ms``, ``server_url`` (default: the backend's
    ``/collab``).

    Events: ``on_change(text)`` (debounced, on local and remote edits), ``on_peers([{name, color}])``
    (who else is in the room), ``on_status(status)`` (``connecting``, ``connected``, ``disconnected``,
    ``refused``).
    """

    library = "$/public/" + rx.asset("editor.jsx", shared=True)
    lib_dependencies: list[str] = EDITOR_PACKAGES
    tag = "StrategyEditor"

    room: rx.Var[str]
    user_name: rx.Var[str]
    user_color: rx.Var[str]
    read_only: rx.Var[bool]
    diagnostics: rx.Var[list[dict[str, Any]]]
    completions: rx.Var[list[str]]
    theme: rx.Var[str]
    height: rx.Var[int]
    debounce_ms: rx.Var[int]
    server_url: rx.Var[str]

    on_change: rx.EventHandler[passthrough_event_spec(str)]
    on_peers: rx.EventHandler[_peers_spec]
    on_status: rx.EventHandler[passthrough_event_spec(str)]


def strategy_editor(
    room: rx.Var[str] | str,
    *,
    read_only: rx.Var[bool] | bool = False,
    user_name: rx.Var[str] | str = "",
    user_color: rx.Var[str] | str = "#6366f1",
    diagnostics: rx.Var[list[dict[str, Any]]] | list[dict[str, Any]] | None = None,
    completions: rx.Var[list[str]] | list[str] | None = None,
    height: int = 480,
    **events: Any,
) -> rx.Component:
    """The editor of ``room`` following the app's light/dark mode; ``events``: on_change, on_peers,
    on_status."""
    return StrategyEditor.create(
        room=room,
        read_only=read_only,
        user_name=user_name,
        user_color=user_color,
        diagnostics=diagnostics if diagnostics is not None else [],
        completions=completions if completions is not None else [],
        theme=rx.color_mode_cond(light="light", dark="dark"),
        height=height,
        **events,
    )
