"""States of /orgs (your organisations, create one) and /orgs/[slug] (members, invitations, API clients)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx
from pydantic import ValidationError
from sqlmodel import Session

from quanta import db
from quanta.accounts import GRANT_TYPES, SCOPES, AccountsError, NotAllowed, Role, service
from quanta.accounts.models import (
    ApiClient,
    ApiClientCreate,
    InvitationCreate,
    IssuedClient,
    Organization,
    OrganizationCreate,
    User,
)
from state.auth import AuthState
from state.views import checked, invalid, last_segment, lines, text, when

SCOPE_FIELD = "scope:"
GRANT_FIELD = "grant:"
ROLES = [role.value for role in Role]
GRANT_CHOICES = [{"grant": grant, "description": text_} for grant, text_ in GRANT_TYPES.items()]
SCOPE_CHOICES = [{"scope": scope, "description": text_} for scope, text_ in SCOPES.items()]

OrgAction = Callable[[Session, User, Organization], None]


class OrgsState(AuthState):
    """The organisations the user belongs to, and the create form."""

    orgs: list[dict[str, str]] = []
    error: str = ""

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """List the user's organisations with their role in each."""
        self.error = ""
        with db.session() as unit:
            user = self._user(unit)
            if user is None:
                return self._to_sign_in()
            rows = service.list_organizations(session=unit, user=user)
            self.orgs = [{"name": org.name, "slug": org.slug, "role": role.value} for org, role in rows]
        return None

    @rx.event
    def create(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Create an organisation (you become its owner) and open it."""
        self.error = ""
        try:
            org_in = OrganizationCreate(name=text(form, "name"), slug=text(form, "org_slug") or None)
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    return self._to_sign_in()
                org = service.create_organization(session=unit, owner=user, org_in=org_in)
                address = f"/orgs/{org.slug}"
        except AccountsError as exc:
            self.error = str(exc)
            return None
        except ValidationError as exc:
            self.error = invalid(exc)
            return None
        return rx.redirect(address)


def _client_row(client: ApiClient) -> dict[str, str]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "scopes": ", ".join(client.scopes),
        "grant_types": ", ".join(client.grant_types),
        "redirect_uris": ", ".join(client.redirect_uris) or "—",
        "created": when(client.created_at),
        "status": "revoked" if client.revoked_at is not None else "active",
    }


class OrgState(AuthState):
    """One organisation: members with roles, pending invitations and, for managers, API clients."""

    org: dict[str, str] = {}
    my_role: str = ""
    members: list[dict[str, str]] = []
    invitations: list[dict[str, str]] = []
    clients: list[dict[str, str]] = []
    issued: dict[str, str] = {}
    error: str = ""
    message: str = ""
    missing: bool = False

    @rx.var
    def can_manage(self) -> bool:
        """Owners and admins manage members and API clients."""
        return self.my_role in (Role.OWNER.value, Role.ADMIN.value)

    @rx.var
    def is_owner(self) -> bool:
        """Only owners make owners."""
        return self.my_role == Role.OWNER.value

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Show the organisation of the URL."""
        self.org, self.my_role, self.missing = {}, "", False
        self.issued = {}
        return self._act(lambda unit, user, org: None)

    @rx.event
    def invite(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Email an invitation to join, with a role."""
        try:
            invitation = InvitationCreate(
                email=text(form, "email"), role=Role(text(form, "role") or "member")
            )
        except (ValidationError, ValueError) as exc:
            self.error = invalid(exc) if isinstance(exc, ValidationError) else str(exc)
            return None

        def run(unit: Session, user: User, org: Organization) -> None:
            service.invite_member(session=unit, actor=user, org=org, invitation_in=invitation)

        return self._act(run, done=f"Invitation sent to {invitation.email.strip().lower()}.")

    @rx.event
    def revoke_invitation(self, invitation_id: str) -> rx.event.EventSpec | None:
        """Cancel a pending invitation."""

        def run(unit: Session, user: User, org: Organization) -> None:
            service.revoke_invitation(session=unit, actor=user, org=org, invitation_id=int(invitation_id))

        return self._act(run, done="Invitation cancelled.")

    @rx.event
    def change_role(self, member_id: str, role: str) -> rx.event.EventSpec | None:
        """Give a member another role."""

        def run(unit: Session, user: User, org: Organization) -> None:
            service.change_role(session=unit, actor=user, org=org, member_id=int(member_id), role=Role(role))

        return self._act(run, done="Role changed.")

    @rx.event
    def remove_member(self, member_id: str) -> rx.event.EventSpec | None:
        """Remove a member (or leave, for yourself)."""

        def run(unit: Session, user: User, org: Organization) -> None:
            service.remove_member(session=unit, actor=user, org=org, member_id=int(member_id))

        return self._act(run, done="Member removed.")

    @rx.event
    def leave(self) -> rx.event.EventSpec | None:
        """Leave the organisation, then go back to the list."""

        def run(unit: Session, user: User, org: Organization) -> None:
            service.leave_organization(session=unit, user=user, org=org)

        return self._act(run, then="/orgs")

    @rx.event
    def register_client(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Register an OAuth client; its secret is shown once."""
        try:
            client_in = ApiClientCreate(
                name=text(form, "name"),
                redirect_uris=lines(str(form.get("redirect_uris") or "")),
                scopes=checked(form, SCOPE_FIELD),
                grant_types=checked(form, GRANT_FIELD),
            )
        except ValidationError as exc:
            self.error = invalid(exc)
            return None

        def run(unit: Session, user: User, org: Organization) -> None:
            self._issue(service.register_api_client(session=unit, actor=user, org=org, client_in=client_in))

        return self._act(run, done="API client registered.")

    @rx.event
    def rotate_secret(self, client_id: str) -> rx.event.EventSpec | None:
        """Give a client a new secret (the old one stops working at once)."""

        def run(unit: Session, user: User, org: Organization) -> None:
            self._issue(
                service.rotate_api_client_secret(session=unit, actor=user, org=org, client_id=client_id)
            )

        return self._act(run, done="New secret issued.")

    @rx.event
    def revoke_client(self, client_id: str) -> rx.event.EventSpec | None:
        """Switch a client off for good."""

        def run(unit: Session, user: User, org: Organization) -> None:
            service.revoke_api_client(session=unit, actor=user, org=org, client_id=client_id)

        return self._act(run, done="API client revoked.")

    @rx.event
    def dismiss_secret(self) -> None:
        """Forget the client secret: it cannot be shown again."""
        self.issued = {}

    def _issue(self, issued: IssuedClient) -> None:
        self.issued = {
            "name": issued.client.name,
            "client_id": issued.client.client_id,
            "secret": issued.secret,
        }

    def _act(
        self, action: OrgAction, *, done: str = "", then: str | None = None
    ) -> rx.event.EventSpec | None:
        """Resolve the user and the organisation of the URL, run ``action``, and show the result (or go
        to ``then``)."""
        self.error, self.message = "", ""
        slug = last_segment(self.router.url.path)
        try:
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    return self._to_sign_in()
                org = service.organization_by_slug(session=unit, slug=slug)
                action(unit, user, org)
                if then is None:
                    self._show(unit, user, org)
        except AccountsError as exc:
            self.error = str(exc)
            self.missing = not self.org
            return None
        self.message = done
        return rx.redirect(then) if then is not None else None

    def _show(self, unit: Session, user: User, org: Organization) -> None:
        role = service.role_in(session=unit, user=user, org=org)
        if role is None:
            raise NotAllowed(f"Only members of {org.name} can see it.")
        self.org = {"name": org.name, "slug": org.slug, "created": when(org.created_at)}
        self.my_role = role.value
        self.members = [
            {
                "user_id": str(member.user_id),
                "username": member.username,
                "display_name": member.display_name or member.username,
                "role": member.role.value,
                "joined": when(member.joined_at),
                "is_me": "yes" if member.user_id == user.id else "",
            }
            for member in service.list_members(session=unit, actor=user, org=org)
        ]
        if not role.manages_members:
            self.invitations, self.clients = [], []
            return
        self.invitations = [
            {
                "id": str(item.id),
                "email": item.email,
                "role": item.role.value,
                "expires": when(item.expires_at),
            }
            for item in service.list_invitations(session=unit, actor=user, org=org)
        ]
        self.clients = [
            _client_row(client) for client in service.list_api_clients(session=unit, actor=user, org=org)
        ]
