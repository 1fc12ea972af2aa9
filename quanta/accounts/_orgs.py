"""Organisations, memberships and invitations, with the role rules.

Owners and admins manage members; admins cannot invite, promote, demote or remove owners; only owners
make owners; an organisation always keeps at least one owner.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, func, select

from quanta.accounts import _mails
from quanta.accounts._support import (
    check_slug,
    current_time,
    hashes_match,
    link,
    new_token,
    normalize_email,
    record,
    slugify,
    token_hash,
    user_id,
)
from quanta.accounts.errors import Conflict, InvalidToken, NotAllowed, NotFound, TokenExpired
from quanta.accounts.events import AuditKind
from quanta.accounts.models import (
    ApiClient,
    Invitation,
    InvitationCreate,
    MemberPublic,
    Membership,
    Organization,
    OrganizationCreate,
    OrganizationUpdate,
    Profile,
    Role,
    User,
)

INVITATION_TTL = timedelta(days=7)
SLUG_LENGTH = 40
_MAX_TOKEN = 128


def org_id(org: Organization) -> int:
    """The id of a stored organisation."""
    if org.id is None:
        msg = "the organisation has not been saved yet"
        raise ValueError(msg)
    return org.id


# ---- organisations -------------------------------------------------------------------------------------


def create_organization(
    *, session: Session, owner: User, org_in: OrganizationCreate, now: datetime | None = None
) -> Organization:
    """A new organisation whose creator is its first owner; ``Conflict`` if the slug is taken."""
    now = current_time(now)
    wanted = org_in.slug if org_in.slug is not None else slugify(org_in.name, max_length=SLUG_LENGTH)
    slug = check_slug(wanted.strip().lower(), field="slug", max_length=SLUG_LENGTH)
    if session.exec(select(Organization.id).where(col(Organization.slug) == slug)).first() is not None:
        raise Conflict(f"The address {slug!r} is taken. Choose another.")
    org = Organization(name=org_in.name.strip(), slug=slug, created_at=now)
    session.add(org)
    session.flush()
    session.add(Membership(org_id=org_id(org), user_id=user_id(owner), role=Role.OWNER, created_at=now))
    record(session, AuditKind.ORG_CREATED, now=now, actor_id=owner.id, org_id=org.id, detail={"slug": slug})
    session.flush()
    return org


def update_organization(
    *,
    session: Session,
    actor: User,
    org: Organization,
    org_in: OrganizationUpdate,
) -> Organization:
    """Rename an organisation (owners and admins)."""
    require_manager(session, actor, org)
    if org_in.name is not None:
        org.name = org_in.name.strip()
        session.add(org)
        session.flush()
    return org


def organization_by_slug(*, session: Session, slug: str) -> Organization:
    """The organisation at ``slug``; ``NotFound`` otherwise."""
    org = session.exec(select(Organization).where(col(Organization.slug) == slug.strip().lower())).first()
    if org is None:
        raise NotFound(f"No organisation is called {slug!r}.")
    return org


def list_organizations(*, session: Session, user: User) -> list[tuple[Organization, Role]]:
    """The organisations ``user`` belongs to, with their role in each, by name."""
    query = (
        select(Organization, Membership.role)
        .join(Membership, col(Membership.org_id) == col(Organization.id))
        .where(col(Membership.user_id) == user_id(user))
        .order_by(col(Organization.name))
    )
    return [(org, Role(role)) for org, role in session.exec(query)]


def delete_organization(
    *, session: Session, actor: User, org: Organization, now: datetime | None = None
) -> None:
    """Delete an organisation with its memberships, invitations and API clients (owners only)."""
    now = current_time(now)
    if _role(session, org, actor) is not Role.OWNER:
        raise NotAllowed(f"Only owners can delete {org.name}.")
    remove_organization(session, org, actor_id=actor.id, now=now)


def remove_organization(session: Session, org: Organization, *, actor_id: int | None, now: datetime) -> None:
    """Delete ``org`` and everything that hangs off it, without checking roles."""
    for table in (Membership, Invitation, ApiClient):
        session.exec(delete(table).where(col(table.org_id) == org_id(org)))
    record(
        session, AuditKind.ORG_DELETED, now=now, actor_id=actor_id, org_id=org.id, detail={"slug": org.slug}
    )
    session.delete(org)
    session.flush()


# ---- roles and members ---------------------------------------------------------------------------------


def role_in(*, session: Session, user: User, org: Organization) -> Role | None:
    """``user``'s role in ``org``, or None if they are not a member."""
    return _role(session, org, user)


def require_manager(session: Session, actor: User, org: Organization) -> Role:
    """``actor``'s role if they are an owner or admin of ``org``; ``NotAllowed`` otherwise."""
    role = _role(session, org, actor)
    if role is None or not role.manages_members:
        raise NotAllowed(f"Only owners and admins of {org.name} can do this.")
    return role


def list_members(*, session: Session, actor: User, org: Organization) -> list[MemberPublic]:
    """The members of ``org`` with their roles (members only may see them)."""
    if _role(session, org, actor) is None:
        raise NotAllowed(f"Only members of {org.name} can see its members.")
    query = (
        select(Membership, Profile)
        .join(Profile, col(Profile.user_id) == col(Membership.user_id))
        .where(col(Membership.org_id) == org_id(org))
        .order_by(col(Membership.created_at), col(Membership.id))
    )
    return [
        MemberPublic(
            user_id=member.user_id,
            username=profile.username,
            display_name=profile.display_name,
            role=member.role,
            joined_at=member.created_at,
        )
        for member, profile in session.exec(query)
    ]


def change_role(
    *,
    session: Session,
    actor: User,
    org: Organization,
    member_id: int,
    role: Role,
    now: datetime | None = None,
) -> Membership:
    """Give a member another role, following the role rules; the change is audited."""
    now = current_time(now)
    actor_role = require_manager(session, actor, org)
    target = _membership_of(session, org, member_id)
    if Role.OWNER in (target.role, role) and actor_role is not Role.OWNER:
        raise NotAllowed("Only owners can make someone an owner or change an owner's role.")
    if target.role is Role.OWNER and role is not Role.OWNER and _owner_count(session, org) == 1:
        raise NotAllowed(f"{org.name} needs at least one owner: make someone else an owner first.")
    if target.role is role:
        return target
    previous, target.role = target.role, role
    session.add(target)
    record(
        session,
        AuditKind.ROLE_CHANGED,
        now=now,
        actor_id=actor.id,
        subject_id=member_id,
        org_id=org.id,
        detail={"from": previous.value, "to": role.value},
    )
    session.flush()
    return target


def remove_member(
    *, session: Session, actor: User, org: Organization, member_id: int, now: datetime | None = None
) -> None:
    """Remove a member (owners and admins; admins cannot remove owners), or leave when it is yourself."""
    now = current_time(now)
    target = _membership_of(session, org, member_id)
    if member_id != actor.id:
        actor_role = require_manager(session, actor, org)
        if target.role is Role.OWNER and actor_role is not Role.OWNER:
            raise NotAllowed("Admins cannot remove an owner.")
    if target.role is Role.OWNER and _owner_count(session, org) == 1:
        raise NotAllowed(
            f"You are the last owner of {org.name}: make someone else an owner, or delete the organisation."
        )
    session.delete(target)
    record(
        session,
        AuditKind.MEMBER_REMOVED,
        now=now,
        actor_id=actor.id,
        subject_id=member_id,
        org_id=org.id,
        detail={"role": target.role.value, "left": member_id == actor.id},
    )
    session.flush()


def leave_organization(
    *, session: Session, user: User, org: Organization, now: datetime | None = None
) -> None:
    """Leave ``org`` (the last owner cannot)."""
    remove_member(session=session, actor=user, org=org, member_id=user_id(user), now=now)


def _role(session: Session, org: Organization, user: User) -> Role | None:
    membership = _membership(session, org_id(org), user_id(user))
    return membership.role if membership is not None else None


def _membership(session: Session, org: int, user: int) -> Membership | None:
    query = select(Membership).where(col(Membership.org_id) == org, col(Membership.user_id) == user)
    return session.exec(query).first()


def _membership_of(session: Session, org: Organization, member_id: int) -> Membership:
    membership = _membership(session, org_id(org), member_id)
    if membership is None:
        raise NotFound(f"That person is not a member of {org.name}.")
    return membership


def _owner_count(session: Session, org: Organization) -> int:
    query = select(func.count()).where(
        col(Membership.org_id) == org_id(org), col(Membership.role) == Role.OWNER
    )
    return int(session.exec(query).one())


# ---- invitations ---------------------------------------------------------------------------------------


def invite_member(
    *,
    session: Session,
    actor: User,
    org: Organization,
    invitation_in: InvitationCreate,
    base_url: str | None = None,
    now: datetime | None = None,
) -> Invitation:
    """Email an invitation to join ``org`` (owners and admins; only owners invite owners).

    A new invitation to the same address replaces a pending one.
    """
    now = current_time(now)
    actor_role = require_manager(session, actor, org)
    if invitation_in.role is Role.OWNER and actor_role is not Role.OWNER:
        raise NotAllowed("Only owners can invite an owner.")
    email = normalize_email(invitation_in.email)
    invitee = session.exec(select(User).where(col(User.email) == email)).first()
    if invitee is not None and _membership(session, org_id(org), user_id(invitee)) is not None:
        raise Conflict(f"{email} is already a member of {org.name}.")
    session.exec(
        delete(Invitation).where(
            col(Invitation.org_id) == org_id(org),
            col(Invitation.email) == email,
            col(Invitation.accepted_at).is_(None),
        )
    )
    token = new_token()
    invitation = Invitation(
        org_id=org_id(org),
        email=email,
        role=invitation_in.role,
        token_hash=token_hash(token),
        invited_by_id=actor.id,
        created_at=now,
        expires_at=now + INVITATION_TTL,
    )
    session.add(invitation)
    inviter = session.get(Profile, user_id(actor))
    name = (inviter.display_name or inviter.username) if inviter is not None else "Someone"
    url = link("/invitations/accept", token, base_url)
    _mails.invitation(session, to=email, org=org, role=invitation_in.role, inviter=name, url=url, now=now)
    record(
        session,
        AuditKind.MEMBER_INVITED,
        now=now,
        actor_id=actor.id,
        org_id=org.id,
        detail={"email": email, "role": invitation_in.role.value},
    )
    session.flush()
    return invitation


def list_invitations(
    *, session: Session, actor: User, org: Organization, now: datetime | None = None
) -> list[Invitation]:
    """Pending, unexpired invitations of ``org`` (owners and admins), newest first."""
    now = current_time(now)
    require_manager(session, actor, org)
    query = (
        select(Invitation)
        .where(
            col(Invitation.org_id) == org_id(org),
            col(Invitation.accepted_at).is_(None),
            col(Invitation.expires_at) > now,
        )
        .order_by(col(Invitation.created_at).desc(), col(Invitation.id).desc())
    )
    return list(session.exec(query))


def revoke_invitation(
    *, session: Session, actor: User, org: Organization, invitation_id: int, now: datetime | None = None
) -> None:
    """Cancel a pending invitation of ``org`` (owners and admins)."""
    now = current_time(now)
    require_manager(session, actor, org)
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.org_id != org.id or invitation.accepted_at is not None:
        raise NotFound("No such pending invitation.")
    session.delete(invitation)
    record(
        session,
        AuditKind.INVITATION_REVOKED,
        now=now,
        actor_id=actor.id,
        org_id=org.id,
        detail={"email": invitation.email},
    )
    session.flush()


def accept_invitation(*, session: Session, user: User, token: str, now: datetime | None = None) -> Membership:
    """Join the organisation of an emailed invitation; ``user`` must have the invited address.

    Raises ``InvalidToken`` (unknown or used), ``TokenExpired`` or ``NotAllowed`` (another address).
    """
    now = current_time(now)
    invitation = _invitation_by_token(session, token, now)
    if invitation.email != user.email:
        raise NotAllowed("This invitation was sent to another email address. Sign in with that address.")
    invitation.accepted_at = now
    session.add(invitation)
    if user.email_verified_at is None:
        user.email_verified_at = now  # the invitation reached this inbox
        session.add(user)
    membership = _membership(session, invitation.org_id, user_id(user))
    if membership is None:
        membership = Membership(
            org_id=invitation.org_id, user_id=user_id(user), role=invitation.role, created_at=now
        )
        session.add(membership)
        record(
            session,
            AuditKind.INVITATION_ACCEPTED,
            now=now,
            actor_id=user.id,
            org_id=invitation.org_id,
            detail={"role": invitation.role.value},
        )
    session.flush()
    return membership


def _invitation_by_token(session: Session, token: str, now: datetime) -> Invitation:
    if not token or len(token) > _MAX_TOKEN:
        raise InvalidToken
    digest = token_hash(token)
    invitation = session.exec(select(Invitation).where(col(Invitation.token_hash) == digest)).first()
    if invitation is None or not hashes_match(invitation.token_hash, token):
        raise InvalidToken("This invitation is not valid. Ask for a new one.")
    if invitation.accepted_at is not None:
        raise InvalidToken("This invitation has already been used.")
    if invitation.expires_at <= now:
        raise TokenExpired("This invitation has expired. Ask for a new one.")
    return invitation
