"""The consent page: a client asks to act for the signed-in person; Approve or Deny."""

from __future__ import annotations

import reflex as rx

from components.forms import error, narrow
from state.consent import ConsentState, ScopeView, submit_decision

APPROVE_FORM = "consent-approve"
DENY_FORM = "consent-deny"


def _scope(scope: rx.Var[ScopeView]) -> rx.Component:
    return rx.list_item(
        rx.code(scope.name), " — ", rx.text.span(scope.description), data_testid="consent-scope"
    )


def _decision_form(form_id: str, decision: str, label: str, **button: str) -> rx.Component:
    """A plain HTML form (posted natively, so the browser follows the redirect to the client)."""
    return rx.el.form(
        rx.el.input(type="hidden", name="request", value=ConsentState.request_token),
        rx.el.input(type="hidden", name="csrf_token", value=ConsentState.csrf_token),
        rx.el.input(type="hidden", name="decision", value=decision),
        rx.button(
            label,
            type="button",
            on_click=submit_decision(form_id),
            data_testid=f"consent-{decision}",
            **button,
        ),
        id=form_id,
        method="post",
    )


def consent_panel() -> rx.Component:
    """Who asks, for which organisation and scopes; the two decisions."""
    details = rx.vstack(
        rx.heading(
            "Authorize ", rx.text.span(ConsentState.client_name, data_testid="consent-client"), size="6"
        ),
        rx.text(
            "An application of ",
            rx.text.strong(ConsentState.organization_name, data_testid="consent-organization"),
            " asks to act for ",
            rx.text.strong(ConsentState.viewer.email),
            ". It will be able to:",
        ),
        rx.unordered_list(rx.foreach(ConsentState.scopes, _scope)),
        rx.text(
            "You will be sent back to ", rx.code(ConsentState.redirect_uri), size="1", color_scheme="gray"
        ),
        rx.hstack(
            _decision_form(APPROVE_FORM, "approve", "Approve"),
            _decision_form(DENY_FORM, "deny", "Deny", variant="soft", color_scheme="gray"),
            spacing="3",
        ),
        spacing="3",
        width="100%",
    )
    return narrow(
        error(ConsentState.error, "consent-error"),
        rx.cond(ConsentState.loaded, details, rx.cond(ConsentState.error == "", rx.spinner())),
    )
