"""The broadcast websocket on a Starlette/FastAPI app: ``install_broadcast(app, hub)`` adds ``/live/ws``.

One connection per browser tab carries any number of topics (protocol: :mod:`quanta.broadcast.protocol`).
Each connection has an :class:`~quanta.broadcast.Outbox` and one writer task; the hub only appends to
outboxes, so a slow connection costs the others nothing. The writer sends every frame waiting in the
outbox as one websocket message, frames separated by ``"\\n"`` (compact JSON holds no raw newline),
which keeps bursts (a resume, a snapshot and its status) to one message.

``authorize(topic, peer)`` decides who may follow a topic (it may be async, and it may declare the
topic on the hub before saying yes, e.g. a competition's leaderboard on first use); the default
opens the ``market.`` topics to everyone. Pages of other sites are refused (``Origin`` must be the
app's), because a private topic's authorisation reads the visitor's cookies.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from quanta.broadcast._hub import DEFAULT_OUTBOX, Hub, Outbox
from quanta.broadcast.errors import ProtocolError, UnknownTopicError
from quanta.broadcast.protocol import (
    PONG,
    ErrorCode,
    Ping,
    Subscribe,
    Unsubscribe,
    error_frame,
    parse_request,
)
from quanta.settings import Settings, get_settings

log = logging.getLogger(__name__)

PATH: Final = "/live/ws"
POLICY_VIOLATION: Final = 1008
GOING_AWAY: Final = 1001
_MAX_MESSAGE_CHARS: Final = 512 * 1024


@dataclass(frozen=True, kw_only=True)
class Peer:
    """Who is on the other end of a connection, as far as the request tells."""

    cookies: Mapping[str, str] = field(default_factory=dict)
    host: str | None = None


Authorize = Callable[[str, Peer], bool | Awaitable[bool]]
"""Whether ``peer`` may follow the topic (called on each subscribe)."""


def public(*prefixes: str) -> Authorize:
    """Everyone may follow the topics that start with one of ``prefixes``; nobody any other."""

    def authorize(topic: str, peer: Peer) -> bool:
        del peer
        return topic.startswith(prefixes)

    return authorize


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Per-connection bounds."""

    outbox: int = DEFAULT_OUTBOX
    """Frames waiting for one connection before its topics are dropped with a resync."""
    subscriptions: int = 32
    idle_timeout: float = 75.0
    """Seconds without a client frame before the server closes (clients ping every 20 s)."""


def install_broadcast(
    app: Starlette,
    hub: Hub,
    *,
    path: str = PATH,
    authorize: Authorize | None = None,
    limits: Limits | None = None,
    settings: Settings | None = None,
) -> None:
    """Serve ``hub``'s topics on ``app`` as a websocket at ``path``."""
    allowed = authorize or public("market.")
    bounds = limits or Limits()
    settings = settings or get_settings()

    async def broadcast_socket(websocket: WebSocket) -> None:
        if not same_site(websocket, settings):
            await websocket.close(POLICY_VIOLATION)  # before accepting: the handshake gets a 403
            return
        await websocket.accept()
        client = websocket.client
        peer = Peer(cookies=dict(websocket.cookies), host=client.host if client else None)
        await Connection(websocket, hub, peer, allowed, bounds).serve()

    app.router.routes.append(WebSocketRoute(path, broadcast_socket, name="broadcast"))
    app.state.quanta_broadcast = hub


def broadcast_app(
    hub: Hub,
    *,
    authorize: Authorize | None = None,
    limits: Limits | None = None,
    settings: Settings | None = None,
) -> Starlette:
    """A standalone app serving only the hub (tests, benchmarks); its lifespan runs the hub."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with hub.running():
            yield

    app = Starlette(lifespan=lifespan)
    install_broadcast(app, hub, authorize=authorize, limits=limits, settings=settings)
    return app


class Connection:
    """One websocket: reads requests, and a writer task drains the outbox into the socket."""

    def __init__(
        self, websocket: WebSocket, hub: Hub, peer: Peer, authorize: Authorize, limits: Limits
    ) -> None:
        self.websocket = websocket
        self.hub = hub
        self.peer = peer
        self.authorize = authorize
        self.limits = limits
        self.outbox = Outbox(limits.outbox)
        self.topics: set[str] = set()

    async def serve(self) -> None:
        """Until the client leaves, goes quiet for too long, or cannot be written to."""
        writer = asyncio.create_task(self._write(), name="broadcast-writer")
        try:
            while not writer.done():
                try:
                    text = await asyncio.wait_for(self._receive(), self.limits.idle_timeout)
                except TimeoutError:
                    await self._close(GOING_AWAY, "no ping for too long")
                    return
                if text is None:
                    return
                await self._handle(text)
                if self.outbox.overflowed:  # asks faster than it reads
                    await self._close(POLICY_VIOLATION, "too far behind")
                    return
        finally:
            for topic in self.topics:
                self.hub.unsubscribe(topic, self.outbox)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
                await writer

    async def _receive(self) -> str | None:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        if message.get("text") is not None:
            return str(message["text"])
        data = message.get("bytes")
        return bytes(data).decode(errors="replace") if data is not None else ""

    async def _handle(self, text: str) -> None:
        try:
            request = parse_request(text)
        except ProtocolError as exc:
            self.outbox.force(error_frame(None, exc.code, exc.detail))
            return
        if isinstance(request, Ping):
            self.outbox.force(PONG)
        elif isinstance(request, Unsubscribe):
            self.topics.discard(request.topic)
            self.hub.unsubscribe(request.topic, self.outbox)
        elif isinstance(request, Subscribe):
            await self._subscribe(request)

    async def _subscribe(self, request: Subscribe) -> None:
        topic = request.topic
        if topic not in self.topics and len(self.topics) >= self.limits.subscriptions:
            detail = f"at most {self.limits.subscriptions} topics per connection"
            self.outbox.force(error_frame(topic, ErrorCode.TOO_MANY, detail))
            return
        allowed = self.authorize(topic, self.peer)
        if inspect.isawaitable(allowed):
            allowed = await allowed
        if not allowed:
            self.outbox.force(error_frame(topic, ErrorCode.FORBIDDEN, "you may not follow this topic"))
            return
        try:
            self.topics.add(topic)
            await self.hub.subscribe(topic, self.outbox, after=request.after, epoch=request.epoch)
        except UnknownTopicError:
            self.topics.discard(topic)
            self.outbox.force(error_frame(topic, ErrorCode.UNKNOWN_TOPIC, f"no topic {topic!r}"))

    async def _write(self) -> None:
        send = self.websocket.send_text
        while True:
            frames = await self.outbox.take()
            if self.outbox.overflowed:
                await self._close(POLICY_VIOLATION, "too far behind")
                return
            message: list[str] = []
            size = 0
            for frame in frames:
                if message and size + len(frame) > _MAX_MESSAGE_CHARS:
                    await send("\n".join(message))
                    message, size = [], 0
                message.append(frame)
                size += len(frame) + 1
            await send("\n".join(message))

    async def _close(self, code: int, reason: str) -> None:
        if self.websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                await self.websocket.close(code, reason)


def same_site(websocket: WebSocket, settings: Settings) -> bool:
    """Whether the connection comes from the app's own pages (or from no browser page at all)."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    public_url = urlsplit(settings.public_url)
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    own = {f"{public_url.scheme}://{public_url.netloc}", f"{scheme}://{websocket.url.netloc}"}
    return origin.rstrip("/") in own
