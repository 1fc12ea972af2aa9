"""Social sign-in: Quanta as an OAuth 2 / OpenID Connect client of GitHub, Google or any OIDC provider.

``start_login`` sends the browser to the provider with ``state``, ``nonce`` and a PKCE (S256) challenge,
keeping them in a sealed, short-lived cookie. ``finish_login`` checks ``state``, exchanges the code (with
the verifier) and, for OIDC, validates the ``id_token``: signature against the provider's JWKS, issuer,
audience (and ``azp``), expiry, issue time and nonce. GitHub has no ``id_token``: the person's id and
verified addresses come from its API. ``complete_login`` then decides whose account this is:

- an identity already linked signs in to its account;
- a person signed in who started a link gets the identity linked to their account;
- a verified address that has no account gets a new account;
- a verified address that has an account needs proof (being signed in to it, or its password through
  ``confirm_link``) before the identity is linked; an unverified address is refused.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
from authlib.integrations.base_client.errors import (  # type: ignore[import-untyped]
    OAuthError as ClientOAuthError,
)
from authlib.integrations.httpx_client import AsyncOAuth2Client  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlmodel import Session, col, select

from quanta.accounts.errors import AccountDisabled
from quanta.accounts.models import SessionGrant, User
from quanta.oauth import _accounts
from quanta.oauth._crypto import seal, unseal
from quanta.oauth.errors import LoginError, SealError
from quanta.oauth.models import ExternalIdentity, OAuthIdentity
from quanta.ratelimit import RateLimiter
from quanta.settings import Settings

FLOW_COOKIE = "quanta_oidc_flow"
LINK_COOKIE = "quanta_oidc_link"
COOKIE_PATH = "/api/auth/oidc"
FLOW_TTL = timedelta(minutes=10)
LINK_TTL = timedelta(minutes=10)
ID_TOKEN_LEEWAY = 60
"""Seconds of clock skew tolerated on ``exp`` and ``iat``."""
SIGN_IN_PATH = "/signin"
_FLOW_PURPOSE = "oidc-login-flow"
_LINK_PURPOSE = "oidc-pending-link"
_ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
_GITHUB = {
    "authorization_endpoint": "https://github.com/login/oauth/authorize",
    "token_endpoint": "https://github.com/login/oauth/access_token",
    "api_base": "https://api.github.com",
}
GOOGLE_ISSUER = "https://accounts.google.com"


@dataclass(frozen=True, kw_only=True)
class Provider:
    """An identity provider Quanta signs people in with."""

    name: str
    title: str
    kind: Literal["oidc", "github"]
    client_id: str
    client_secret: str = field(repr=False)
    scope: str = "openid email profile"
    issuer: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    api_base: str | None = None


def configured_providers(settings: Settings) -> dict[str, Provider]:
    """The providers the settings switch on: ``github``, ``google`` and a generic ``oidc`` issuer."""
    found: dict[str, Provider] = {}
    if settings.github_client_id and settings.github_client_secret:
        found["github"] = Provider(
            name="github",
            title="GitHub",
            kind="github",
            client_id=settings.github_client_id,
            client_secret=settings.github_client_secret.get_secret_value(),
            scope="read:user user:email",
            **_GITHUB,
        )
    if settings.google_client_id and settings.google_client_secret:
        found["google"] = Provider(
            name="google",
            title="Google",
            kind="oidc",
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret.get_secret_value(),
            issuer=GOOGLE_ISSUER,
        )
    if settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret:
        found["oidc"] = Provider(
            name="oidc",
            title=settings.oidc_name,
            kind="oidc",
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret.get_secret_value(),
            issuer=settings.oidc_issuer.rstrip("/"),
        )
    return found


def callback_url(settings: Settings, provider: str) -> str:
    """Where the provider sends the browser back (register this URI at the provider)."""
    return f"{settings.public_url.rstrip('/')}{COOKIE_PATH}/{provider}/callback"


# ---- provider metadata ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ProviderMetadata:
    """The endpoints of a provider (from OIDC discovery, or the GitHub preset)."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str | None = None
    algorithms: tuple[str, ...] = ("RS256",)
    token_auth_method: str = "client_secret_basic"  # noqa: S105 - a method name


def _default_http() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=10.0, follow_redirects=False)


class ProviderDirectory:
    """Discovery documents and signing keys of the providers, fetched over HTTPS and cached for ``ttl``."""

    def __init__(
        self, *, http: Callable[[], httpx.AsyncClient] = _default_http, ttl: timedelta = timedelta(hours=1)
    ) -> None:
        self.http = http
        self._ttl = ttl.total_seconds()
        self._metadata: dict[str, tuple[float, ProviderMetadata]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}

    async def metadata(self, provider: Provider) -> ProviderMetadata:
        """The provider's endpoints; OIDC discovery must name the configured issuer exactly."""
        if provider.kind == "github" or provider.issuer is None:
            return ProviderMetadata(
                authorization_endpoint=provider.authorization_endpoint or "",
                token_endpoint=provider.token_endpoint or "",
                token_auth_method="client_secret_post",  # noqa: S106 - a method name
            )
        cached = self._metadata.get(provider.issuer)
        if cached is not None and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        document = await self._get_json(f"{provider.issuer}/.well-known/openid-configuration")
        if document.get("issuer") != provider.issuer:
            raise LoginError(
                "provider_misconfigured", "The provider's discovery document names another issuer."
            )
        metadata = _metadata_from(document)
        self._metadata[provider.issuer] = (time.monotonic(), metadata)
        return metadata

    async def key_set(self, provider: Provider, *, refresh: bool = False) -> KeySet:
        """The provider's public signing keys (refetched when ``refresh``, e.g. for an unknown ``kid``)."""
        metadata = await self.metadata(provider)
        if metadata.jwks_uri is None:
            raise LoginError("provider_misconfigured", "The provider publishes no signing keys.")
        cached = self._keys.get(metadata.jwks_uri)
        if not refresh and cached is not None and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        try:
            keys = KeySet.import_key_set(await self._get_json(metadata.jwks_uri))  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise LoginError("provider_misconfigured", "The provider's signing keys cannot be read.") from exc
        self._keys[metadata.jwks_uri] = (time.monotonic(), keys)
        return keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self.http() as client:
                response = await client.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise LoginError(
                "provider_unreachable", "The sign-in provider did not answer. Try again."
            ) from exc
        if not isinstance(document, dict):
            raise LoginError("provider_misconfigured", "The provider answered with something unexpected.")
        return document


def _metadata_from(document: Mapping[str, Any]) -> ProviderMetadata:
    try:
        methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        algorithms = tuple(
            a for a in document.get("id_token_signing_alg_values_supported", []) if a in _ASYMMETRIC
        )
        return ProviderMetadata(
            authorization_endpoint=str(document["authorization_endpoint"]),
            token_endpoint=str(document["token_endpoint"]),
            jwks_uri=str(document["jwks_uri"]),
            algorithms=algorithms or ("RS256",),
            token_auth_method="client_secret_basic"
            if "client_secret_basic" in methods
            else "client_secret_post",
        )
    except KeyError as exc:
        raise LoginError("provider_misconfigured", f"The provider's discovery document lacks {exc}.") from exc


# ---- the round trip to the provider --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LoginFlow:
    """What the flow cookie remembers between ``start_login`` and ``finish_login``."""

    provider: str
    state: str
    nonce: str
    code_verifier: str
    next_path: str
    link_user_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class LoginStart:
    """Where to send the browser, and the sealed flow to keep in ``FLOW_COOKIE`` meanwhile."""

    url: str
    flow_cookie: str


def safe_next(path: str | None) -> str:
    """``path`` if it is a path on this site, else ``/`` (no open redirects)."""
    if not path or len(path) > 500 or not path.startswith("/") or path.startswith(("//", "/\\")):
        return "/"
    return path if all(32 <= ord(c) < 127 for c in path) else "/"


async def start_login(
    *,
    provider: Provider,
    directory: ProviderDirectory,
    settings: Settings,
    next_path: str | None,
    link_user_id: int | None,
    now: datetime,
) -> LoginStart:
    """The provider's authorization URL (code flow with PKCE, state and nonce) and the flow cookie."""
    metadata = await directory.metadata(provider)
    flow = LoginFlow(
        provider=provider.name,
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        code_verifier=secrets.token_urlsafe(48),
        next_path=safe_next(next_path),
        link_user_id=link_user_id,
    )
    client = AsyncOAuth2Client(
        client_id=provider.client_id,
        scope=provider.scope,
        redirect_uri=callback_url(settings, provider.name),
        code_challenge_method="S256",
    )
    extra = {"nonce": flow.nonce} if provider.kind == "oidc" else {}
    url, _ = client.create_authorization_url(
        metadata.authorization_endpoint, state=flow.state, code_verifier=flow.code_verifier, **extra
    )
    cookie = seal(vars(flow), settings=settings, purpose=_FLOW_PURPOSE, expires_at=now + FLOW_TTL)
    return LoginStart(url=url, flow_cookie=cookie)


def open_flow(cookie: str | None, *, provider: str, settings: Settings, now: datetime) -> LoginFlow:
    """The flow a callback belongs to; ``LoginError`` if the cookie is missing, forged, expired or for
    another provider."""
    if not cookie:
        raise LoginError("flow_missing", "The sign-in took too long or began in another browser. Try again.")
    try:
        flow = LoginFlow(**unseal(cookie, settings=settings, purpose=_FLOW_PURPOSE, now=now))
    except (SealError, TypeError) as exc:
        raise LoginError("flow_expired", "The sign-in took too long. Try again.") from exc
    if flow.provider != provider:
        raise LoginError("state_mismatch", "The sign-in answer does not match the sign-in you started.")
    return flow


async def finish_login(
    *,
    provider: Provider,
    directory: ProviderDirectory,
    flow: LoginFlow,
    params: Mapping[str, str],
    settings: Settings,
    now: datetime,
) -> ExternalIdentity:
    """Check the provider's answer against ``flow``, exchange the code and return who signed in."""
    if not hmac.compare_digest(params.get("state", "").encode(), flow.state.encode()):
        raise LoginError("state_mismatch", "The sign-in answer does not match the sign-in you started.")
    if params.get("error"):
        raise LoginError(
            "provider_refused", f"{provider.title} did not sign you in ({params['error'][:100]})."
        )
    code = params.get("code")
    if not code:
        raise LoginError("code_missing", f"{provider.title} sent no authorization code.")
    token = await _exchange_code(provider, directory, code=code, flow=flow, settings=settings)
    if provider.kind == "github":
        return await _github_identity(provider, directory, str(token.get("access_token", "")))
    return await _id_token_identity(provider, directory, token.get("id_token"), nonce=flow.nonce, now=now)


async def _exchange_code(
    provider: Provider, directory: ProviderDirectory, *, code: str, flow: LoginFlow, settings: Settings
) -> dict[str, Any]:
    metadata = await directory.metadata(provider)
    client = AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        token_endpoint_auth_method=metadata.token_auth_method,
        redirect_uri=callback_url(settings, provider.name),
        timeout=10.0,
    )
    try:
        async with client:
            token = await client.fetch_token(
                metadata.token_endpoint,
                code=code,
                code_verifier=flow.code_verifier,
                headers={"Accept": "application/json"},
            )
    except (ClientOAuthError, httpx.HTTPError, ValueError) as exc:
        raise LoginError("code_rejected", f"{provider.title} did not accept the sign-in. Try again.") from exc
    return dict(token)


async def _id_token_identity(
    provider: Provider, directory: ProviderDirectory, id_token: Any, *, nonce: str, now: datetime
) -> ExternalIdentity:
    if not isinstance(id_token, str) or not id_token:
        raise LoginError("id_token_invalid", f"{provider.title} sent no ID token.")
    claims = await _verified_id_token(provider, directory, id_token, nonce=nonce, now=now)
    verified = claims.get("email_verified") in (True, "true")
    email = claims.get("email")
    return ExternalIdentity(
        provider=provider.name,
        subject=str(claims["sub"]),
        email=str(email) if isinstance(email, str) and email else None,
        email_verified=verified,
        name=str(claims["name"]) if isinstance(claims.get("name"), str) else None,
    )


async def _verified_id_token(
    provider: Provider, directory: ProviderDirectory, id_token: str, *, nonce: str, now: datetime
) -> dict[str, Any]:
    metadata = await directory.metadata(provider)
    try:
        decoded = await _decode(provider, directory, id_token, list(metadata.algorithms))
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            leeway=ID_TOKEN_LEEWAY,
            iss={"essential": True, "value": provider.issuer or ""},
            aud={"essential": True, "value": provider.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(decoded.claims)
    except (JoseError, ValueError, TypeError, UnicodeError) as exc:
        raise LoginError("id_token_invalid", f"{provider.title}'s ID token did not check out.") from exc
    claims = dict(decoded.claims)
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != provider.client_id:
        raise LoginError("id_token_invalid", f"{provider.title}'s ID token was issued to another party.")
    if claims["iat"] > now.timestamp() + ID_TOKEN_LEEWAY:
        raise LoginError("id_token_invalid", f"{provider.title}'s ID token was issued in the future.")
    return claims


async def _decode(
    provider: Provider, directory: ProviderDirectory, id_token: str, algorithms: list[str]
) -> jwt.Token:
    keys = await directory.key_set(provider)
    try:
        return jwt.decode(id_token, keys, algorithms=algorithms)
    except JoseError:
        fresh = await directory.key_set(provider, refresh=True)  # the provider may have rotated its keys
        return jwt.decode(id_token, fresh, algorithms=algorithms)


async def _github_identity(
    provider: Provider, directory: ProviderDirectory, access_token: str
) -> ExternalIdentity:
    base = provider.api_base or _GITHUB["api_base"]
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/vnd.github+json"}
    try:
        async with directory.http() as client:
            user = (await client.get(f"{base}/user", headers=headers)).raise_for_status().json()
            emails = (await client.get(f"{base}/user/emails", headers=headers)).raise_for_status().json()
        subject = str(int(user["id"]))
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise LoginError("provider_unreachable", "GitHub did not tell us who you are. Try again.") from exc
    primary = next(
        (e for e in emails if isinstance(e, dict) and e.get("primary") and e.get("verified")), None
    )
    return ExternalIdentity(
        provider=provider.name,
        subject=subject,
        email=str(primary["email"]) if primary else None,
        email_verified=primary is not None,
        name=str(user.get("name") or user.get("login") or "") or None,
    )


# ---- whose account is it? ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SignedIn:
    """The person is signed in: put ``grant.token`` in the session cookie (``created``: a new account)."""

    grant: SessionGrant
    created: bool = False
    linked: bool = False


@dataclass(frozen=True, kw_only=True)
class NeedsPassword:
    """The address has an account: its password must confirm the link (keep ``cookie`` in LINK_COOKIE)."""

    cookie: str
    email: str


def complete_login(
    *,
    session: Session,
    identity: ExternalIdentity,
    flow: LoginFlow,
    current_user: User | None,
    settings: Settings,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
) -> SignedIn | NeedsPassword:
    """Sign in, link or create the account of ``identity`` (see the module's rules)."""
    linked = identity_row(session, identity)
    if linked is not None:
        if flow.link_user_id is not None and linked.user_id != flow.link_user_id:
            raise LoginError("identity_in_use", "That account is already linked to another Quanta account.")
        return _sign_in_linked(session, linked, identity, ip=ip, user_agent=user_agent, now=now)
    if flow.link_user_id is not None:
        if current_user is None or current_user.id != flow.link_user_id:
            raise LoginError("link_session_lost", "Sign in to Quanta again, then link the account.")
        return _link_and_sign_in(session, current_user, identity, ip=ip, user_agent=user_agent, now=now)
    if not identity.email or not identity.email_verified:
        raise LoginError(
            "email_unverified",
            "The provider has not verified an email address for you, so we cannot sign you in.",
        )
    owner = _accounts.user_by_email(session, identity.email)
    if owner is None:
        user = _accounts.create_external_user(
            session, email=identity.email, provider=identity.provider, ip=ip, now=now
        )
        signed_in = _link_and_sign_in(session, user, identity, ip=ip, user_agent=user_agent, now=now)
        return SignedIn(grant=signed_in.grant, created=True, linked=True)
    if current_user is not None and current_user.id == owner.id:
        return _link_and_sign_in(session, owner, identity, ip=ip, user_agent=user_agent, now=now)
    payload = {
        "provider": identity.provider,
        "subject": identity.subject,
        "email": identity.email,
        "user_id": owner.id,
    }
    cookie = seal(payload, settings=settings, purpose=_LINK_PURPOSE, expires_at=now + LINK_TTL)
    return NeedsPassword(cookie=cookie, email=owner.email)


def identity_row(session: Session, identity: ExternalIdentity) -> OAuthIdentity | None:
    """The stored link of ``identity``, if any."""
    return session.exec(
        select(OAuthIdentity).where(
            col(OAuthIdentity.provider) == identity.provider, col(OAuthIdentity.subject) == identity.subject
        )
    ).first()


def _sign_in_linked(
    session: Session,
    linked: OAuthIdentity,
    identity: ExternalIdentity,
    *,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
) -> SignedIn:
    user = session.get(User, linked.user_id)
    if user is None or user.disabled:
        raise LoginError("account_disabled", str(AccountDisabled()))
    linked.last_used_at = now
    linked.email = identity.email or linked.email
    session.add(linked)
    grant = _accounts.open_session(
        session, user, provider=identity.provider, ip=ip, user_agent=user_agent, now=now
    )
    return SignedIn(grant=grant)


def _link_and_sign_in(
    session: Session,
    user: User,
    identity: ExternalIdentity,
    *,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
) -> SignedIn:
    if user.id is None or user.disabled:
        raise LoginError("account_disabled", str(AccountDisabled()))
    session.add(
        OAuthIdentity(
            user_id=user.id,
            provider=identity.provider,
            subject=identity.subject[:255],
            email=identity.email,
            created_at=now,
            last_used_at=now,
        )
    )
    session.flush()
    grant = _accounts.open_session(
        session, user, provider=identity.provider, ip=ip, user_agent=user_agent, now=now
    )
    return SignedIn(grant=grant, linked=True)


def pending_link(cookie: str | None, *, settings: Settings, now: datetime) -> dict[str, Any]:
    """The link waiting for a password: ``provider``, ``subject``, ``email`` and ``user_id``."""
    if not cookie:
        raise LoginError("link_missing", "There is no account link waiting. Sign in with the provider again.")
    try:
        return unseal(cookie, settings=settings, purpose=_LINK_PURPOSE, now=now)
    except SealError as exc:
        raise LoginError("link_expired", "The link took too long. Sign in with the provider again.") from exc


def confirm_link(
    *,
    session: Session,
    cookie: str | None,
    password: str,
    limiter: RateLimiter,
    settings: Settings,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
) -> SignedIn:
    """Link a provider identity to the account of its address once that account's password is entered.

    Wrong passwords are throttled per account (``Throttled``) and raise ``InvalidCredentials``.
    """
    payload = pending_link(cookie, settings=settings, now=now)
    user = session.get(User, int(payload["user_id"]))
    if user is None or user.disabled:
        raise LoginError("account_disabled", str(AccountDisabled()))
    _accounts.reauthenticate(user=user, password=password, limiter=limiter, now=now)
    identity = ExternalIdentity(
        provider=str(payload["provider"]),
        subject=str(payload["subject"]),
        email=payload["email"],
        email_verified=True,
    )
    existing = identity_row(session, identity)
    if existing is not None:
        if existing.user_id != user.id:
            raise LoginError("identity_in_use", "That account is already linked to another Quanta account.")
        return _sign_in_linked(session, existing, identity, ip=ip, user_agent=user_agent, now=now)
    return _link_and_sign_in(session, user, identity, ip=ip, user_agent=user_agent, now=now)
