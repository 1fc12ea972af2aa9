"""The HTTP API served beside the Reflex app (FastAPI, mounted with ``api_transformer``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from quanta import __version__, db
from quanta.api.app import install_api
from quanta.collab.asgi import install_collab
from quanta.collab.service import collab_hub
from quanta.settings import get_settings
from quanta_app.chat import install_chat
from quanta_app.live import install_live
from quanta_app.session_api import router as session_router
from state.market import market


def build_api() -> FastAPI:
    """The FastAPI app with Quanta's routes."""
    api = FastAPI(
        title="Quanta API",
        version=__version__,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        description="Market data, backtests and OAuth 2 for Quanta. Guide: docs/api.md.",
    )
    api.include_router(session_router)

    @api.get("/api/health", tags=["meta"])
    def health() -> dict[str, Any]:
        """Whether the app database and the market store answer."""
        settings = get_settings()
        instruments = int(market().table("instruments").count().execute())
        return {
            "status": "ok",
            "version": __version__,
            "environment": settings.env,
            "app_database": db.ping(settings),
            "market_instruments": instruments,
        }

    install_api(api)
    install_collab(api, collab_hub())  # ws /collab/{public_id}: y-websocket rooms (docs/collab.md)
    install_live(api)  # ws /live/ws: broadcast topics, live market data (docs/broadcast.md)
    install_chat(api)  # chat events and presence on the hub's chat.<room> topics (docs/chat.md)
    return api
