"""Social sign-in on /signin: the provider buttons, the ``?error=`` of a failed sign-in, and the password
that links a provider (``?link=<provider>``) to an existing account.

The link cookie is scoped to ``/api/auth/oidc``, so the browser itself asks ``GET /api/auth/oidc/link``
what is pending (and for the CSRF token); the password goes straight from a plain form to the endpoint.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import quote

import reflex as rx

from quanta.oauth.service import configured_providers
from quanta.settings import get_settings
from state.auth import local_path
from state.browser import _endpoint

PROVIDERS_PATH = "/api/auth/oidc"
LINK_ENDPOINT = "/api/auth/oidc/link"
ERRORS = {
    "flow_missing": "The sign-in took too long or began in another browser. Try again.",
    "flow_expired": "The sign-in took too long. Try again.",
    "state_mismatch": "The sign-in answer does not match the sign-in you started. Try again.",
    "provider_refused": "{provider} did not sign you in.",
    "code_missing": "{provider} sent no authorization code. Try again.",
    "code_rejected": "{provider} did not accept the sign-in. Try again.",
    "id_token_invalid": "{provider} sent an answer that did not check out.",
    "provider_unreachable": "{provider} cannot be reached right now. Try again later.",
    "provider_misconfigured": "Signing in with {provider} is not set up correctly. Use your password.",
    "identity_in_use": "That {provider} account is already linked to another Quanta account.",
    "account_disabled": "This account is disabled.",
    "link_missing": "The link to {provider} took too long or began in another browser. Try again.",
    "link_expired": "The link to {provider} took too long. Try again.",
    "link_session_lost": "Your session ended while linking {provider}. Sign in again.",
}


@dataclasses.dataclass(frozen=True)
class ProviderButton:
    """A 'Continue with …' link."""

    name: str = ""
    title: str = ""
    href: str = ""


def _describe_link_script() -> str:
    return f"""(async () => {{
  try {{
    const response = await fetch({_endpoint(LINK_ENDPOINT)}, {{credentials: "include"}});
    const body = await response.json().catch(() => ({{}}));
    return {{ok: response.ok, body: body}};
  }} catch (error) {{
    return {{ok: false, body: {{detail: "Quanta cannot be reached. Check your connection."}}}};
  }}
}})()"""


def submit_link(form_id: str) -> rx.event.EventSpec:
    """Post the link form natively, so the browser follows the redirect once signed in."""
    return rx.call_script(
        f"(() => {{ const f = document.getElementById({json.dumps(form_id)}); "
        f"f.action = {_endpoint(LINK_ENDPOINT)}; HTMLFormElement.prototype.submit.call(f); }})()"
    )


class SocialState(rx.State):
    """The providers switched on, a failed social sign-in, and a pending link."""

    providers: list[ProviderButton] = []
    social_error: str = ""
    link_provider: str = ""
    link_email: str = ""
    link_csrf: str = ""
    link_error: str = ""

    @rx.event
    def on_load(self) -> rx.event.EventSpec | None:
        """Read ``?next=``, ``?error=``/``?provider=`` and ``?link=`` of the sign-in page."""
        params = self.router.url.query_parameters
        next_path = quote(local_path(params.get("next", "/")), safe="")
        found = configured_providers(get_settings())
        self.providers = [
            ProviderButton(
                name=p.name, title=p.title, href=f"{PROVIDERS_PATH}/{p.name}/start?next={next_path}"
            )
            for p in found.values()
        ]
        code = params.get("error", "")
        provider = params.get("provider", "")
        title = found[provider].title if provider in found else "The provider"
        self.social_error = (
            ERRORS.get(code, "Signing in with {provider} failed. Try again.").format(provider=title)
            if code
            else ""
        )
        self.link_provider = params.get("link", "")
        self.link_email, self.link_csrf, self.link_error = "", "", ""
        if not self.link_provider:
            return None
        return rx.call_script(_describe_link_script(), callback=SocialState.link_described)

    @rx.event
    def link_described(self, result: dict[str, Any]) -> None:
        """Keep who is being linked and the CSRF token (or why there is nothing to link)."""
        body = result.get("body") or {}
        if not result.get("ok"):
            self.link_provider = ""
            self.link_error = str(body.get("detail") or "There is nothing to link. Sign in again.")
            return
        self.link_provider = str(body.get("provider", self.link_provider))
        self.link_email = str(body.get("email", ""))
        self.link_csrf = str(body.get("csrf_token", ""))
