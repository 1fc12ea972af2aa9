"""/orgs and /orgs/[slug]: organisations, their members and invitations, and their API clients."""

from __future__ import annotations

import reflex as rx

from components.forms import error, field, secret_once, section, submit, success, text_area
from state.orgs import GRANT_CHOICES, GRANT_FIELD, ROLES, SCOPE_CHOICES, SCOPE_FIELD, OrgsState, OrgState


def _org_card(org: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.link(
        rx.card(
            rx.hstack(
                rx.icon("building-2", size=20),
                rx.vstack(
                    rx.text(org["name"], weight="bold"),
                    rx.text("/orgs/" + org["slug"], size="1", color_scheme="gray"),
                    spacing="0",
                ),
                rx.spacer(),
                rx.badge(org["role"]),
                align="center",
                width="100%",
            ),
            width="100%",
        ),
        href="/orgs/" + org["slug"],
        underline="none",
        width="100%",
        data_testid="org-card",
    )


def orgs_list() -> rx.Component:
    """Your organisations and the create form."""
    return rx.vstack(
        rx.heading("Organisations", size="7"),
        rx.cond(
            OrgsState.orgs.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(rx.foreach(OrgsState.orgs, _org_card), width="100%", spacing="2"),
            rx.text("You are not in any organisation yet.", color_scheme="gray"),
        ),
        section(
            "Create an organisation",
            rx.form(
                rx.vstack(
                    field("Name", "name", required=True),
                    field(
                        "Address (optional)",
                        "org_slug",
                        hint="Lower-case letters, digits and -; from the name if empty.",
                    ),
                    error(OrgsState.error, "org-error"),
                    submit("Create organisation"),
                    spacing="3",
                    width="100%",
                ),
                on_submit=OrgsState.create,
                width="100%",
            ),
        ),
        spacing="4",
        width="100%",
        max_width="50em",
    )


def _role_picker(member: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.select(
        ROLES,
        value=member["role"],
        on_change=lambda role: OrgState.change_role(member["user_id"], role),
        size="1",
        aria_label="Role of " + member["username"],
    )


def _member_row(member: rx.Var[dict[str, str]]) -> rx.Component:
    is_me = member["is_me"] != ""
    return rx.table.row(
        rx.table.cell(
            rx.link(member["display_name"], href="/u/" + member["username"]),
            rx.cond(is_me, rx.badge("you", margin_left="0.5em")),
        ),
        rx.table.cell(rx.cond(OrgState.can_manage & ~is_me, _role_picker(member), rx.badge(member["role"]))),
        rx.table.cell(member["joined"]),
        rx.table.cell(
            rx.cond(
                is_me,
                rx.button("Leave", size="1", variant="soft", on_click=OrgState.leave),
                rx.cond(
                    OrgState.can_manage,
                    rx.button(
                        "Remove",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=OrgState.remove_member(member["user_id"]),
                    ),
                ),
            )
        ),
        data_testid="member-row",
    )


def members_section() -> rx.Component:
    """Members with their roles; managers change roles and remove people."""
    return section(
        "Members",
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[rx.table.column_header_cell(name) for name in ("Member", "Role", "Joined", "")]
                )
            ),
            rx.table.body(rx.foreach(OrgState.members, _member_row)),
            width="100%",
            size="1",
        ),
    )


def _invitation_row(item: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(item["email"]),
        rx.table.cell(rx.badge(item["role"])),
        rx.table.cell(item["expires"]),
        rx.table.cell(
            rx.button("Cancel", size="1", variant="soft", on_click=OrgState.revoke_invitation(item["id"]))
        ),
        data_testid="invitation-row",
    )


def invite_section() -> rx.Component:
    """Invite by email; pending invitations."""
    roles = rx.cond(OrgState.is_owner, ROLES, ROLES[1:])
    return section(
        "Invite people",
        rx.form(
            rx.hstack(
                rx.box(field("Email", "email", kind="email", required=True), flex_grow="1"),
                rx.select(roles, name="role", default_value="member", aria_label="Role"),
                submit("Invite"),
                align="end",
                spacing="2",
                width="100%",
            ),
            on_submit=OrgState.invite,
            reset_on_submit=True,
            width="100%",
        ),
        rx.cond(
            OrgState.invitations.length() > 0,  # type: ignore[attr-defined]
            rx.table.root(
                rx.table.header(
                    rx.table.row(*[rx.table.column_header_cell(n) for n in ("Email", "Role", "Expires", "")])
                ),
                rx.table.body(rx.foreach(OrgState.invitations, _invitation_row)),
                width="100%",
                size="1",
            ),
        ),
    )


def _checkbox(name: rx.Var[str], label: rx.Var[str], description: rx.Var[str]) -> rx.Component:
    return rx.text(
        rx.hstack(
            rx.checkbox(name=name, aria_label=label),
            rx.code(label),
            rx.text(description, size="1", color_scheme="gray"),
            align="center",
            spacing="2",
        ),
        as_="label",
        size="2",
    )


def _client_row(client: rx.Var[dict[str, str]]) -> rx.Component:
    active = client["status"] == "active"
    return rx.table.row(
        rx.table.cell(rx.text(client["name"], weight="medium")),
        rx.table.cell(rx.code(client["client_id"], size="1")),
        rx.table.cell(rx.text(client["scopes"], size="1")),
        rx.table.cell(rx.text(client["grant_types"], size="1")),
        rx.table.cell(
            rx.cond(
                active,
                rx.hstack(
                    rx.button(
                        "Rotate secret",
                        size="1",
                        variant="soft",
                        on_click=OrgState.rotate_secret(client["client_id"]),
                    ),
                    rx.button(
                        "Revoke",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=OrgState.revoke_client(client["client_id"]),
                    ),
                    spacing="2",
                ),
                rx.badge("revoked", color_scheme="gray"),
            )
        ),
        data_testid="client-row",
    )


def clients_section() -> rx.Component:
    """OAuth clients of the organisation: register (the secret is shown once), rotate, revoke."""
    form = rx.form(
        rx.vstack(
            field("Client name", "name", required=True),
            text_area(
                "Redirect URIs (one per line)",
                "redirect_uris",
                placeholder="https://app.example.com/callback",
            ),
            rx.text("Grant types", size="2", weight="medium"),
            rx.foreach(
                GRANT_CHOICES,
                lambda choice: _checkbox(
                    GRANT_FIELD + choice["grant"], choice["grant"], choice["description"]
                ),
            ),
            rx.text("Scopes", size="2", weight="medium"),
            rx.foreach(
                SCOPE_CHOICES,
                lambda choice: _checkbox(
                    SCOPE_FIELD + choice["scope"], choice["scope"], choice["description"]
                ),
            ),
            submit("Register client"),
            spacing="2",
            width="100%",
        ),
        on_submit=OrgState.register_client,
        reset_on_submit=True,
        width="100%",
    )
    issued = rx.vstack(
        rx.text("Client ID: ", rx.code(OrgState.issued["client_id"], data_testid="client-id")),
        secret_once(
            "Client secret of " + OrgState.issued["name"],
            OrgState.issued["secret"],
            OrgState.dismiss_secret,
            "client-secret",
        ),
        width="100%",
    )
    return section(
        "API clients",
        rx.cond(OrgState.issued.contains("secret"), issued),  # type: ignore[attr-defined]
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[rx.table.column_header_cell(n) for n in ("Name", "Client ID", "Scopes", "Grants", "")]
                )
            ),
            rx.table.body(rx.foreach(OrgState.clients, _client_row)),
            width="100%",
            size="1",
        ),
        form,
        description="OAuth clients let other applications use Quanta for this organisation or its members.",
    )


def org_detail() -> rx.Component:
    """One organisation."""
    body = rx.vstack(
        rx.hstack(
            rx.icon("building-2", size=26),
            rx.heading(OrgState.org["name"], size="7", data_testid="org-name"),
            rx.badge(OrgState.my_role, data_testid="my-role"),
            align="center",
            spacing="3",
        ),
        error(OrgState.error, "org-error"),
        success(OrgState.message, "org-message"),
        members_section(),
        rx.cond(OrgState.can_manage, rx.fragment(invite_section(), clients_section())),
        spacing="4",
        width="100%",
        max_width="60em",
    )
    missing = rx.vstack(
        rx.heading("Organisation not available", size="6"),
        error(OrgState.error, "org-error"),
        rx.link("Your organisations", href="/orgs"),
        spacing="3",
    )
    return rx.cond(OrgState.missing, missing, rx.cond(OrgState.org.contains("name"), body, rx.spinner()))  # type: ignore[attr-defined]
