"""Signing up, in and out: the navbar's user menu and the forms of /signup, /signin, /verify and /reset."""

from __future__ import annotations

import reflex as rx

from components.forms import error, field, narrow, problems, submit, success
from state import browser
from state.auth import AuthState
from state.invitations import InvitationState
from state.reset import ResetState
from state.signin import SignInState
from state.signup import SignUpState
from state.social import ProviderButton, SocialState, submit_link
from state.verify import VerifyState

SIGN_IN_FORM = "signin-form"
LINK_FORM = "link-form"
RULES_OF_PASSWORDS = (
    "At least 12 characters, two kinds of character (lower-case, upper-case, digits, symbols), "
    "not your email address and not a common password."
)


def user_menu() -> rx.Component:
    """'Sign in', or the signed-in person's menu; resolves the session whenever a page mounts it."""
    menu = rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.icon("circle-user-round", size=16),
                rx.text(AuthState.viewer_name, truncate=True, max_width="12em"),
                variant="soft",
                data_testid="user-menu",
            )
        ),
        rx.menu.content(
            rx.text(
                AuthState.viewer.email, size="1", color_scheme="gray", padding_x="0.75em", padding_y="0.25em"
            ),
            rx.menu.item("Public profile", on_click=rx.redirect("/u/" + AuthState.viewer.username)),
            rx.menu.item("Settings", on_click=rx.redirect("/settings")),
            rx.menu.item("Organisations", on_click=rx.redirect("/orgs")),
            rx.menu.item("Security log", on_click=rx.redirect("/security")),
            rx.menu.separator(),
            rx.menu.item("Sign out", on_click=browser.sign_out("/"), color_scheme="red"),
        ),
    )
    sign_in = rx.link(
        rx.hstack(rx.icon("log-in", size=16), rx.text("Sign in", size="3"), align="center", spacing="1"),
        href="/signin",
        underline="none",
        weight="medium",
        data_testid="sign-in-link",
    )
    return rx.box(rx.cond(AuthState.signed_in, menu, sign_in), on_mount=AuthState.check_session)


def _footer_link(text: str, label: str, href: str) -> rx.Component:
    return rx.text(text, " ", rx.link(label, href=href), size="2", color_scheme="gray")


def sign_in_form() -> rx.Component:
    """Email and password, posted by the browser to ``POST /api/session``."""
    return narrow(
        rx.heading("Sign in to Quanta", size="6"),
        success(SignInState.notice, "sign-in-notice"),
        error(SocialState.social_error, "social-error"),
        error(SocialState.link_error, "link-error"),
        rx.cond(SocialState.link_provider != "", _link_form()),
        rx.form(
            rx.vstack(
                field("Email", "email", kind="email", required=True, auto_complete="username"),
                field(
                    "Password", "password", kind="password", required=True, auto_complete="current-password"
                ),
                error(SignInState.error, "sign-in-error"),
                submit("Sign in", width="100%"),
                spacing="3",
                width="100%",
            ),
            id=SIGN_IN_FORM,
            on_submit=browser.sign_in(SIGN_IN_FORM, SignInState.finish),
            width="100%",
        ),
        rx.cond(SocialState.providers.length() > 0, _providers()),  # type: ignore[attr-defined]
        _footer_link("Forgot your password?", "Reset it", "/reset"),
        _footer_link("New to Quanta?", "Create an account", "/signup"),
    )


def _provider_button(provider: rx.Var[ProviderButton]) -> rx.Component:
    return rx.el.a(  # a plain link: a full navigation to the API, not the app's client-side router
        rx.button("Continue with ", provider.title, variant="outline", width="100%", tab_index=-1),
        href=provider.href,
        width="100%",
        data_testid="provider-" + provider.name,
        custom_attrs={"reloadDocument": True},
    )


def _providers() -> rx.Component:
    """One 'Continue with …' link per provider (a full navigation to the start endpoint)."""
    return rx.vstack(
        rx.text("or", size="2", color_scheme="gray", align="center", width="100%"),
        rx.foreach(SocialState.providers, _provider_button),
        spacing="2",
        width="100%",
    )


def _link_form() -> rx.Component:
    """The existing account's password, posted natively to ``POST /api/auth/oidc/link``."""
    return rx.callout(
        rx.vstack(
            rx.text(
                "An account for ",
                rx.text.strong(SocialState.link_email),
                " already exists. Enter its password to link ",
                rx.text.strong(SocialState.link_provider),
                " to it.",
            ),
            rx.el.form(
                rx.el.input(type="hidden", name="csrf_token", value=SocialState.link_csrf),
                rx.vstack(
                    field(
                        "Password",
                        "password",
                        kind="password",
                        required=True,
                        auto_complete="current-password",
                    ),
                    rx.button("Link and sign in", type="button", on_click=submit_link(LINK_FORM)),
                    spacing="2",
                    width="100%",
                ),
                id=LINK_FORM,
                method="post",
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        icon="link",
        color_scheme="blue",
        data_testid="link-account",
    )


def sign_up_form() -> rx.Component:
    """Email, password (with the policy) and an optional username; then "check your inbox"."""
    form = rx.form(
        rx.vstack(
            field("Email", "email", kind="email", required=True, auto_complete="email"),
            field(
                "Password",
                "password",
                kind="password",
                required=True,
                auto_complete="new-password",
                hint=RULES_OF_PASSWORDS,
                on_blur=SignUpState.check_password,
            ),
            problems(SignUpState.problems),
            field(
                "Username (optional)", "username", hint="Shown on your public profile; letters, digits, -."
            ),
            error(SignUpState.error, "sign-up-error"),
            submit("Create account", width="100%"),
            spacing="3",
            width="100%",
        ),
        on_submit=SignUpState.submit,
        width="100%",
    )
    inbox = rx.vstack(
        rx.heading("Check your inbox", size="6"),
        rx.text(
            "We sent a link to ",
            rx.text.strong(SignUpState.sent_to),
            ". Open it to confirm your address, then sign in.",
            data_testid="check-inbox",
        ),
        rx.link("Go to sign in", href="/signin"),
        spacing="3",
    )
    return narrow(
        rx.cond(
            SignUpState.sent_to != "",
            inbox,
            rx.vstack(
                rx.heading("Create your Quanta account", size="6"),
                form,
                _footer_link("Already have an account?", "Sign in", "/signin"),
                spacing="4",
                width="100%",
            ),
        )
    )


def verify_result() -> rx.Component:
    """What the emailed confirmation link did."""
    return narrow(
        rx.cond(
            VerifyState.verified,
            rx.vstack(
                rx.heading("Email address confirmed", size="6"),
                rx.text(VerifyState.verified_email, " is confirmed.", data_testid="verified"),
                rx.cond(
                    AuthState.signed_in,
                    rx.link("Back to your settings", href="/settings"),
                    rx.link("Sign in", href="/signin"),
                ),
                spacing="3",
            ),
            rx.vstack(
                rx.heading("This link did not work", size="6"),
                error(VerifyState.error, "verify-error"),
                rx.text("Signed in? Send a new link from your settings.", size="2"),
                rx.link("Settings", href="/settings"),
                spacing="3",
                width="100%",
            ),
        )
    )


def _request_reset() -> rx.Component:
    return rx.cond(
        ResetState.requested,
        rx.text(
            "If that address has an account, a reset link is on its way. It works once, for an hour.",
            data_testid="reset-requested",
        ),
        rx.form(
            rx.vstack(
                field("Email", "email", kind="email", required=True, auto_complete="email"),
                error(ResetState.error, "reset-error"),
                submit("Email me a reset link", width="100%"),
                spacing="3",
                width="100%",
            ),
            on_submit=ResetState.request,
            width="100%",
        ),
    )


def _choose_password() -> rx.Component:
    return rx.form(
        rx.vstack(
            field(
                "New password",
                "password",
                kind="password",
                required=True,
                auto_complete="new-password",
                hint=RULES_OF_PASSWORDS,
            ),
            problems(ResetState.problems),
            error(ResetState.error, "reset-error"),
            submit("Set the new password", width="100%"),
            spacing="3",
            width="100%",
        ),
        on_submit=ResetState.choose_password,
        width="100%",
    )


def reset_form() -> rx.Component:
    """Ask for a link, or (with ``?token=``) choose the new password."""
    return narrow(
        rx.heading("Reset your password", size="6"),
        rx.cond(ResetState.has_token, _choose_password(), _request_reset()),
        _footer_link("Remembered it?", "Sign in", "/signin"),
    )


def invitation_result() -> rx.Component:
    """Shown while an invitation is accepted, or why it could not be."""
    return narrow(
        rx.heading("Invitation", size="6"),
        rx.cond(
            InvitationState.error != "",
            error(InvitationState.error, "invitation-error"),
            rx.hstack(rx.spinner(), rx.text("Joining…"), align="center"),
        ),
    )
