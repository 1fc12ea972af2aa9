"""The room server on a Starlette/FastAPI app: ``install_collab(app, hub)`` adds the websocket route
``/collab/{public_id}`` that y-websocket connects to (``new WebsocketProvider(origin + "/collab", id, doc)``).

The session cookie says who connects (as for the app's pages); a page from another site is refused
(``Origin`` must be the app's), then the hub asks the authorizer for the person's role.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Final
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from quanta.collab._hub import POLICY_VIOLATION, CollabHub
from quanta.collab.access import session_user
from quanta.collab.service import set_current_hub
from quanta.settings import Settings, get_settings

PATH: Final = "/collab/{public_id}"

Identify = Callable[[Mapping[str, str]], int | None]
"""The signed-in person (user id) of a connection's cookies, or None; called in a worker thread."""


class WebSocketTransport:
    """A Starlette websocket as the hub's ``Transport`` (binary messages; text ones are ignored)."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def send(self, message: bytes) -> None:
        await self._websocket.send_bytes(message)

    async def receive(self) -> bytes | None:
        while self._websocket.client_state is WebSocketState.CONNECTED:
            message = await self._websocket.receive()
            if message["type"] == "websocket.disconnect":
                return None
            if message.get("bytes") is not None:
                return bytes(message["bytes"])
        return None

    async def close(self, code: int, reason: str) -> None:
        if self._websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                await self._websocket.close(code, reason)


def install_collab(
    app: Starlette,
    hub: CollabHub,
    *,
    settings: Settings | None = None,
    identify: Identify | None = None,
    path: str = PATH,
) -> None:
    """Serve ``hub``'s rooms on ``app`` at ``path`` (a websocket route with ``{public_id}``)."""
    settings = settings or get_settings()
    identify_user = identify or (lambda cookies: session_user(cookies, settings=settings))

    async def collab_socket(websocket: WebSocket) -> None:
        public_id = websocket.path_params["public_id"]
        await websocket.accept()
        transport = WebSocketTransport(websocket)
        if not same_site(websocket, settings):
            await transport.close(POLICY_VIOLATION, "this page is not Quanta's")
            return
        cookies = dict(websocket.cookies)
        await hub.serve(transport, public_id=public_id, who=lambda: identify_user(cookies))
        await transport.close(1000, "")

    app.router.routes.append(WebSocketRoute(path, collab_socket, name="collab"))
    app.state.quanta_collab = hub
    set_current_hub(hub)


def collab_app(
    hub: CollabHub, *, settings: Settings | None = None, identify: Identify | None = None
) -> Starlette:
    """A standalone app serving only the rooms (tests, benchmarks, a separate collaboration service);
    its lifespan closes the hub, storing every pending update, at shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with hub.running():
            yield

    app = Starlette(lifespan=lifespan)
    install_collab(app, hub, settings=settings, identify=identify)
    return app


def same_site(websocket: WebSocket, settings: Settings) -> bool:
    """Whether the connection comes from the app's own pages (or from no browser page at all).

    Browsers send the page's ``Origin`` with every websocket; a page of another site could otherwise
    open a room with the visitor's cookie.
    """
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    public = urlsplit(settings.public_url)
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    own = {f"{public.scheme}://{public.netloc}", f"{scheme}://{websocket.url.netloc}"}
    return origin.rstrip("/") in own
