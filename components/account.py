"""The sections of /settings: profile, email, password, browsers, access tokens, export and deletion."""

from __future__ import annotations

import reflex as rx

from components.forms import error, field, problems, secret_once, section, submit, success, text_area
from state import browser
from state.account import PASSWORD_FORM, AccountState
from state.auth import AuthState
from state.tokens import EXPIRY_CHOICES, SCOPE_CHOICES, SCOPE_FIELD, TokensState


def profile_section() -> rx.Component:
    """Display name, username, bio, avatar and links."""
    profile = AccountState.profile
    return section(
        "Profile",
        rx.form(
            rx.vstack(
                field("Display name", "display_name", default_value=profile["display_name"]),
                field("Username", "username", default_value=profile["username"], required=True),
                text_area("Bio", "bio", default_value=profile["bio"], rows="3"),
                field("Avatar URL", "avatar_url", kind="url", default_value=profile["avatar_url"]),
                text_area("Links (one per line)", "links", default_value=profile["links"], rows="3"),
                error(AccountState.profile_error, "profile-error"),
                success(AccountState.profile_message, "profile-saved"),
                rx.hstack(
                    submit("Save profile"),
                    rx.link("See your public profile", href="/u/" + profile["username"], size="2"),
                    align="center",
                    spacing="4",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=AccountState.save_profile,
            width="100%",
        ),
        description="What other people see on your public profile. Your email address is never shown.",
    )


def email_section() -> rx.Component:
    """The address, whether it is confirmed, and the change form."""
    return section(
        "Email address",
        rx.hstack(
            rx.text(AuthState.viewer.email, weight="medium", data_testid="account-email"),
            rx.cond(
                AuthState.viewer.is_verified,
                rx.badge("confirmed", color_scheme="green", data_testid="email-status"),
                rx.hstack(
                    rx.badge("not confirmed", color_scheme="amber", data_testid="email-status"),
                    rx.button(
                        "Send a new link", size="1", variant="soft", on_click=AccountState.resend_verification
                    ),
                    spacing="2",
                ),
            ),
            align="center",
            spacing="3",
        ),
        rx.form(
            rx.vstack(
                field("New email address", "new_email", kind="email", required=True),
                field(
                    "Current password",
                    "password",
                    kind="password",
                    required=True,
                    auto_complete="current-password",
                ),
                submit("Change email", variant="soft"),
                spacing="3",
                width="100%",
            ),
            on_submit=AccountState.change_email,
            reset_on_submit=True,
            width="100%",
        ),
        error(AccountState.email_error, "email-error"),
        success(AccountState.email_message, "email-message"),
    )


def password_section() -> rx.Component:
    """Change the password: the browser posts to the session endpoint, which renews this browser's cookie."""
    return section(
        "Password",
        success(AccountState.password_notice, "password-changed"),
        rx.form(
            rx.vstack(
                field("Current password", "current_password", kind="password", required=True),
                field(
                    "New password",
                    "new_password",
                    kind="password",
                    required=True,
                    auto_complete="new-password",
                ),
                problems(AccountState.password_problems),
                error(AccountState.password_error, "password-error"),
                submit("Change password", variant="soft"),
                spacing="3",
                width="100%",
            ),
            id=PASSWORD_FORM,
            on_submit=browser.change_password(
                PASSWORD_FORM, AccountState.password_failed, "/settings?password=changed"
            ),
            width="100%",
        ),
        description="Every other browser is signed out when the password changes.",
    )


def _session_row(row: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.text(row["device"], size="1", trim="both"),
            rx.cond(row["current"] != "", rx.badge("this browser", color_scheme="green")),
        ),
        rx.table.cell(row["ip"]),
        rx.table.cell(row["signed_in"]),
        rx.table.cell(row["last_seen"]),
        rx.table.cell(
            rx.button(
                "Sign out",
                size="1",
                variant="soft",
                color_scheme="red",
                on_click=AccountState.revoke_session(row["id"]),
            )
        ),
        data_testid="session-row",
    )


def sessions_section() -> rx.Component:
    """Where you are signed in, with a way to end each session."""
    return section(
        "Where you're signed in",
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[
                        rx.table.column_header_cell(name)
                        for name in ("Browser", "IP", "Signed in", "Last seen", "")
                    ]
                )
            ),
            rx.table.body(rx.foreach(AccountState.sessions, _session_row)),
            width="100%",
            size="1",
        ),
        error(AccountState.sessions_error, "sessions-error"),
    )


def _scope_box(choice: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.text(
        rx.hstack(
            rx.checkbox(name=SCOPE_FIELD + choice["scope"], aria_label=choice["scope"]),
            rx.code(choice["scope"]),
            rx.text(choice["description"], size="1", color_scheme="gray"),
            align="center",
            spacing="2",
        ),
        as_="label",
        size="2",
    )


def _token_row(token: rx.Var[dict[str, str]]) -> rx.Component:
    active = token["status"] == "active"
    return rx.table.row(
        rx.table.cell(rx.text(token["name"], weight="medium")),
        rx.table.cell(rx.code(token["prefix"])),
        rx.table.cell(rx.text(token["scopes"], size="1")),
        rx.table.cell(token["expires"]),
        rx.table.cell(token["last_used"]),
        rx.table.cell(
            rx.cond(
                active,
                rx.button(
                    "Revoke",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=TokensState.revoke(token["id"]),
                ),
                rx.badge("revoked", color_scheme="gray"),
            )
        ),
        data_testid="token-row",
    )


def tokens_section() -> rx.Component:
    """Personal access tokens for the REST API: create (the secret is shown once), list, revoke."""
    form = rx.form(
        rx.vstack(
            field("Token name", "name", required=True, placeholder="e.g. research notebook"),
            rx.text("Scopes", size="2", weight="medium"),
            rx.vstack(rx.foreach(SCOPE_CHOICES, _scope_box), spacing="1"),
            rx.hstack(
                rx.text("Expires after", size="2", weight="medium"),
                rx.select(
                    list(EXPIRY_CHOICES), name="expires", aria_label="Expires after", default_value="90 days"
                ),
                align="center",
                spacing="2",
            ),
            error(TokensState.error, "token-error"),
            submit("Create token"),
            spacing="3",
            width="100%",
        ),
        on_submit=TokensState.create,
        reset_on_submit=True,
        width="100%",
    )
    return section(
        "Personal access tokens",
        rx.cond(
            TokensState.new_secret != "",
            secret_once(
                "New token: " + TokensState.new_name,
                TokensState.new_secret,
                TokensState.dismiss_secret,
                "token-secret",
            ),
        ),
        form,
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[
                        rx.table.column_header_cell(name)
                        for name in ("Name", "Token", "Scopes", "Expires", "Last used", "")
                    ]
                )
            ),
            rx.table.body(rx.foreach(TokensState.tokens, _token_row)),
            width="100%",
            size="1",
        ),
        description="Tokens let scripts use the REST API as you (Authorization: Bearer qnt_pat_…).",
    )


def danger_section() -> rx.Component:
    """Download everything, then delete the account."""
    return section(
        "Your data",
        rx.button(
            rx.icon("download", size=16),
            "Download my data (JSON)",
            variant="soft",
            on_click=AccountState.download_export,
            data_testid="download-export",
            width="fit-content",
        ),
        rx.divider(),
        rx.heading("Delete account", size="3", color_scheme="red"),
        rx.text(
            "Your profile, tokens, sessions and memberships go; organisations where you are the only member "
            "go with them. Your data downloads as JSON first.",
            size="2",
        ),
        rx.form(
            rx.vstack(
                field("Current password", "password", kind="password", required=True),
                rx.text(
                    rx.hstack(
                        rx.checkbox(name="confirm"),
                        rx.text("I understand this cannot be undone."),
                        spacing="2",
                    ),
                    as_="label",
                    size="2",
                ),
                error(AccountState.delete_error, "delete-error"),
                submit("Delete my account", color_scheme="red"),
                spacing="3",
                width="100%",
            ),
            on_submit=AccountState.delete_account,
            width="100%",
        ),
        border=f"1px solid {rx.color('red', 6)}",
    )


def settings() -> rx.Component:
    """Every section, once the account has loaded; a farewell after deletion."""
    return rx.cond(
        AccountState.deleted,
        rx.callout(
            "Your account is deleted and your data was downloaded. Thank you for trying Quanta.",
            icon="info",
            data_testid="account-deleted",
        ),
        rx.cond(
            AccountState.loaded,
            rx.vstack(
                rx.heading("Settings", size="7"),
                profile_section(),
                email_section(),
                password_section(),
                sessions_section(),
                tokens_section(),
                danger_section(),
                spacing="4",
                width="100%",
                max_width="60em",
            ),
            rx.center(rx.spinner(size="3"), padding="4em"),
        ),
    )
