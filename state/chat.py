"""The /chat pages' state: the signed-in person's rooms and which one is open (the messages themselves
travel between the browser component and the REST API / broadcast websocket, never through Reflex)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from quanta import db
from quanta.accounts.errors import AccountsError
from quanta.chat import service
from quanta.chat.models import RoomView
from state.auth import AuthState
from state.views import last_segment


@dataclasses.dataclass(frozen=True)
class RoomLink:
    """A room in the list: its id, kind and title as this person sees it."""

    id: str = ""
    kind: str = ""
    title: str = ""


def _link(room: RoomView) -> RoomLink:
    return RoomLink(id=room.id, kind=room.kind.value, title=room.title or room.kind.value.title())


class ChatState(AuthState):
    """My rooms, the open one (``/chat/[room]``; the lobby by default) and the new-conversation form."""

    rooms: list[RoomLink] = []
    current_room: str = ""
    """The room of the URL (empty: the lobby)."""
    error: str = ""

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Sign-in first; then the rooms I may read, and the room of the URL."""
        path = self.router.url.path.rstrip("/")
        self.current_room = last_segment(path) if path.startswith("/chat/") else ""
        with db.session() as unit:
            user = self._user(unit)
            if user is None:
                return self._to_sign_in()
            self.rooms = [_link(room) for room in service.my_rooms(session=unit, user=user)]
        self.error = ""
        return None

    @rx.event
    def message_someone(self, form: dict[str, str]) -> rx.event.EventSpec | None:
        """Open the conversation with the username of the form."""
        username = str(form.get("username", "")).strip().lstrip("@")
        try:
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    return self._to_sign_in()
                room = service.direct_room(session=unit, user=user, username=username)
                target = room.public_id
        except AccountsError as exc:
            self.error = str(exc)
            return None
        return rx.redirect(f"/chat/{target}")
