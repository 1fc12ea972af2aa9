"""Organisations: the creator owns it; owners and admins manage members by the role rules;
invitations are emailed, single-use and expire; role changes are audited."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session

from quanta.accounts.errors import Conflict, InvalidInput, InvalidToken, NotAllowed, NotFound, TokenExpired
from quanta.accounts.events import AuditKind
from quanta.accounts.models import InvitationCreate, Organization, OrganizationCreate, Role, User
from quanta.accounts.service import (
    accept_invitation,
    audit_log_for_org,
    audit_log_for_user,
    change_role,
    create_organization,
    delete_organization,
    invite_member,
    leave_organization,
    list_invitations,
    list_members,
    list_organizations,
    organization_by_slug,
    remove_member,
    revoke_invitation,
    role_in,
)
from quanta.testing.clock import FakeClock
from tests.accounts.conftest import BASE_URL, add_member, last_mail, make_org, make_user, token_in


@dataclass
class Team:
    org: Organization
    owner: User
    admin: User
    member: User
    outsider: User


@pytest.fixture
def team(unit: Session, clock: FakeClock) -> Team:
    owner = make_user(unit, clock, "owner@example.com", username="olga")
    admin = make_user(unit, clock, "admin@example.com", username="adam")
    member = make_user(unit, clock, "member@example.com", username="mia")
    outsider = make_user(unit, clock, "outsider@example.com", username="otto")
    org = make_org(unit, clock, owner)
    add_member(unit, clock, org, by=owner, user=admin, role=Role.ADMIN)
    add_member(unit, clock, org, by=owner, user=member, role=Role.MEMBER)
    return Team(org=org, owner=owner, admin=admin, member=member, outsider=outsider)


def _id(user: User) -> int:
    assert user.id is not None
    return user.id


def test_the_creator_owns_a_new_organisation(unit: Session, clock: FakeClock) -> None:
    ada = make_user(unit, clock)

    org = create_organization(session=unit, owner=ada, org_in=OrganizationCreate(name="Ada's Quant Lab"))

    assert org.slug == "ada-s-quant-lab"
    assert role_in(session=unit, user=ada, org=org) is Role.OWNER
    assert list_organizations(session=unit, user=ada) == [(org, Role.OWNER)]
    assert organization_by_slug(session=unit, slug="ADA-S-QUANT-LAB").id == org.id


def test_organisation_slugs_are_unique_and_valid(unit: Session, clock: FakeClock) -> None:
    ada = make_user(unit, clock)
    create_organization(session=unit, owner=ada, org_in=OrganizationCreate(name="Desk", slug="desk"))

    with pytest.raises(Conflict):
        create_organization(session=unit, owner=ada, org_in=OrganizationCreate(name="Other", slug="desk"))
    with pytest.raises(InvalidInput):
        create_organization(session=unit, owner=ada, org_in=OrganizationCreate(name="Admin", slug="admin"))
    with pytest.raises(NotFound):
        organization_by_slug(session=unit, slug="nowhere")


def test_members_see_members_and_outsiders_do_not(unit: Session, team: Team) -> None:
    members = list_members(session=unit, actor=team.member, org=team.org)

    assert [(m.username, m.role) for m in members] == [
        ("olga", Role.OWNER),
        ("adam", Role.ADMIN),
        ("mia", Role.MEMBER),
    ]
    with pytest.raises(NotAllowed):
        list_members(session=unit, actor=team.outsider, org=team.org)


# ---- invitations ---------------------------------------------------------------------------------------


def test_an_invitation_is_emailed_and_works_once(unit: Session, clock: FakeClock, team: Team) -> None:
    newcomer = make_user(unit, clock, "new@example.com", verified=False)
    invite_member(
        session=unit,
        actor=team.admin,
        org=team.org,
        invitation_in=InvitationCreate(email="NEW@example.com", role=Role.MEMBER),
        base_url=BASE_URL,
        now=clock.now(),
    )
    mail = last_mail(unit, "new@example.com")
    assert mail.subject == "Join Alpha Desk on Quanta"
    token = token_in(mail, "/invitations/accept")

    membership = accept_invitation(session=unit, user=newcomer, token=token, now=clock.now())

    assert membership.role is Role.MEMBER
    assert newcomer.email_verified_at == clock.now()  # the invitation reached this inbox
    with pytest.raises(InvalidToken, match="already been used"):
        accept_invitation(session=unit, user=newcomer, token=token, now=clock.now())


def test_an_invitation_is_only_for_its_address(unit: Session, clock: FakeClock, team: Team) -> None:
    invite_member(
        session=unit,
        actor=team.owner,
        org=team.org,
        invitation_in=InvitationCreate(email="someone@example.com"),
        base_url=BASE_URL,
    )
    token = token_in(last_mail(unit, "someone@example.com"), "/invitations/accept")

    with pytest.raises(NotAllowed, match="another email address"):
        accept_invitation(session=unit, user=team.outsider, token=token)


def test_an_invitation_expires_after_a_week(unit: Session, clock: FakeClock, team: Team) -> None:
    invite_member(
        session=unit,
        actor=team.owner,
        org=team.org,
        invitation_in=InvitationCreate(email=team.outsider.email),
        base_url=BASE_URL,
        now=clock.now(),
    )
    token = token_in(last_mail(unit, team.outsider.email), "/invitations/accept")
    assert len(list_invitations(session=unit, actor=team.admin, org=team.org, now=clock.now())) == 1
    clock.advance(days=7)

    assert list_invitations(session=unit, actor=team.admin, org=team.org, now=clock.now()) == []
    with pytest.raises(TokenExpired):
        accept_invitation(session=unit, user=team.outsider, token=token, now=clock.now())


def test_a_revoked_invitation_no_longer_works(unit: Session, clock: FakeClock, team: Team) -> None:
    invitation = invite_member(
        session=unit,
        actor=team.owner,
        org=team.org,
        invitation_in=InvitationCreate(email=team.outsider.email),
        base_url=BASE_URL,
    )
    token = token_in(last_mail(unit, team.outsider.email), "/invitations/accept")
    assert invitation.id is not None

    with pytest.raises(NotAllowed):
        revoke_invitation(session=unit, actor=team.member, org=team.org, invitation_id=invitation.id)
    revoke_invitation(session=unit, actor=team.admin, org=team.org, invitation_id=invitation.id)

    with pytest.raises(InvalidToken):
        accept_invitation(session=unit, user=team.outsider, token=token)


def test_only_owners_and_admins_invite_and_only_owners_invite_owners(unit: Session, team: Team) -> None:
    def invite(actor: User, role: Role) -> None:
        invite_member(
            session=unit,
            actor=actor,
            org=team.org,
            invitation_in=InvitationCreate(email="x@example.com", role=role),
            base_url=BASE_URL,
        )

    with pytest.raises(NotAllowed):
        invite(team.member, Role.MEMBER)
    with pytest.raises(NotAllowed):
        invite(team.outsider, Role.MEMBER)
    with pytest.raises(NotAllowed, match="Only owners can invite an owner"):
        invite(team.admin, Role.OWNER)
    invite(team.owner, Role.OWNER)


def test_inviting_a_member_again_is_a_conflict(unit: Session, team: Team) -> None:
    with pytest.raises(Conflict, match="already a member"):
        invite_member(
            session=unit,
            actor=team.owner,
            org=team.org,
            invitation_in=InvitationCreate(email=team.member.email),
        )


# ---- roles ---------------------------------------------------------------------------------------------


def test_an_admin_promotes_a_member_and_the_change_is_audited(
    unit: Session, clock: FakeClock, team: Team
) -> None:
    change_role(
        session=unit,
        actor=team.admin,
        org=team.org,
        member_id=_id(team.member),
        role=Role.ADMIN,
        now=clock.now(),
    )

    assert role_in(session=unit, user=team.member, org=team.org) is Role.ADMIN
    event = audit_log_for_org(session=unit, actor=team.owner, org=team.org)[0]
    assert (event.kind, event.actor_id, event.subject_id, event.detail) == (
        AuditKind.ROLE_CHANGED,
        team.admin.id,
        team.member.id,
        {"from": "member", "to": "admin"},
    )
    assert audit_log_for_user(session=unit, user=team.member)[0].kind == AuditKind.ROLE_CHANGED


def test_admins_cannot_touch_owners_or_make_owners(unit: Session, team: Team) -> None:
    with pytest.raises(NotAllowed):
        change_role(session=unit, actor=team.admin, org=team.org, member_id=_id(team.owner), role=Role.MEMBER)
    with pytest.raises(NotAllowed):
        change_role(session=unit, actor=team.admin, org=team.org, member_id=_id(team.member), role=Role.OWNER)
    with pytest.raises(NotAllowed, match="Admins cannot remove an owner"):
        remove_member(session=unit, actor=team.admin, org=team.org, member_id=_id(team.owner))
    assert role_in(session=unit, user=team.owner, org=team.org) is Role.OWNER


def test_members_and_outsiders_cannot_manage_the_organisation(unit: Session, team: Team) -> None:
    for actor in (team.member, team.outsider):
        with pytest.raises(NotAllowed):
            change_role(session=unit, actor=actor, org=team.org, member_id=_id(actor), role=Role.ADMIN)
        with pytest.raises(NotAllowed):
            remove_member(session=unit, actor=actor, org=team.org, member_id=_id(team.admin))
        with pytest.raises(NotAllowed):
            audit_log_for_org(session=unit, actor=actor, org=team.org)
        with pytest.raises(NotAllowed):
            delete_organization(session=unit, actor=actor, org=team.org)
    assert role_in(session=unit, user=team.member, org=team.org) is Role.MEMBER


def test_the_last_owner_can_neither_leave_nor_step_down(unit: Session, team: Team) -> None:
    with pytest.raises(NotAllowed, match="last owner"):
        leave_organization(session=unit, user=team.owner, org=team.org)
    with pytest.raises(NotAllowed, match="at least one owner"):
        change_role(session=unit, actor=team.owner, org=team.org, member_id=_id(team.owner), role=Role.ADMIN)

    change_role(session=unit, actor=team.owner, org=team.org, member_id=_id(team.admin), role=Role.OWNER)
    leave_organization(session=unit, user=team.owner, org=team.org)

    assert role_in(session=unit, user=team.owner, org=team.org) is None


def test_an_admin_removes_a_member_and_anyone_can_leave(unit: Session, team: Team) -> None:
    remove_member(session=unit, actor=team.admin, org=team.org, member_id=_id(team.member))
    leave_organization(session=unit, user=team.admin, org=team.org)

    assert [m.username for m in list_members(session=unit, actor=team.owner, org=team.org)] == ["olga"]
    with pytest.raises(NotFound):
        remove_member(session=unit, actor=team.owner, org=team.org, member_id=_id(team.outsider))
    kinds = [e.kind for e in audit_log_for_org(session=unit, actor=team.owner, org=team.org)]
    assert kinds[:2] == [AuditKind.MEMBER_REMOVED, AuditKind.MEMBER_REMOVED]


def test_an_owner_deletes_the_organisation(unit: Session, team: Team) -> None:
    delete_organization(session=unit, actor=team.owner, org=team.org)
    unit.commit()

    assert list_organizations(session=unit, user=team.member) == []
    with pytest.raises(NotFound):
        organization_by_slug(session=unit, slug="alpha-desk")


def test_org_audit_log_is_only_the_orgs_events(unit: Session, clock: FakeClock, team: Team) -> None:
    other = make_org(unit, clock, team.outsider, "Other Desk")

    events = audit_log_for_org(session=unit, actor=team.admin, org=team.org)

    assert {e.org_id for e in events} == {team.org.id}
    assert other.id not in {e.org_id for e in events}
    assert [e.kind for e in events][-1] == AuditKind.ORG_CREATED
