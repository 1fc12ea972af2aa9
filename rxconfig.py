"""Reflex configuration, derived from Quanta's settings (``QUANTA_*`` environment variables)."""

import os

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

from quanta.settings import get_settings

settings = get_settings()

# Reflex reads only REFLEX_REDIS_URL; Quanta's one switch is QUANTA_REDIS_URL.
if settings.redis_url:
    os.environ.setdefault("REFLEX_REDIS_URL", settings.redis_url)
# A DuckDB file admits one writing process: with the embedded market store the backend runs one worker.
# Market data on PostgreSQL (QUANTA_MARKET_DATABASE_URL) lets Redis-backed state spread over several workers.
if settings.market_database_url is None:
    os.environ.setdefault("GRANIAN_WORKERS", "1")
# Uploads are read in memory and validated; Reflex's own upload folder stays under var/.
os.environ.setdefault("REFLEX_UPLOADED_FILES_DIR", str(settings.uploads_dir))

config = rx.Config(
    app_name="quanta_app",
    show_built_with_reflex=False,
    telemetry_enabled=False,
    redis_url=settings.redis_url,
    state_manager_mode="redis" if settings.redis_url else "memory",
    default_color_mode="system",
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="indigo", gray_color="slate", radius="medium")
        )
    ],
    disable_plugins=[SitemapPlugin],
)
