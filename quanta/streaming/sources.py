"""Where ticks come from: the :class:`ExchangeAdapter` interface, and replays paced in real time.

A real exchange adapter (later) turns the exchange's messages into :class:`~quanta.streaming.events.Tick`
(symbol in Quanta's spelling, event time in ms UTC, the exchange's sequence number as ``seq``) and
yields them from ``stream()``. :class:`TickReplay` does the same for the replay and synthetic sources.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Protocol, runtime_checkable

from quanta.streaming.events import Tick

_YIELD_EVERY = 512  # ticks between explicit yields to the event loop when nothing waits


@runtime_checkable
class ExchangeAdapter(Protocol):
    """A source of live ticks: an exchange connection, or a replay."""

    name: str

    def stream(self) -> AsyncIterator[Tick]:
        """Ticks as they happen; ends when the source does (a replay) or when closed."""
        ...

    async def aclose(self) -> None:
        """Release the connection; ``stream()`` ends."""
        ...


class TickReplay:
    """An :class:`ExchangeAdapter` over prepared ticks (replayed history, a synthetic market).

    With ``pace_origin_ms`` the ticks come out in real time: the tick at event time ``ts`` is
    released ``(ts - pace_origin_ms) / 1000`` seconds after ``stream()`` starts. Without it they come
    out as fast as the consumer takes them.
    """

    def __init__(
        self,
        ticks: Iterable[Tick],
        *,
        name: str = "replay",
        pace_origin_ms: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self._ticks = ticks
        self._origin = pace_origin_ms
        self._clock = clock
        self._sleep = sleep
        self._closed = False

    async def stream(self) -> AsyncIterator[Tick]:
        """The ticks, paced or not (see the class docstring)."""
        started = self._clock()
        for count, tick in enumerate(self._ticks):
            if self._closed:
                return
            if self._origin is not None:
                delay = started + (tick.ts - self._origin) / 1000 - self._clock()
                if delay > 0:
                    await self._sleep(delay)
            if count % _YIELD_EVERY == 0:
                await self._sleep(0)
            yield tick

    async def aclose(self) -> None:
        """Stop the stream at the next tick."""
        self._closed = True
