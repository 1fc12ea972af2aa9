"""FastAPI dependencies: settings, database session, market store, clock, limiter, and who is calling.

Each is a plain function so tests (and other apps) replace it with ``app.dependency_overrides``: point
``api_settings`` at temporary databases, ``api_market`` at a loaded store, ``api_now`` at a fake clock.
Routes declare what they need with ``Security(authenticated, scopes=[...])``: the bearer token (a
personal access token or an OAuth access token) is verified, counted against its rate limit, then
checked for the scopes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from fastapi.openapi.models import OAuthFlowAuthorizationCode, OAuthFlowClientCredentials, OAuthFlows
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2, SecurityScopes
from ibis.backends import BaseBackend  # type: ignore[import-untyped]
from sqlmodel import Session

from quanta import db
from quanta.accounts.errors import InsufficientScope
from quanta.accounts.models import SCOPES, ApiClient, CurrentSession, User
from quanta.accounts.service import (
    PAT_PREFIX,
    resolve_session,
    session_token_in,
    verify_personal_access_token,
)
from quanta.api.problems import ApiProblem, rate_limit_headers
from quanta.data import connect
from quanta.oauth.service import ProviderDirectory, verify_access_token
from quanta.ratelimit import Quota, RateLimiter, limiter_for
from quanta.settings import Settings, get_settings

_T = TypeVar("_T")
TOKEN_PATH = "/api/oauth/token"  # noqa: S105 - a URL path
AUTHORIZE_PATH = "/api/oauth/authorize"


@dataclass(frozen=True, kw_only=True)
class ApiConfig:
    """Knobs of the API: rate limits and how backtests run."""

    rate_limit: Quota = field(default_factory=lambda: Quota(limit=600, window=timedelta(minutes=1)))
    """Requests per token (personal access token, or OAuth client and person) per window."""
    token_rate_limit: Quota = field(default_factory=lambda: Quota(limit=120, window=timedelta(minutes=1)))
    """Token, revocation and introspection requests per client per window."""
    backtest_wait: timedelta = timedelta(seconds=30)
    """How long ``POST /backtests`` waits for the result before answering 202 (it keeps running)."""
    backtest_workers: int = 2
    """Backtests run at once in this process (worker threads)."""


class MarketAccess:
    """The market store, opened on first use and shared by the requests of one process.

    Ibis connections are not safe to use from several threads at once, so queries take turns.
    """

    def __init__(self, open_store: Callable[[], BaseBackend]) -> None:
        self._open = open_store
        self._con: BaseBackend | None = None
        self._lock = threading.Lock()

    def run(self, query: Callable[[BaseBackend], _T]) -> _T:
        """``query(con)`` while holding the store."""
        with self._lock:
            if self._con is None:
                self._con = self._open()
            return query(self._con)

    def close(self) -> None:
        """Disconnect (if connected)."""
        with self._lock:
            if self._con is not None:
                self._con.disconnect()
                self._con = None


@dataclass(frozen=True, kw_only=True)
class Principal:
    """Who a request acts for: a person (``user``), an organisation's client (``client``), or a client
    acting for a person (both), with the token's scopes."""

    user: User | None
    client: ApiClient | None
    scopes: frozenset[str]
    via: str
    """How: ``pat:<token id>`` or ``oauth:<client_id>``."""
    rate_key: str
    """The key its requests are counted under."""

    def require(self, *scopes: str) -> None:
        """Raise ``InsufficientScope`` unless the token holds every one of ``scopes``."""
        missing = set(scopes) - self.scopes
        if missing:
            raise InsufficientScope(sorted(missing))


class QuantaRoute(APIRoute):
    """A route whose responses carry the ``RateLimit-*`` headers of the request's rate-limit decision."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            response = await handler(request)
            response.headers.update(rate_limit_headers(request))
            return response

        return handle


# ---- plain dependencies --------------------------------------------------------------------------------


def api_settings() -> Settings:
    """The settings the API runs with."""
    return get_settings()


def utc_now() -> datetime:
    """The current time (aware UTC)."""
    return datetime.now(UTC)


def api_clock() -> Callable[[], datetime]:
    """The clock the API reads (tests put a fake one here)."""
    return utc_now


def api_now(clock: Annotated[Callable[[], datetime], Depends(api_clock)]) -> datetime:
    """The current time of the API's clock."""
    return clock()


def api_config(request: Request) -> ApiConfig:
    """The API's configuration, as installed on the app."""
    config: ApiConfig = request.app.state.quanta_api.config
    return config


def api_limiter(settings: Annotated[Settings, Depends(api_settings)]) -> RateLimiter:
    """Redis when configured, else this process's memory."""
    return limiter_for(settings)


def api_market(request: Request, settings: Annotated[Settings, Depends(api_settings)]) -> MarketAccess:
    """The market store of the settings (one per app)."""
    runtime = request.app.state.quanta_api
    market: MarketAccess | None = runtime.market
    if market is None:
        market = runtime.market = MarketAccess(lambda: connect(settings))
    return market


def api_directory(request: Request) -> ProviderDirectory:
    """Discovery documents and keys of the sign-in providers (cached per app)."""
    directory: ProviderDirectory = request.app.state.quanta_api.directory
    return directory


def db_session(settings: Annotated[Settings, Depends(api_settings)]) -> Iterator[Session]:
    """A unit of work on the app database, committed after the route succeeds, rolled back otherwise."""
    with Session(db.engine(settings)) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


SettingsDep = Annotated[Settings, Depends(api_settings)]
NowDep = Annotated[datetime, Depends(api_now)]
ClockDep = Annotated[Callable[[], datetime], Depends(api_clock)]
SessionDep = Annotated[Session, Depends(db_session, scope="function")]
LimiterDep = Annotated[RateLimiter, Depends(api_limiter)]
ConfigDep = Annotated[ApiConfig, Depends(api_config)]
MarketDep = Annotated[MarketAccess, Depends(api_market)]


# ---- bearer tokens -------------------------------------------------------------------------------------

personal_token_scheme = HTTPBearer(
    scheme_name="PersonalAccessToken",
    bearerFormat="qnt_pat_…",
    description="A personal access token made on your account page: `Authorization: Bearer qnt_pat_…`.",
    auto_error=False,
)
oauth_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_PATH, scopes=dict(SCOPES)),
        authorizationCode=OAuthFlowAuthorizationCode(
            authorizationUrl=AUTHORIZE_PATH, tokenUrl=TOKEN_PATH, scopes=dict(SCOPES)
        ),
    ),
    scheme_name="OAuth2",
    description="OAuth 2 access tokens (signed JWTs) from `/api/oauth/token`: client credentials for "
    "server-to-server use, authorization code with PKCE for applications acting for a person.",
    auto_error=False,
)


def bearer_token(request: Request) -> str:
    """The token of ``Authorization: Bearer …``; a 401 problem if there is none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(
            401,
            "Send Authorization: Bearer <token>.",
            kind="unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="quanta"'},
        )
    return token.strip()


def principal_for(*, session: Session, token: str, settings: Settings, now: datetime) -> Principal:
    """Who ``token`` acts for; ``InvalidToken``/``TokenExpired`` if it is not valid."""
    if token.startswith(PAT_PREFIX):
        pat = verify_personal_access_token(session=session, token=token, now=now)
        return Principal(
            user=pat.user,
            client=None,
            scopes=pat.scopes,
            via=f"pat:{pat.token.id}",
            rate_key=f"pat:{pat.token.id}",
        )
    access = verify_access_token(session=session, token=token, settings=settings, now=now)
    acting_for = f"user:{access.user.id}" if access.user is not None else "org"
    return Principal(
        user=access.user,
        client=access.client,
        scopes=access.scopes,
        via=f"oauth:{access.client.client_id}",
        rate_key=f"oauth:{access.client.client_id}:{acting_for}",
    )


def authenticated(
    *,
    request: Request,
    security_scopes: SecurityScopes,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    limiter: LimiterDep,
    config: ConfigDep,
    _personal: Annotated[HTTPAuthorizationCredentials | None, Depends(personal_token_scheme)],
    _oauth: Annotated[str | None, Depends(oauth_scheme)],
) -> Principal:
    """The caller, authenticated, within its rate limit, and holding the route's scopes."""
    principal = principal_for(session=session, token=bearer_token(request), settings=settings, now=now)
    decision = limiter.hit(f"api:{principal.rate_key}", config.rate_limit, now=now)
    request.state.rate_limit = decision
    if not decision.allowed:
        raise ApiProblem(
            429,
            f"This token made more than {decision.limit} requests in the window; retry in "
            f"{decision.retry_after} s.",
            kind="rate-limited",
            headers=decision.headers(),
            retry_after=decision.retry_after,
        )
    principal.require(*security_scopes.scopes)
    return principal


# ---- browser sessions ----------------------------------------------------------------------------------


def session_token(request: Request) -> str | None:
    """The session token of the request's cookie (the ``__Host-`` one over https), if any."""
    return session_token_in(request.cookies)


def browser_session(request: Request, *, session: Session, now: datetime) -> CurrentSession | None:
    """The signed-in person of the request's session cookie, or None."""
    token = session_token(request)
    if not token:
        return None
    return resolve_session(session=session, token=token, now=now)


def secure_cookies(settings: Settings) -> bool:
    """Whether cookies are Secure (the app is served over https)."""
    return settings.public_url.startswith("https://")


def require_same_origin(
    request: Request, *, settings: Settings, csrf_ok: Callable[[str | None], bool], csrf_token: str | None
) -> None:
    """Refuse a cookie-authenticated write that may come from another site (CSRF).

    Accepted when the browser says the request comes from this site (``Origin`` equal to the public URL's
    or the request's own origin), or, without ``Origin``, when ``csrf_token`` checks out.
    """
    if request.headers.get("sec-fetch-site", "") == "cross-site":
        raise _cross_site()
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        if origin.rstrip("/") in _own_origins(request, settings):
            return
        raise _cross_site()
    if not csrf_ok(csrf_token):
        raise _cross_site()


def _own_origins(request: Request, settings: Settings) -> set[str]:
    public = settings.public_url.rstrip("/")
    scheme, _, rest = public.partition("://")
    own = f"{request.url.scheme}://{request.url.netloc}"
    return {f"{scheme}://{rest.split('/', 1)[0]}", own}


def _cross_site() -> ApiProblem:
    return ApiProblem(403, "This request did not come from Quanta's own pages.", kind="cross-site-request")


def not_signed_in() -> ApiProblem:
    """The problem for a cookie-authenticated route without a valid session."""
    return ApiProblem(401, "Sign in to Quanta first.", kind="unauthenticated")


def query_params(request: Request) -> dict[str, str]:
    """The query parameters; a 400 problem if one is repeated (OAuth forbids it)."""
    items = request.query_params.multi_items()
    params = dict(items)
    if len(params) != len(items):
        raise ApiProblem(
            400, "A query parameter is repeated.", kind="invalid-oauth-request", error="invalid_request"
        )
    return params


def client_ip(request: Request) -> str | None:
    """The client's address as the server sees it."""
    return request.client.host if request.client is not None else None
