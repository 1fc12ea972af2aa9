"""Small authenticated encryption and MACs under keys derived from ``QUANTA_SECRET_KEY``.

``seal`` turns a small JSON payload into an opaque URL-safe string (AES-256-GCM, a fresh 96-bit nonce, the
purpose as associated data), ``unseal`` reverses it and checks the purpose and the expiry. Each purpose gets
its own key (HKDF-SHA256), so a value sealed for one use never opens for another. ``mac`` is an HMAC for
CSRF tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from quanta.oauth.errors import SealError
from quanta.settings import Settings

_NONCE_BYTES = 12
_MAX_SEALED = 8192


def b64encode(data: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """Inverse of ``b64encode``; raises ``SealError`` on malformed text."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SealError("malformed value") from exc


def derived_key(settings: Settings, purpose: str) -> bytes:
    """A 256-bit key for ``purpose``, derived from the secret key."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"quanta", info=purpose.encode())
    return hkdf.derive(settings.secret_key.get_secret_value().encode())


def seal(
    payload: Mapping[str, Any], *, settings: Settings, purpose: str, expires_at: datetime | None = None
) -> str:
    """``payload`` encrypted and authenticated for ``purpose``; it stops opening after ``expires_at``."""
    body = dict(payload)
    if expires_at is not None:
        body["_exp"] = int(expires_at.timestamp())
    nonce = os.urandom(_NONCE_BYTES)
    data = json.dumps(body, separators=(",", ":")).encode()
    cipher = AESGCM(derived_key(settings, purpose)).encrypt(nonce, data, purpose.encode())
    return b64encode(nonce + cipher)


def unseal(token: str, *, settings: Settings, purpose: str, now: datetime) -> dict[str, Any]:
    """The payload of a ``seal``ed value; ``SealError`` if forged, for another purpose, or expired."""
    if not token or len(token) > _MAX_SEALED:
        raise SealError("malformed value")
    raw = b64decode(token)
    if len(raw) <= _NONCE_BYTES:
        raise SealError("malformed value")
    try:
        data = AESGCM(derived_key(settings, purpose)).decrypt(
            raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], purpose.encode()
        )
    except InvalidTag as exc:
        raise SealError("the value was not sealed by this server for this purpose") from exc
    body: dict[str, Any] = json.loads(data)
    expires = body.pop("_exp", None)
    if expires is not None and now.timestamp() >= expires:
        raise SealError("the value has expired")
    return body


def mac(value: str, *, settings: Settings, purpose: str) -> str:
    """An HMAC-SHA256 of ``value`` for ``purpose`` (URL-safe text)."""
    digest = hmac.new(derived_key(settings, purpose), value.encode(), hashlib.sha256).digest()
    return b64encode(digest)


def mac_matches(expected_for: str, given: str | None, *, settings: Settings, purpose: str) -> bool:
    """Constant-time check that ``given`` is the ``mac`` of ``expected_for``."""
    if not given:
        return False
    return hmac.compare_digest(mac(expected_for, settings=settings, purpose=purpose).encode(), given.encode())
