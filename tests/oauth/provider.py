"""A real OpenID Connect provider on loopback, built from authlib's server components, for sign-in tests.

It serves discovery, an authorization endpoint that approves its one test person at once, a token
endpoint (client_secret_basic or _post, PKCE required) that issues RS256 ID tokens, its JWKS, and a
GitHub-like API (``/github/user``, ``/github/user/emails``). ``Behaviour`` lets a test make it misbehave:
another audience, an expired token, another nonce, a key that is not in its JWKS.

authlib has no Starlette server integration, so ``StarletteAuthorizationServer`` adapts its generic
``AuthorizationServer``: requests become ``OAuth2Request`` objects carrying the query and form fields,
``handle_response`` builds Starlette responses. uvicorn serves the app in a thread (``serve_asgi``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from quanta.testing.services import free_port
from tests.api.servers import serve_asgi

CLIENT_ID = "quanta-test-client"
CLIENT_SECRET = "quanta-test-secret"


@dataclass
class Person:
    """The one person the provider signs in."""

    subject: str = "person-1"
    email: str = "grace@example.com"
    email_verified: bool = True
    name: str = "Grace Hopper"


@dataclass
class Behaviour:
    """What the provider puts in its ID tokens (tests change it to misbehave)."""

    audience: str | None = None
    expired: bool = False
    nonce: str | None = None
    foreign_key: bool = False


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(
            s for s in scope.split() if s in {"openid", "email", "profile", "read:user", "user:email"}
        )

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):  # type: ignore[misc]
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


class StarletteRequest(OAuth2Request):  # type: ignore[misc]
    """An authlib request made from a Starlette request's URL, headers and form fields."""

    def __init__(self, request: Request, form: dict[str, str]) -> None:
        super().__init__(method=request.method, uri=str(request.url), headers=request.headers)
        self._args = dict(request.query_params)
        self._form = form
        self.payload = BasicOAuth2Payload({**self._args, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class StarletteAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """authlib's generic authorization server, answering with Starlette responses."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(scopes_supported=["openid", "email", "profile", "read:user", "user:email"])
        self.provider = provider

    def query_client(self, client_id: str) -> Client | None:
        return self.provider.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.provider.access_tokens[token["access_token"]] = request.user

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request

    def create_json_request(self, request: Any) -> Any:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        if isinstance(body, dict):
            return JSONResponse(body, status_code=status, headers=dict(headers))
        return Response(body, status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signals in tests."""


class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        payload = request.payload
        self.server.provider.codes[code] = Code(
            code=code,
            client_id=payload.client_id,
            redirect_uri=payload.redirect_uri,
            scope=payload.scope,
            nonce=payload.data.get("nonce"),
            code_challenge=payload.data.get("code_challenge"),
            code_challenge_method=payload.data.get("code_challenge_method"),
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        found = self.server.provider.codes.get(code)
        return found if found is not None and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        self.server.provider.codes.pop(authorization_code.code, None)  # used codes stop working

    def authenticate_user(self, authorization_code: Code) -> Person:
        return self.server.provider.person


class IdTokens(OpenIDCode):  # type: ignore[misc]
    def __init__(self, provider: Provider) -> None:
        super().__init__(require_nonce=True)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return False

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.provider.foreign_key if self.provider.behaviour.foreign_key else self.provider.key

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        key = self.resolve_client_private_key(client)
        return {"alg": "RS256", "kid": str(key.kid)}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        behaviour, now = self.provider.behaviour, int(time.time())
        claims: dict[str, Any] = {
            "iss": self.provider.issuer,
            "aud": [behaviour.audience or client.client_id],
        }
        if behaviour.expired:
            claims |= {"iat": now - 7200, "exp": now - 3600, "auth_time": now - 7200}
        return claims

    def get_authorization_code_claims(self, authorization_code: Code) -> dict[str, Any]:
        claims: dict[str, Any] = super().get_authorization_code_claims(authorization_code)
        if self.provider.behaviour.nonce is not None:
            claims["nonce"] = self.provider.behaviour.nonce
        return claims

    def generate_user_info(self, user: Person, scope: str) -> UserInfo:
        return UserInfo(
            sub=user.subject, email=user.email, email_verified=user.email_verified, name=user.name
        )


class Provider:
    """The provider's state: its clients, person, keys, issued codes and tokens, and behaviour."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.person = Person()
        self.behaviour = Behaviour()
        self.key = RSAKey.generate_key(
            2048, parameters={"kid": "provider-key-1", "use": "sig", "alg": "RS256"}
        )
        self.foreign_key = RSAKey.generate_key(2048, parameters={"kid": "provider-key-1", "use": "sig"})
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Code] = {}
        self.access_tokens: dict[str, Person] = {}
        self.server = StarletteAuthorizationServer(self)
        self.server.register_token_generator(
            "default", BearerTokenGenerator(lambda **_: secrets.token_urlsafe(24))
        )
        self.server.register_grant(CodeGrant, [CodeChallenge(required=True), IdTokens(self)])

    def register_redirects(self, *redirect_uris: str) -> Client:
        """Register Quanta as a client that may be sent back to ``redirect_uris``."""
        client = Client(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=list(redirect_uris))
        self.clients[client.client_id] = client
        return client

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
                Route("/github/user", self.github_user),
                Route("/github/user/emails", self.github_emails),
            ]
        )

    async def discovery(self, request: Request) -> Response:
        base = self.issuer
        return JSONResponse(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def authorize(self, request: Request) -> Response:
        """Approve the request for the test person at once (no login page)."""
        oauth_request = StarletteRequest(request, {})
        grant = self.server.get_consent_grant(request=oauth_request, end_user=self.person)
        response: Response = self.server.create_authorization_response(
            request=oauth_request, grant_user=self.person, grant=grant
        )
        return response

    async def token(self, request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        response: Response = self.server.create_token_response(StarletteRequest(request, form))
        return response

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    def _bearer_person(self, request: Request) -> Person | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return self.access_tokens.get(token)

    async def github_user(self, request: Request) -> Response:
        person = self._bearer_person(request)
        if person is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse({"id": 4242, "login": "grace", "name": person.name})

    async def github_emails(self, request: Request) -> Response:
        person = self._bearer_person(request)
        if person is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse([{"email": person.email, "primary": True, "verified": person.email_verified}])


@contextmanager
def serve_provider() -> Iterator[Provider]:
    """A provider served by uvicorn on a free loopback port until the block ends."""
    port = free_port()
    provider = Provider(f"http://127.0.0.1:{port}")
    with serve_asgi(provider.app(), port=port):
        yield provider
