"""OAuth 2.0 both ways: Quanta as an authorization server for API clients, and as a client of identity
providers for social sign-in. For example::

    with db.session() as unit:
        client = service.authenticate_client(session=unit, form=form, authorization=header)
        tokens = service.exchange_token(session=unit, client=client, form=form, settings=settings, now=now)
    with db.session() as unit:
        identity = service.verify_access_token(session=unit, token=jwt, settings=settings, now=now)
        identity.require("market:read")

Use cases live in ``quanta.oauth.service``, tables and value objects in ``quanta.oauth.models``, errors in
``quanta.oauth.errors``. The HTTP endpoints are in ``quanta.api``. See docs/api.md.
"""

from quanta.oauth import errors, models, service

__all__ = ["errors", "models", "service"]
