"""OAuth fixtures: the API fixtures (``tests/api/conftest.py``) and a real OpenID Connect provider on
loopback (``provider.py``), reset before each test and wired in as the ``oidc`` and ``github`` providers.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from quanta.api.routes.login import api_providers
from quanta.oauth.service import Provider as LoginProvider
from tests.api.conftest import *  # noqa: F403  (the app, databases, clock and helpers)
from tests.oauth.provider import CLIENT_ID, CLIENT_SECRET, Behaviour, Person, Provider, serve_provider


@pytest.fixture(scope="session")
def served_provider() -> Iterator[Provider]:
    with serve_provider() as provider:
        yield provider


@pytest.fixture
def provider(served_provider: Provider, app: FastAPI) -> Provider:
    """The loopback provider, behaving well, with Quanta registered, and the app pointed at it."""
    served_provider.behaviour = Behaviour()
    served_provider.person = Person()
    served_provider.codes.clear()
    served_provider.access_tokens.clear()
    served_provider.register_redirects(
        "http://testserver/api/auth/oidc/oidc/callback", "http://testserver/api/auth/oidc/github/callback"
    )
    issuer = served_provider.issuer
    providers = {
        "oidc": LoginProvider(
            name="oidc",
            title="Test IdP",
            kind="oidc",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            issuer=issuer,
        ),
        "github": LoginProvider(
            name="github",
            title="GitHub",
            kind="github",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            scope="read:user user:email",
            authorization_endpoint=f"{issuer}/authorize",
            token_endpoint=f"{issuer}/token",
            api_base=f"{issuer}/github",
        ),
    }
    app.dependency_overrides[api_providers] = lambda: providers
    return served_provider
