"""State of /oauth/consent: a pending OAuth authorization request, shown to the signed-in person.

The page's browser fetches ``GET /api/oauth/authorize/request`` itself (the CSRF token is bound to its
session cookie); the Approve / Deny forms are plain HTML form posts to ``POST /api/oauth/authorize/decision``,
so the browser follows the redirect back to the client.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import reflex as rx

from quanta import db
from state.auth import AuthState
from state.browser import _endpoint

REQUEST_ENDPOINT = "/api/oauth/authorize/request"
DECISION_ENDPOINT = "/api/oauth/authorize/decision"


@dataclasses.dataclass(frozen=True)
class ScopeView:
    """A requested scope and what it lets the client do."""

    name: str = ""
    description: str = ""


def _describe_script(request_token: str) -> str:
    """Fetch the description of the pending request, with this browser's cookie; answer the JSON."""
    query = json.dumps("?request=" + request_token)
    return f"""(async () => {{
  try {{
    const response = await fetch({_endpoint(REQUEST_ENDPOINT)} + {query}, {{credentials: "include"}});
    const body = await response.json().catch(() => ({{}}));
    return {{ok: response.ok, status: response.status, body: body}};
  }} catch (error) {{
    return {{ok: false, status: 0, body: {{detail: "Quanta cannot be reached. Check your connection."}}}};
  }}
}})()"""


def submit_decision(form_id: str) -> rx.event.EventSpec:
    """Submit a decision form natively (no ``preventDefault``) to the decision endpoint."""
    return rx.call_script(
        f"(() => {{ const f = document.getElementById({json.dumps(form_id)}); "
        f"f.action = {_endpoint(DECISION_ENDPOINT)}; HTMLFormElement.prototype.submit.call(f); }})()"
    )


class ConsentState(AuthState):
    """The pending request: who asks, for which organisation, for what."""

    request_token: str = ""
    csrf_token: str = ""
    client_name: str = ""
    organization_name: str = ""
    redirect_uri: str = ""
    scopes: list[ScopeView] = []
    loaded: bool = False
    error: str = ""

    @rx.event
    def on_load(self) -> rx.event.EventSpec | None:
        """Send people who are not signed in to sign in first; then ask the API about the request."""
        self.request_token = self.router.url.query_parameters.get("request", "")
        self.loaded, self.error, self.csrf_token, self.scopes = False, "", "", []
        with db.session() as unit:
            current = self._resolve(unit)
        if current is None:
            return self._to_sign_in()
        if not self.request_token:
            self.error = "This page needs an authorization request. Start again from the application."
            return None
        return rx.call_script(_describe_script(self.request_token), callback=ConsentState.described)

    @rx.event
    def described(self, result: dict[str, Any]) -> None:
        """Keep the small view of the endpoint's answer (or its problem)."""
        body = result.get("body") or {}
        if not result.get("ok"):
            self.error = str(body.get("detail") or "This authorization request is not valid any more.")
            return
        self.client_name = str(body.get("client", {}).get("name", ""))
        self.organization_name = str(body.get("organization", {}).get("name", ""))
        self.redirect_uri = str(body.get("redirect_uri", ""))
        self.scopes = [
            ScopeView(name=str(s.get("name", "")), description=str(s.get("description", "")))
            for s in body.get("scopes", [])
        ]
        self.csrf_token = str(body.get("csrf_token") or "")
        self.loaded = True
