"""The chat: a wrapped React room (``components/chat.jsx``) fed by the REST API and the broadcast
websocket, the list of my rooms, and a small panel for a strategy's collaborators."""

from __future__ import annotations

import reflex as rx

from state.auth import AuthState
from state.chat import ChatState, RoomLink
from state.workspace import StrategyState

KIND_ICONS = {
    "lobby": "users",
    "strategy": "file-code-2",
    "competition": "trophy",
    "direct": "message-circle",
}


rx.asset("hubsocket.js", shared=True)  # the hub socket chat.jsx imports (components/hubsocket.js)


class ChatRoom(rx.Component):
    """One live room: messages (server-rendered, sanitised HTML), composer, typing line, presence,
    edit/delete of one's own messages, moderation for owners and admins, reports, older pages, mentions.

    Props: ``room`` (a ``cr_…`` id; empty: the lobby), ``strategy`` (a ``st_…`` id: that strategy's
    room instead), ``me`` (my username: which messages are mine), ``height`` (px of the message list),
    ``compact`` (no title). The component talks to ``/api/v1/chat`` and ``/live/ws`` itself.
    """

    library = "$/public/" + rx.asset("chat.jsx", shared=True)
    tag = "ChatRoom"

    room: rx.Var[str]
    strategy: rx.Var[str]
    me: rx.Var[str]
    height: rx.Var[int]
    compact: rx.Var[bool]


def chat_room(
    *,
    room: rx.Var[str] | str = "",
    strategy: rx.Var[str] | str = "",
    height: int = 520,
    compact: bool = False,
) -> rx.Component:
    """A live room for the signed-in person."""
    return ChatRoom.create(
        room=room, strategy=strategy, me=AuthState.viewer.username, height=height, compact=compact
    )


def _room_link(room: rx.Var[RoomLink]) -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.match(
                room.kind,
                *[(kind, rx.icon(icon, size=16)) for kind, icon in KIND_ICONS.items()],
                rx.icon("hash", size=16),
            ),
            rx.text(room.title, size="2", trim="both"),
            align="center",
            spacing="2",
            padding="0.3em 0.5em",
            border_radius="6px",
            background=rx.cond(
                (ChatState.current_room == room.id)
                | ((ChatState.current_room == "") & (room.kind == "lobby")),
                rx.color("accent", 4),
                "transparent",
            ),
        ),
        href="/chat/" + room.id,
        underline="none",
        data_testid="chat-room-link",
    )


def room_list() -> rx.Component:
    """My rooms and a form to message someone."""
    return rx.vstack(
        rx.heading("Rooms", size="3"),
        rx.foreach(ChatState.rooms, _room_link),
        rx.divider(),
        rx.form(
            rx.hstack(
                rx.input(name="username", placeholder="username", aria_label="Message someone", size="2"),
                rx.button("Message", type="submit", size="2", variant="soft"),
                spacing="2",
            ),
            on_submit=ChatState.message_someone,
            reset_on_submit=True,
        ),
        rx.cond(ChatState.error != "", rx.text(ChatState.error, color_scheme="red", size="2")),
        spacing="2",
        width="100%",
    )


def chat_page() -> rx.Component:
    """The /chat page: my rooms beside the open one."""
    return rx.flex(
        rx.box(room_list(), width=["100%", "100%", "16em"], flex_shrink="0"),
        rx.box(chat_room(room=ChatState.current_room), flex="1", min_width="0"),
        direction=rx.breakpoints(initial="column", md="row"),
        gap="5",
        width="100%",
    )


def strategy_chat_panel() -> rx.Component:
    """The open strategy's room, for its owner and collaborators (nothing for anyone else)."""
    return rx.cond(
        AuthState.signed_in & (StrategyState.can_edit | StrategyState.is_collaborator),
        rx.card(
            rx.heading("Team chat", size="4", margin_bottom="0.5em"),
            chat_room(strategy=StrategyState.strategy_id, height=280, compact=True),
            width="100%",
            data_testid="strategy-chat",
        ),
    )
