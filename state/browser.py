"""Scripts the browser runs against the session endpoints (``quanta_app.session_api``).

Only an HTTP response can set or clear an HttpOnly cookie, so signing in, changing the password and signing
out are ``fetch`` calls from the page, never websocket events: the password goes straight to the endpoint.
A websocket keeps the cookies of its handshake, so after the cookie changes the page loads again (a full
navigation), and the new connection carries the new cookie.
"""

from __future__ import annotations

import json

import reflex as rx

SESSION_ENDPOINT = "/api/session"
PASSWORD_ENDPOINT = "/api/session/password"  # noqa: S105 - a path
_LOOPBACK = ["localhost", "0.0.0.0", "::"]  # noqa: S104 - host names to swap, as Reflex's getBackendURL does


def _endpoint(path: str) -> str:
    """A JS expression for the backend URL of ``path`` (the frontend may be served on another port)."""
    base = json.dumps(rx.config.get_config().api_url)
    return (
        f"(() => {{ const u = new URL({json.dumps(path)}, {base}); "
        f"if ({json.dumps(_LOOPBACK)}.includes(u.hostname)) {{ u.hostname = window.location.hostname; "
        "if (window.location.protocol === 'https:') { u.protocol = 'https:'; u.port = ''; } } "
        "return u.toString(); })()"
    )


def _post_form(path: str, form_id: str, fields: dict[str, str], on_success: str) -> str:
    """POST the named fields of a form as JSON; on success run ``on_success``, else return the problem."""
    body = ", ".join(f"{json.dumps(key)}: data.get({json.dumps(name)}) ?? ''" for key, name in fields.items())
    return f"""(async () => {{
  const data = new FormData(document.getElementById({json.dumps(form_id)}));
  let response;
  try {{
    response = await fetch({_endpoint(path)}, {{
      method: "POST", credentials: "include",
      headers: {{"Content-Type": "application/json"}},
      body: JSON.stringify({{{body}}}),
    }});
  }} catch (error) {{
    return {{ok: false, status: 0, detail: "Quanta cannot be reached. Check your connection.", problems: []}};
  }}
  if (response.ok) {{ {on_success}; return {{ok: true, status: response.status, detail: "", problems: []}}; }}
  const problem = await response.json().catch(() => ({{}}));
  return {{
    ok: false, status: response.status, detail: problem.detail || "Something went wrong.",
    problems: problem.problems || [], retry_after: Number(response.headers.get("Retry-After") || 0),
  }};
}})()"""


def sign_in(form_id: str, callback: rx.EventHandler) -> rx.event.EventSpec:
    """Post the sign-in form; on success load the page named by ``?next=`` (a local path) or ``/``."""
    go_next = (
        "const next = new URLSearchParams(window.location.search).get('next') || '/'; "
        "window.location.assign(/^\\/(?![\\/\\\\])/.test(next) ? next : '/')"
    )
    script = _post_form(SESSION_ENDPOINT, form_id, {"email": "email", "password": "password"}, go_next)
    return rx.call_script(script, callback=callback)


def change_password(form_id: str, callback: rx.EventHandler, done_path: str) -> rx.event.EventSpec:
    """Post the change-password form; the endpoint swaps the cookie, then ``done_path`` loads."""
    fields = {"current_password": "current_password", "new_password": "new_password"}
    script = _post_form(
        PASSWORD_ENDPOINT, form_id, fields, f"window.location.assign({json.dumps(done_path)})"
    )
    return rx.call_script(script, callback=callback)


def sign_out(then: str | None = "/") -> rx.event.EventSpec:
    """End the session and clear the cookie, then load ``then`` (None stays on the page)."""
    go = f"window.location.assign({json.dumps(then)});" if then is not None else ""
    script = (
        f"(async () => {{ await fetch({_endpoint(SESSION_ENDPOINT)}, "
        f'{{method: "DELETE", credentials: "include"}}).catch(() => null); {go} }})()'
    )
    return rx.call_script(script)
