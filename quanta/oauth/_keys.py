"""Signing keys for access tokens: ES256 (P-256) keys kept in the database, the private half sealed.

The newest live key signs; every live key verifies and is published in the JWKS, so rotating is: create a
new key (``rotate_signing_key``), let the old tokens expire, then ``retire_signing_key`` the old one.
The first token ever issued creates the first key.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from joserfc.jwk import ECKey
from sqlmodel import Session, col, select

from quanta.accounts.errors import NotFound
from quanta.oauth._crypto import seal, unseal
from quanta.oauth.errors import SealError
from quanta.oauth.models import OAuthSigningKey
from quanta.settings import Settings

SIGNING_ALG = "ES256"
_PURPOSE = "oauth-signing-key"


def rotate_signing_key(*, session: Session, settings: Settings, now: datetime) -> OAuthSigningKey:
    """Create a new signing key; it signs from now on, and older live keys keep verifying."""
    kid = f"{now:%Y%m%d}-{secrets.token_hex(4)}"
    key = ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": SIGNING_ALG})
    pem = key.as_pem(private=True).decode("ascii")
    row = OAuthSigningKey(
        kid=kid,
        alg=SIGNING_ALG,
        public_jwk=dict(key.as_dict(private=False)),
        sealed_private_key=seal({"pem": pem}, settings=settings, purpose=_PURPOSE),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def retire_signing_key(*, session: Session, kid: str, now: datetime) -> OAuthSigningKey:
    """Stop a key verifying (tokens it signed stop working) and drop it from the JWKS."""
    row = session.exec(select(OAuthSigningKey).where(col(OAuthSigningKey.kid) == kid)).first()
    if row is None:
        raise NotFound("No such signing key.")
    if row.retired_at is None:
        row.retired_at = now
        session.add(row)
        session.flush()
    return row


def live_signing_keys(*, session: Session) -> list[OAuthSigningKey]:
    """Keys that verify (not retired), newest first."""
    query = (
        select(OAuthSigningKey)
        .where(col(OAuthSigningKey.retired_at).is_(None))
        .order_by(col(OAuthSigningKey.created_at).desc(), col(OAuthSigningKey.id).desc())
    )
    return list(session.exec(query))


def signing_key(*, session: Session, settings: Settings, now: datetime) -> tuple[str, ECKey]:
    """The kid and private key that sign new tokens: the newest live key this server can open.

    A key sealed under an earlier ``QUANTA_SECRET_KEY`` cannot be opened; a new key is made then.
    """
    for row in live_signing_keys(session=session):
        try:
            return row.kid, _private_key(row, settings, now)
        except SealError:
            continue
    row = rotate_signing_key(session=session, settings=settings, now=now)
    return row.kid, _private_key(row, settings, now)


def verification_key(*, session: Session, kid: str) -> ECKey | None:
    """The public key of live key ``kid``, or None (unknown or retired)."""
    row = session.exec(
        select(OAuthSigningKey).where(
            col(OAuthSigningKey.kid) == kid, col(OAuthSigningKey.retired_at).is_(None)
        )
    ).first()
    return ECKey.import_key(dict(row.public_jwk)) if row is not None else None


def jwks(*, session: Session) -> dict[str, Any]:
    """The JSON Web Key Set of every live key (public halves only)."""
    return {"keys": [dict(row.public_jwk) for row in live_signing_keys(session=session)]}


def _private_key(row: OAuthSigningKey, settings: Settings, now: datetime) -> ECKey:
    opened = unseal(row.sealed_private_key, settings=settings, purpose=_PURPOSE, now=now)
    return ECKey.import_key(opened["pem"], parameters={"kid": row.kid, "alg": row.alg, "use": "sig"})
