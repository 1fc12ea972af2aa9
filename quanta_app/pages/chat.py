"""/chat and /chat/[room]: my chat rooms and one open room (the lobby by default), live."""

import reflex as rx

from components.chat import chat_page
from components.layout import shell
from state.chat import ChatState


@rx.page(route="/chat", title="Chat · Quanta", on_load=ChatState.load)
def chat() -> rx.Component:
    """The lobby, with my rooms beside it."""
    return shell(chat_page())


@rx.page(route="/chat/[room]", title="Chat · Quanta", on_load=ChatState.load)
def chat_room() -> rx.Component:
    """One room, with my rooms beside it."""
    return shell(chat_page())
