"""Account export and deletion: the export holds everything the user owns and no secrets; deletion
needs the password, removes the account's rows, keeps the audit trail anonymous."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from quanta.accounts.errors import InvalidCredentials, NotAllowed
from quanta.accounts.events import AuditKind
from quanta.accounts.models import (
    ApiClient,
    ApiClientCreate,
    AuditEvent,
    AuthSession,
    EmailToken,
    Membership,
    Organization,
    PersonalAccessToken,
    PersonalAccessTokenCreate,
    Profile,
    ProfileUpdate,
    Role,
    User,
)
from quanta.accounts.service import (
    change_role,
    create_personal_access_token,
    delete_account,
    export_account,
    register_api_client,
    sign_in,
    update_profile,
)
from quanta.ratelimit import MemoryRateLimiter
from quanta.testing.clock import FakeClock
from tests.accounts.conftest import PASSWORD, add_member, make_org, make_user


def _busy_user(unit: Session, clock: FakeClock, limiter: MemoryRateLimiter) -> User:
    """Ada with a profile, a session, a token, an organisation and an API client."""
    ada = make_user(unit, clock, username="ada")
    update_profile(
        session=unit, user=ada, profile_in=ProfileUpdate(bio="Momentum.", links=["https://ada.dev"])
    )
    sign_in(
        session=unit, email=ada.email, password=PASSWORD, ip="203.0.113.7", limiter=limiter, now=clock.now()
    )
    create_personal_access_token(
        session=unit, user=ada, token_in=PersonalAccessTokenCreate(name="cli", scopes=["market:read"])
    )
    org = make_org(unit, clock, ada, "Ada Desk")
    register_api_client(
        session=unit,
        actor=ada,
        org=org,
        client_in=ApiClientCreate(name="Bot", scopes=["backtests:run"], grant_types=["client_credentials"]),
    )
    unit.commit()
    return ada


def test_the_export_is_json_with_everything_the_user_owns_and_no_secrets(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    ada = _busy_user(unit, clock, limiter)

    export = export_account(session=unit, user=ada, now=clock.now())
    text = json.dumps(export)

    assert export["format"] == "quanta.account-export/1"
    assert export["user"]["email"] == "ada@example.com"
    assert export["profile"]["username"] == "ada"
    assert export["profile"]["links"] == ["https://ada.dev"]
    assert [o["slug"] for o in export["organizations"]] == ["ada-desk"]
    assert [t["name"] for t in export["personal_access_tokens"]] == ["cli"]
    assert [s["ip"] for s in export["sessions"]] == ["203.0.113.7"]
    assert [c["name"] for c in export["api_clients_created"]] == ["Bot"]
    assert AuditKind.SIGNED_IN.value in {e["kind"] for e in export["audit_events"]}
    for secret_column in ("password_hash", "token_hash", "client_secret_hash"):
        assert secret_column not in text
    assert "$argon2" not in text


def test_deleting_needs_the_password(unit: Session, clock: FakeClock, limiter: MemoryRateLimiter) -> None:
    ada = make_user(unit, clock)

    with pytest.raises(InvalidCredentials):
        delete_account(session=unit, user=ada, password="Wrong-passw0rd!", limiter=limiter, now=clock.now())

    assert unit.get(User, ada.id) is not None


def test_deleting_removes_the_account_and_what_it_owns_and_anonymises_the_log(
    unit: Session, engine: Engine, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    ada = _busy_user(unit, clock, limiter)
    bob = make_user(unit, clock, "bob@example.com")
    ada_id = ada.id

    export = delete_account(session=unit, user=ada, password=PASSWORD, limiter=limiter, now=clock.now())
    unit.commit()

    assert export["user"]["email"] == "ada@example.com"
    with Session(engine) as fresh:
        assert fresh.get(User, ada_id) is None
        assert fresh.get(Profile, ada_id) is None
        for table in (AuthSession, PersonalAccessToken, EmailToken, Membership):
            assert (
                fresh.exec(select(func.count()).select_from(table).where(col(table.user_id) == ada_id)).one()
                == 0
            )
        assert (
            fresh.exec(select(func.count()).select_from(Organization)).one() == 0
        )  # Ada was its only member
        assert fresh.exec(select(func.count()).select_from(ApiClient)).one() == 0
        mentions = fresh.exec(
            select(AuditEvent).where(
                (col(AuditEvent.actor_id) == ada_id) | (col(AuditEvent.subject_id) == ada_id)
            )
        ).all()
        assert mentions == []
        deleted = fresh.exec(
            select(AuditEvent).where(col(AuditEvent.kind) == AuditKind.ACCOUNT_DELETED)
        ).one()
        assert deleted.detail == {"user_id": ada_id}
        assert fresh.get(User, bob.id) is not None


def test_the_last_owner_of_a_shared_organisation_must_hand_it_over_first(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    ada = make_user(unit, clock)
    bob = make_user(unit, clock, "bob@example.com")
    org = make_org(unit, clock, ada)
    add_member(unit, clock, org, by=ada, user=bob, role=Role.MEMBER)

    with pytest.raises(NotAllowed, match="last owner of Alpha Desk"):
        delete_account(session=unit, user=ada, password=PASSWORD, limiter=limiter, now=clock.now())
    unit.rollback()

    assert bob.id is not None
    change_role(session=unit, actor=ada, org=org, member_id=bob.id, role=Role.OWNER)
    delete_account(session=unit, user=ada, password=PASSWORD, limiter=limiter, now=clock.now())
    unit.commit()
    assert unit.get(Organization, org.id) is not None
    assert unit.exec(select(Membership.user_id)).all() == [bob.id]
