"""Programmatic access: personal access tokens (a user's) and API clients (an organisation's, for OAuth).

Both secrets are 256-bit random strings stored as SHA-256. A slow hash (Argon2) protects *guessable*
secrets such as passwords; these cannot be guessed, and they are checked on every API call, where a
deliberately slow hash would only hand attackers a denial-of-service lever.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from quanta.accounts._orgs import org_id, require_manager
from quanta.accounts._support import current_time, hashes_match, new_token, record, token_hash, user_id
from quanta.accounts.errors import InvalidCredentials, InvalidInput, InvalidToken, NotFound, TokenExpired
from quanta.accounts.events import AuditKind
from quanta.accounts.models import (
    GRANT_TYPES,
    SCOPES,
    ApiClient,
    ApiClientCreate,
    ApiClientUpdate,
    IssuedClient,
    IssuedToken,
    Organization,
    PersonalAccessToken,
    PersonalAccessTokenCreate,
    TokenIdentity,
    User,
)

PAT_PREFIX = "qnt_pat_"  # a public marker: secret scanners can spot leaked tokens
CLIENT_ID_PREFIX = "qnt_ci_"
CLIENT_SECRET_PREFIX = "qnt_cs_"  # noqa: S105 - a public marker, like qnt_pat_
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token."""
MAX_REDIRECT_URIS = 10
_MAX_TOKEN = 128
_DISPLAY_PREFIX = 12
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


def check_scopes(scopes: Iterable[str], *, field: str = "scopes") -> list[str]:
    """``scopes`` deduplicated in the documented order; ``InvalidInput`` names unknown ones."""
    wanted = set(scopes)
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise InvalidInput(field, f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(SCOPES)}.")
    if not wanted:
        raise InvalidInput(field, "Choose at least one scope.")
    return [scope for scope in SCOPES if scope in wanted]


# ---- personal access tokens ----------------------------------------------------------------------------


def create_personal_access_token(
    *, session: Session, user: User, token_in: PersonalAccessTokenCreate, now: datetime | None = None
) -> IssuedToken:
    """A new ``qnt_pat_…`` token for ``user``; its secret is in the result and nowhere else."""
    now = current_time(now)
    scopes = check_scopes(token_in.scopes)
    secret = new_token(PAT_PREFIX)
    expires_at = now + timedelta(days=token_in.expires_in_days) if token_in.expires_in_days else None
    row = PersonalAccessToken(
        user_id=user_id(user),
        name=token_in.name.strip(),
        scopes=scopes,
        token_hash=token_hash(secret),
        prefix=secret[:_DISPLAY_PREFIX],
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    record(
        session,
        AuditKind.TOKEN_CREATED,
        now=now,
        actor_id=user.id,
        detail={"token_id": row.id, "name": row.name, "scopes": scopes},
    )
    return IssuedToken(token=row, secret=secret)


def list_personal_access_tokens(*, session: Session, user: User) -> list[PersonalAccessToken]:
    """``user``'s own tokens (revoked and expired ones too), newest first."""
    query = (
        select(PersonalAccessToken)
        .where(col(PersonalAccessToken.user_id) == user_id(user))
        .order_by(col(PersonalAccessToken.created_at).desc(), col(PersonalAccessToken.id).desc())
    )
    return list(session.exec(query))


def revoke_personal_access_token(
    *, session: Session, user: User, token_id: int, now: datetime | None = None
) -> PersonalAccessToken:
    """Revoke one of ``user``'s tokens; someone else's token is ``NotFound`` (it does not exist for them)."""
    now = current_time(now)
    row = session.get(PersonalAccessToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("No such token.")
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        record(session, AuditKind.TOKEN_REVOKED, now=now, actor_id=user.id, detail={"token_id": token_id})
        session.flush()
    return row


def verify_personal_access_token(
    *, session: Session, token: str, now: datetime | None = None
) -> TokenIdentity:
    """The user and scopes behind a ``qnt_pat_…`` token; notes when it was last used.

    Raises ``InvalidToken`` (unknown, revoked, or its user is disabled) or ``TokenExpired``.
    """
    now = current_time(now)
    row = _token_row(session, token)
    if row.expires_at is not None and row.expires_at <= now:
        raise TokenExpired("This token has expired. Create a new one.")
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        raise InvalidToken("This token is not valid.")
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_TOUCH_INTERVAL:
        row.last_used_at = now
        session.add(row)
        session.flush()
    return TokenIdentity(user=user, token=row, scopes=frozenset(row.scopes))


def _token_row(session: Session, token: str) -> PersonalAccessToken:
    if not token.startswith(PAT_PREFIX) or len(token) > _MAX_TOKEN:
        raise InvalidToken("This token is not valid.")
    digest = token_hash(token)
    row = session.exec(
        select(PersonalAccessToken).where(col(PersonalAccessToken.token_hash) == digest)
    ).first()
    if row is None or not hashes_match(row.token_hash, token) or row.revoked_at is not None:
        raise InvalidToken("This token is not valid.")
    return row


# ---- API clients ---------------------------------------------------------------------------------------


def register_api_client(
    *,
    session: Session,
    actor: User,
    org: Organization,
    client_in: ApiClientCreate,
    now: datetime | None = None,
) -> IssuedClient:
    """Register an OAuth client for ``org`` (owners and admins); the secret is shown once."""
    now = current_time(now)
    require_manager(session, actor, org)
    checked = _check_client_settings(client_in.redirect_uris, client_in.scopes, client_in.grant_types)
    secret = new_token(CLIENT_SECRET_PREFIX)
    client = ApiClient(
        org_id=org_id(org),
        name=client_in.name.strip(),
        client_id=new_token(CLIENT_ID_PREFIX)[:40],
        client_secret_hash=token_hash(secret),
        created_by_id=actor.id,
        created_at=now,
        redirect_uris=checked["redirect_uris"],
        scopes=checked["scopes"],
        grant_types=checked["grant_types"],
    )
    session.add(client)
    session.flush()
    record(
        session,
        AuditKind.API_CLIENT_REGISTERED,
        now=now,
        actor_id=actor.id,
        org_id=org.id,
        detail={"client_id": client.client_id, "name": client.name, "scopes": client.scopes},
    )
    return IssuedClient(client=client, secret=secret)


def list_api_clients(*, session: Session, actor: User, org: Organization) -> list[ApiClient]:
    """``org``'s API clients, revoked ones too (owners and admins)."""
    require_manager(session, actor, org)
    query = select(ApiClient).where(col(ApiClient.org_id) == org_id(org)).order_by(col(ApiClient.id))
    return list(session.exec(query))


def update_api_client(
    *,
    session: Session,
    actor: User,
    org: Organization,
    client_id: str,
    client_in: ApiClientUpdate,
) -> ApiClient:
    """Change a client's name, redirect URIs, scopes or grant types (owners and admins)."""
    require_manager(session, actor, org)
    client = _client_of(session, org, client_id)
    changes = client_in.model_dump(exclude_unset=True, exclude_none=True)
    merged = {
        "redirect_uris": changes.get("redirect_uris", client.redirect_uris),
        "scopes": changes.get("scopes", client.scopes),
        "grant_types": changes.get("grant_types", client.grant_types),
    }
    for name, value in _check_client_settings(**merged).items():
        setattr(client, name, value)
    if "name" in changes:
        client.name = changes["name"].strip()
    session.add(client)
    session.flush()
    return client


def rotate_api_client_secret(
    *, session: Session, actor: User, org: Organization, client_id: str, now: datetime | None = None
) -> IssuedClient:
    """Replace a client's secret (the old one stops working at once); the new one is shown once."""
    now = current_time(now)
    require_manager(session, actor, org)
    client = _client_of(session, org, client_id)
    secret = new_token(CLIENT_SECRET_PREFIX)
    client.client_secret_hash = token_hash(secret)
    session.add(client)
    record(
        session,
        AuditKind.API_CLIENT_SECRET_ROTATED,
        now=now,
        actor_id=actor.id,
        org_id=org.id,
        detail={"client_id": client_id},
    )
    session.flush()
    return IssuedClient(client=client, secret=secret)


def revoke_api_client(
    *, session: Session, actor: User, org: Organization, client_id: str, now: datetime | None = None
) -> ApiClient:
    """Switch a client off for good (owners and admins)."""
    now = current_time(now)
    require_manager(session, actor, org)
    client = _client_of(session, org, client_id)
    client.revoked_at = now
    session.add(client)
    record(
        session,
        AuditKind.API_CLIENT_REVOKED,
        now=now,
        actor_id=actor.id,
        org_id=org.id,
        detail={"client_id": client_id},
    )
    session.flush()
    return client


def api_client_by_client_id(*, session: Session, client_id: str) -> ApiClient:
    """The live client with this public id (for the OAuth authorisation endpoint); ``NotFound`` otherwise."""
    client = session.exec(select(ApiClient).where(col(ApiClient.client_id) == client_id)).first()
    if client is None or client.revoked_at is not None:
        raise NotFound("Unknown client.")
    return client


def authenticate_api_client(*, session: Session, client_id: str, client_secret: str) -> ApiClient:
    """The live client whose id and secret these are (for the OAuth token endpoint)."""
    client = session.exec(select(ApiClient).where(col(ApiClient.client_id) == client_id)).first()
    stored = client.client_secret_hash if client is not None else token_hash(new_token())
    matches = hashes_match(stored, client_secret)
    if client is None or not matches or client.revoked_at is not None:
        raise InvalidCredentials("Invalid client credentials.")
    return client


def _client_of(session: Session, org: Organization, client_id: str) -> ApiClient:
    client = session.exec(select(ApiClient).where(col(ApiClient.client_id) == client_id)).first()
    if client is None or client.org_id != org.id:
        raise NotFound("No such API client.")
    return client


def _check_client_settings(
    redirect_uris: list[str], scopes: list[str], grant_types: list[str]
) -> dict[str, list[str]]:
    grants = list(dict.fromkeys(grant_types))
    unknown = sorted(set(grants) - set(GRANT_TYPES))
    if unknown or not grants:
        known = ", ".join(GRANT_TYPES)
        raise InvalidInput("grant_types", f"Choose grant types among {known}; unknown: {unknown or 'none'}.")
    if "refresh_token" in grants and "authorization_code" not in grants:
        raise InvalidInput("grant_types", "refresh_token only goes with authorization_code.")
    uris = [_check_redirect_uri(uri) for uri in dict.fromkeys(redirect_uris)]
    if "authorization_code" in grants and not uris:
        raise InvalidInput("redirect_uris", "authorization_code needs at least one redirect URI.")
    if len(uris) > MAX_REDIRECT_URIS:
        raise InvalidInput("redirect_uris", f"Register at most {MAX_REDIRECT_URIS} redirect URIs.")
    return {"redirect_uris": uris, "scopes": check_scopes(scopes), "grant_types": grants}


def _check_redirect_uri(uri: str) -> str:
    """An absolute https URI without a fragment; plain http only for loopback (native and dev apps)."""
    parts = urlsplit(uri.strip())
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS)
    if not secure or not parts.netloc or parts.fragment or len(uri) > 500:
        raise InvalidInput(
            "redirect_uris",
            f"{uri!r} is not allowed: use an https:// address without #fragment "
            "(http:// only for localhost).",
        )
    return uri.strip()
