"""A room's messages as a client holds them: the merge rules of components/chat.jsx, in Python, shared
by the live tests (over websockets) and the property test (over the services)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Message = Mapping[str, Any]
Page = tuple[Sequence[Message], int]
"""What ``GET …/changes?after=&limit=`` answers: the messages changed since, and the room's last change."""


@dataclass
class RoomCopy:
    """Messages by ``seq``, replaced only by a later ``change``; ``last_change`` advances only over
    consecutive change numbers (every change up to it is reflected); ``seen`` holds the changes
    received beyond it. A change that skips numbers leaves ``seen`` non-empty: time to ``catch_up``."""

    messages: dict[int, Message] = field(default_factory=dict)
    last_change: int = 0
    seen: set[int] = field(default_factory=set)
    catch_ups: int = 0

    @property
    def behind(self) -> bool:
        """Whether a change was received whose predecessors were not."""
        return bool(self.seen)

    def apply(self, message: Message) -> None:
        """Take one message's state (pushed, a POST's answer, or a catch-up page's); idempotent."""
        held = self.messages.get(message["seq"])
        if held is None or held["change"] < message["change"]:
            self.messages[message["seq"]] = message
        if message["change"] > self.last_change:
            self.seen.add(message["change"])
        while self.last_change + 1 in self.seen:
            self.last_change += 1
            self.seen.discard(self.last_change)

    def take_page(self, items: Sequence[Message], room_last: int, limit: int) -> bool:
        """Apply one catch-up page (``limit`` asked); whether it was the last (shorter than asked)."""
        for message in items:
            self.apply(message)
        complete = len(items) < limit  # else the room's last change may lie beyond this page
        changes = [m["change"] for m in items] + ([room_last] if complete else [])
        self.last_change = max([self.last_change, *changes])
        self.seen = {c for c in self.seen if c > self.last_change}
        return complete

    def catch_up(self, fetch: Callable[[int, int], Page], limit: int) -> None:
        """Read the changes after ``last_change`` page by page until a page comes back short."""
        self.catch_ups += 1
        while not self.take_page(*fetch(self.last_change, limit), limit):
            pass
