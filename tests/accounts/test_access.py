"""Personal access tokens and API clients: secrets shown once and stored hashed, scopes, expiry,
and nobody reaching another person's tokens or another organisation's clients."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from quanta.accounts.errors import (
    InsufficientScope,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    NotAllowed,
    NotFound,
    TokenExpired,
)
from quanta.accounts.events import AuditKind
from quanta.accounts.models import (
    SCOPES,
    ApiClient,
    ApiClientCreate,
    ApiClientUpdate,
    PersonalAccessToken,
    PersonalAccessTokenCreate,
    Role,
)
from quanta.accounts.service import (
    api_client_by_client_id,
    audit_log_for_org,
    audit_log_for_user,
    authenticate_api_client,
    create_personal_access_token,
    list_api_clients,
    list_personal_access_tokens,
    register_api_client,
    revoke_api_client,
    revoke_personal_access_token,
    rotate_api_client_secret,
    update_api_client,
    verify_personal_access_token,
)
from quanta.testing.clock import FakeClock
from tests.accounts.conftest import add_member, make_org, make_user

READ = PersonalAccessTokenCreate(name="laptop", scopes=["market:read", "backtests:read"])
WEB_APP = ApiClientCreate(
    name="Dashboard",
    redirect_uris=["https://dash.example.org/callback", "http://localhost:8000/cb"],
    scopes=["market:read", "profile:read"],
    grant_types=["authorization_code", "refresh_token"],
)


def test_the_documented_scopes() -> None:
    assert list(SCOPES) == [
        "market:read",
        "backtests:run",
        "backtests:read",
        "strategies:read",
        "strategies:write",
        "profile:read",
        "org:admin",
    ]


# ---- personal access tokens ----------------------------------------------------------------------------


def test_a_new_token_is_shown_once_and_stored_as_its_sha256(unit: Session, clock: FakeClock) -> None:
    ada = make_user(unit, clock)

    issued = create_personal_access_token(session=unit, user=ada, token_in=READ, now=clock.now())
    unit.commit()

    assert issued.secret.startswith("qnt_pat_")
    assert len(issued.secret) >= len("qnt_pat_") + 43
    row = unit.exec(select(PersonalAccessToken)).one()
    assert row.token_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret not in row.model_dump_json()
    assert row.prefix == issued.secret[:12]
    assert row.scopes == ["market:read", "backtests:read"]
    assert row.expires_at == clock.now() + timedelta(days=90)
    event = audit_log_for_user(session=unit, user=ada)[0]
    assert (event.kind, event.detail["name"]) == (AuditKind.TOKEN_CREATED, "laptop")


def test_a_token_identifies_its_user_and_scopes_and_notes_its_use(unit: Session, clock: FakeClock) -> None:
    ada = make_user(unit, clock)
    issued = create_personal_access_token(session=unit, user=ada, token_in=READ, now=clock.now())
    clock.advance(minutes=5)

    identity = verify_personal_access_token(session=unit, token=issued.secret, now=clock.now())

    assert identity.user.id == ada.id
    assert identity.scopes == {"market:read", "backtests:read"}
    assert identity.token.last_used_at == clock.now()
    identity.require("market:read")
    with pytest.raises(InsufficientScope, match="strategies:write"):
        identity.require("market:read", "strategies:write")


def test_a_token_expires(unit: Session, clock: FakeClock) -> None:
    ada = make_user(unit, clock)
    issued = create_personal_access_token(
        session=unit,
        user=ada,
        token_in=PersonalAccessTokenCreate(name="ci", scopes=["backtests:run"], expires_in_days=30),
        now=clock.now(),
    )
    clock.advance(days=29, hours=23)
    verify_personal_access_token(session=unit, token=issued.secret, now=clock.now())
    clock.advance(hours=1)

    with pytest.raises(TokenExpired):
        verify_personal_access_token(session=unit, token=issued.secret, now=clock.now())


def test_a_token_without_expiry_keeps_working(unit: Session, clock: FakeClock) -> None:
    ada = make_user(unit, clock)
    forever = PersonalAccessTokenCreate(name="server", scopes=["market:read"], expires_in_days=None)
    issued = create_personal_access_token(session=unit, user=ada, token_in=forever, now=clock.now())
    clock.advance(days=3650)

    assert verify_personal_access_token(session=unit, token=issued.secret, now=clock.now()).user.id == ada.id


@pytest.mark.parametrize("token", ["", "qnt_pat_", "qnt_pat_nope", "Bearer x", "qnt_pat_" + "x" * 500])
def test_unknown_tokens_are_invalid(unit: Session, token: str) -> None:
    with pytest.raises(InvalidToken):
        verify_personal_access_token(session=unit, token=token)


def test_unknown_scopes_are_refused(unit: Session, clock: FakeClock) -> None:
    ada = make_user(unit, clock)

    with pytest.raises(InvalidInput, match="Unknown scope"):
        create_personal_access_token(
            session=unit, user=ada, token_in=PersonalAccessTokenCreate(name="x", scopes=["root:all"])
        )
    with pytest.raises(InvalidInput, match="at least one scope"):
        create_personal_access_token(session=unit, user=ada, token_in=PersonalAccessTokenCreate(name="x"))


def test_a_revoked_token_stops_working_and_the_revocation_is_audited(unit: Session, clock: FakeClock) -> None:
    ada = make_user(unit, clock)
    issued = create_personal_access_token(session=unit, user=ada, token_in=READ, now=clock.now())
    assert issued.token.id is not None

    revoke_personal_access_token(session=unit, user=ada, token_id=issued.token.id, now=clock.now())

    with pytest.raises(InvalidToken):
        verify_personal_access_token(session=unit, token=issued.secret, now=clock.now())
    event = audit_log_for_user(session=unit, user=ada)[0]
    assert (event.kind, event.detail["token_id"]) == (AuditKind.TOKEN_REVOKED, issued.token.id)


def test_nobody_lists_or_revokes_someone_elses_tokens(unit: Session, clock: FakeClock) -> None:
    ada = make_user(unit, clock)
    bob = make_user(unit, clock, "bob@example.com")
    issued = create_personal_access_token(session=unit, user=ada, token_in=READ, now=clock.now())
    assert issued.token.id is not None

    assert list_personal_access_tokens(session=unit, user=bob) == []
    with pytest.raises(NotFound):
        revoke_personal_access_token(session=unit, user=bob, token_id=issued.token.id)

    assert verify_personal_access_token(session=unit, token=issued.secret, now=clock.now()).user.id == ada.id
    assert [t.id for t in list_personal_access_tokens(session=unit, user=ada)] == [issued.token.id]


def test_a_disabled_users_tokens_stop_working(unit: Session, clock: FakeClock) -> None:
    ada = make_user(unit, clock)
    issued = create_personal_access_token(session=unit, user=ada, token_in=READ)
    ada.disabled = True
    unit.add(ada)

    with pytest.raises(InvalidToken):
        verify_personal_access_token(session=unit, token=issued.secret)


# ---- API clients ---------------------------------------------------------------------------------------


def test_an_admin_registers_a_client_whose_secret_is_shown_once(unit: Session, clock: FakeClock) -> None:
    owner = make_user(unit, clock, "owner@example.com")
    admin = make_user(unit, clock, "admin@example.com")
    org = make_org(unit, clock, owner)
    add_member(unit, clock, org, by=owner, user=admin, role=Role.ADMIN)

    issued = register_api_client(session=unit, actor=admin, org=org, client_in=WEB_APP, now=clock.now())
    unit.commit()

    row = unit.exec(select(ApiClient)).one()
    assert issued.secret.startswith("qnt_cs_")
    assert row.client_id.startswith("qnt_ci_")
    assert row.client_secret_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret not in row.model_dump_json()
    assert (row.org_id, row.created_by_id) == (org.id, admin.id)
    assert row.check_redirect_uri("https://dash.example.org/callback")
    assert not row.check_redirect_uri("https://dash.example.org/callback/../evil")
    assert row.check_grant_type("refresh_token")
    assert not row.check_grant_type("client_credentials")
    assert row.allowed_scopes({"market:read", "org:admin"}) == {"market:read"}
    assert (
        authenticate_api_client(session=unit, client_id=row.client_id, client_secret=issued.secret).id
        == row.id
    )
    event = audit_log_for_org(session=unit, actor=owner, org=org)[0]
    assert (event.kind, event.detail["client_id"]) == (AuditKind.API_CLIENT_REGISTERED, row.client_id)


def test_members_and_outsiders_cannot_register_list_or_change_clients(
    unit: Session, clock: FakeClock
) -> None:
    owner = make_user(unit, clock, "owner@example.com")
    member = make_user(unit, clock, "member@example.com")
    outsider = make_user(unit, clock, "outsider@example.com")
    org = make_org(unit, clock, owner)
    add_member(unit, clock, org, by=owner, user=member, role=Role.MEMBER)
    client_id = register_api_client(session=unit, actor=owner, org=org, client_in=WEB_APP).client.client_id

    for actor in (member, outsider):
        with pytest.raises(NotAllowed):
            register_api_client(session=unit, actor=actor, org=org, client_in=WEB_APP)
        with pytest.raises(NotAllowed):
            list_api_clients(session=unit, actor=actor, org=org)
        with pytest.raises(NotAllowed):
            rotate_api_client_secret(session=unit, actor=actor, org=org, client_id=client_id)
        with pytest.raises(NotAllowed):
            revoke_api_client(session=unit, actor=actor, org=org, client_id=client_id)


def test_an_owner_cannot_reach_another_organisations_client_through_their_own(
    unit: Session, clock: FakeClock
) -> None:
    ada = make_user(unit, clock)
    bob = make_user(unit, clock, "bob@example.com")
    ada_org = make_org(unit, clock, ada, "Ada Desk")
    bob_org = make_org(unit, clock, bob, "Bob Desk")
    bobs = register_api_client(session=unit, actor=bob, org=bob_org, client_in=WEB_APP).client

    with pytest.raises(NotFound):
        revoke_api_client(session=unit, actor=ada, org=ada_org, client_id=bobs.client_id)
    with pytest.raises(NotFound):
        rotate_api_client_secret(session=unit, actor=ada, org=ada_org, client_id=bobs.client_id)
    with pytest.raises(NotFound):
        update_api_client(
            session=unit,
            actor=ada,
            org=ada_org,
            client_id=bobs.client_id,
            client_in=ApiClientUpdate(name="x"),
        )
    assert list_api_clients(session=unit, actor=ada, org=ada_org) == []
    assert bobs.revoked_at is None


def test_rotating_the_secret_retires_the_old_one(unit: Session, clock: FakeClock) -> None:
    owner = make_user(unit, clock)
    org = make_org(unit, clock, owner)
    first = register_api_client(session=unit, actor=owner, org=org, client_in=WEB_APP)

    second = rotate_api_client_secret(session=unit, actor=owner, org=org, client_id=first.client.client_id)

    client_id = first.client.client_id
    with pytest.raises(InvalidCredentials):
        authenticate_api_client(session=unit, client_id=client_id, client_secret=first.secret)
    assert authenticate_api_client(session=unit, client_id=client_id, client_secret=second.secret)


def test_a_revoked_client_cannot_authenticate(unit: Session, clock: FakeClock) -> None:
    owner = make_user(unit, clock)
    org = make_org(unit, clock, owner)
    issued = register_api_client(session=unit, actor=owner, org=org, client_in=WEB_APP)
    client_id = issued.client.client_id

    revoke_api_client(session=unit, actor=owner, org=org, client_id=client_id, now=clock.now())

    with pytest.raises(InvalidCredentials):
        authenticate_api_client(session=unit, client_id=client_id, client_secret=issued.secret)
    with pytest.raises(NotFound):
        api_client_by_client_id(session=unit, client_id=client_id)
    with pytest.raises(InvalidCredentials):
        authenticate_api_client(session=unit, client_id="qnt_ci_unknown", client_secret=issued.secret)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"redirect_uris": ["http://dash.example.org/cb"]}, "redirect_uris"),
        ({"redirect_uris": ["https://dash.example.org/cb#frag"]}, "redirect_uris"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"grant_types": ["password"]}, "grant_types"),
        ({"grant_types": ["refresh_token"]}, "grant_types"),
        ({"scopes": ["everything"]}, "scopes"),
    ],
)
def test_client_settings_are_checked(
    unit: Session, clock: FakeClock, change: dict[str, list[str]], field: str
) -> None:
    owner = make_user(unit, clock)
    org = make_org(unit, clock, owner)

    with pytest.raises(InvalidInput) as caught:
        register_api_client(session=unit, actor=owner, org=org, client_in=WEB_APP.model_copy(update=change))

    assert caught.value.field == field


def test_a_machine_client_needs_no_redirect_uri_and_can_be_updated(unit: Session, clock: FakeClock) -> None:
    owner = make_user(unit, clock)
    org = make_org(unit, clock, owner)
    machine = ApiClientCreate(name="Nightly", scopes=["backtests:run"], grant_types=["client_credentials"])
    client = register_api_client(session=unit, actor=owner, org=org, client_in=machine).client

    updated = update_api_client(
        session=unit,
        actor=owner,
        org=org,
        client_id=client.client_id,
        client_in=ApiClientUpdate(name="Nightly runs", scopes=["backtests:run", "backtests:read"]),
    )

    assert (updated.name, updated.scopes, updated.redirect_uris) == (
        "Nightly runs",
        ["backtests:run", "backtests:read"],
        [],
    )
