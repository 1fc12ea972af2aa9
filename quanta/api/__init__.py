"""The institutional REST API (``/api/v1``), the OAuth 2 authorization server (``/api/oauth``) and social
sign-in (``/api/auth/oidc``), as FastAPI routers over the core services.

``quanta.api.app.install_api(app)`` adds them to a FastAPI app, with problem+json errors and rate
limits. This package's ``__init__`` imports nothing, so ``quanta.models`` can import the API's tables
without FastAPI. See docs/api.md.
"""
