"""Ready-made topic views (what a topic's snapshot is made of)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class LastN:
    """The last ``n`` deltas, oldest first (a chat room's recent messages).

    With ``key``, a delta whose key was seen replaces the earlier one where it stands (an edited
    message, a bar's later revision) instead of being added.
    """

    def __init__(self, n: int, *, key: Callable[[Any], Hashable] | None = None) -> None:
        self.n = n
        self._key = key
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._count = 0

    def apply(self, data: Any) -> None:
        """Take one delta."""
        if self._key is None:
            self._count += 1
            name: Hashable = self._count
        else:
            name = self._key(data)
        self._items[name] = data
        while len(self._items) > self.n:
            self._items.popitem(last=False)

    def snapshot(self) -> list[Any]:
        """The kept deltas, oldest first."""
        return list(self._items.values())


class Snapshot:
    """A view whose snapshot comes from elsewhere (a database); the deltas do not change it.

    ``read`` may be async. An async read races with the deltas sent meanwhile, so the topic's deltas
    must be idempotent (see :class:`~quanta.broadcast.View`).
    """

    def __init__(self, read: Callable[[], Any]) -> None:
        self._read = read

    def apply(self, data: Any) -> None:
        """Nothing to keep."""

    def snapshot(self) -> Any:
        """What ``read`` returns (an awaitable if it is async)."""
        return self._read()
