"""Sign-up, email verification, sign-in with throttling, and browser sessions — on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from quanta.accounts.errors import (
    AccountDisabled,
    Conflict,
    InvalidCredentials,
    InvalidToken,
    NotFound,
    PasswordPolicyError,
    Throttled,
    TokenExpired,
)
from quanta.accounts.events import AuditKind
from quanta.accounts.models import AuditEvent, AuthSession, Profile, SessionGrant, User, UserCreate
from quanta.accounts.service import (
    SESSION_IDLE_TIMEOUT,
    audit_log_for_user,
    list_sessions,
    resolve_session,
    revoke_session,
    rotate_session,
    send_email_verification,
    session_cookie,
    sign_in,
    sign_out,
    sign_up,
    verify_email,
)
from quanta.ratelimit import MemoryRateLimiter
from quanta.testing.clock import FakeClock
from tests.accounts.conftest import BASE_URL, PASSWORD, last_mail, mails_to, make_user, token_in


def _sign_in(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter, email: str, password: str, **kw: str
) -> SessionGrant:
    return sign_in(session=unit, email=email, password=password, limiter=limiter, now=clock.now(), **kw)


# ---- sign-up -------------------------------------------------------------------------------------------


def test_sign_up_stores_a_normalised_email_an_argon2_hash_and_a_private_username(
    unit: Session, clock: FakeClock
) -> None:
    user = sign_up(
        session=unit,
        user_in=UserCreate(email="  Ada@Example.COM ", password=PASSWORD),
        base_url=BASE_URL,
        now=clock.now(),
    )
    unit.commit()

    assert user is not None
    assert user.email == "ada@example.com"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert user.email_verified_at is None
    profile = unit.get(Profile, user.id)
    assert profile is not None
    assert profile.username.startswith("trader-")
    assert "ada" not in profile.username  # the public name does not leak the private address
    mail = last_mail(unit, "ada@example.com")
    assert mail.subject == "Confirm your email address"
    assert token_in(mail, "/verify-email")


def test_sign_up_refuses_a_weak_password_with_the_policy_messages(unit: Session, clock: FakeClock) -> None:
    with pytest.raises(PasswordPolicyError) as caught:
        sign_up(session=unit, user_in=UserCreate(email="ada@example.com", password="ada@example.com"))

    assert "Don't use your email address as your password." in caught.value.messages
    assert unit.exec(select(func.count()).select_from(User)).one() == 0


def test_signing_up_again_with_a_taken_email_creates_nothing_and_tells_the_owner(
    unit: Session, clock: FakeClock
) -> None:
    make_user(unit, clock)

    again = sign_up(
        session=unit,
        user_in=UserCreate(email="ADA@example.com", password="Another-Passw0rd"),
        base_url=BASE_URL,
        now=clock.now(),
    )

    assert again is None
    assert unit.exec(select(func.count()).select_from(User)).one() == 1
    assert last_mail(unit, "ada@example.com").subject == "You already have a Quanta account"


def test_the_verification_link_works_once(unit: Session, clock: FakeClock) -> None:
    user = make_user(unit, clock, verified=False)
    token = token_in(last_mail(unit, user.email), "/verify-email")

    verified = verify_email(session=unit, token=token, now=clock.now())

    assert verified.email_verified_at == clock.now()
    with pytest.raises(InvalidToken, match="already been used"):
        verify_email(session=unit, token=token, now=clock.now())
    assert AuditKind.EMAIL_VERIFIED in [e.kind for e in audit_log_for_user(session=unit, user=user)]


def test_the_verification_link_expires_after_48_hours(unit: Session, clock: FakeClock) -> None:
    user = make_user(unit, clock, verified=False)
    token = token_in(last_mail(unit, user.email), "/verify-email")
    clock.advance(hours=48)

    with pytest.raises(TokenExpired):
        verify_email(session=unit, token=token, now=clock.now())


def test_a_new_verification_link_replaces_the_old_one(unit: Session, clock: FakeClock) -> None:
    user = make_user(unit, clock, verified=False)
    old = token_in(last_mail(unit, user.email), "/verify-email")

    send_email_verification(session=unit, user=user, base_url=BASE_URL, now=clock.now())
    new = token_in(last_mail(unit, user.email), "/verify-email")

    with pytest.raises(InvalidToken):
        verify_email(session=unit, token=old, now=clock.now())
    assert verify_email(session=unit, token=new, now=clock.now()).id == user.id


@pytest.mark.parametrize("token", ["", "nope", "x" * 5000])
def test_unknown_verification_tokens_are_invalid(unit: Session, token: str) -> None:
    with pytest.raises(InvalidToken):
        verify_email(session=unit, token=token)


# ---- sign-in -------------------------------------------------------------------------------------------


def test_each_sign_in_issues_a_fresh_token_stored_only_as_its_hash(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)

    first = _sign_in(
        unit, clock, limiter, "Ada@Example.com", PASSWORD, ip="203.0.113.7", user_agent="Firefox"
    )
    second = _sign_in(unit, clock, limiter, "ada@example.com", PASSWORD)
    unit.commit()

    assert first.token != second.token
    assert len(first.token) >= 43
    assert first.auth_session.token_hash == hashlib.sha256(first.token.encode()).hexdigest()
    stored = unit.exec(select(AuthSession.token_hash)).all()
    assert first.token not in stored
    assert (first.auth_session.ip, first.auth_session.user_agent) == ("203.0.113.7", "Firefox")
    current = resolve_session(session=unit, token=first.token, now=clock.now())
    assert current is not None
    assert current.user.id == user.id


def test_wrong_password_and_unknown_account_get_the_same_error_and_both_are_audited(
    unit: Session, engine: Engine, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)

    with pytest.raises(InvalidCredentials) as wrong:
        _sign_in(unit, clock, limiter, user.email, "Wrong-passw0rd!", ip="198.51.100.1")
    with pytest.raises(InvalidCredentials) as unknown:
        _sign_in(unit, clock, limiter, "nobody@example.com", PASSWORD, ip="198.51.100.1")
    unit.rollback()  # what the caller's unit of work does on an error

    assert str(wrong.value) == str(unknown.value) == "Incorrect email or password."
    with Session(engine) as fresh:
        failed = fresh.exec(
            select(AuditEvent)
            .where(col(AuditEvent.kind) == AuditKind.SIGN_IN_FAILED)
            .order_by(col(AuditEvent.id))
        ).all()
    assert [(e.subject_id, e.ip, e.detail["reason"]) for e in failed] == [
        (user.id, "198.51.100.1", "wrong password"),
        (None, "198.51.100.1", "unknown account"),
    ]


def test_successful_sign_in_is_audited(unit: Session, clock: FakeClock, limiter: MemoryRateLimiter) -> None:
    user = make_user(unit, clock)

    _sign_in(unit, clock, limiter, user.email, PASSWORD, ip="203.0.113.7")

    event = audit_log_for_user(session=unit, user=user)[0]
    assert (event.kind, event.actor_id, event.ip) == (AuditKind.SIGNED_IN, user.id, "203.0.113.7")


def test_five_failures_throttle_the_account_for_15_minutes(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            _sign_in(unit, clock, limiter, user.email, "Wrong-passw0rd!")
        clock.advance(minutes=1)

    with pytest.raises(Throttled) as caught:
        _sign_in(unit, clock, limiter, user.email, PASSWORD)  # even the right password waits

    assert caught.value.retry_after == 10 * 60  # the window opened at the first failure
    assert str(caught.value) == "Too many attempts. Try again in 10 minutes."
    clock.advance(minutes=10)
    assert _sign_in(unit, clock, limiter, user.email, PASSWORD).user.id == user.id


def test_a_successful_sign_in_clears_the_account_failures(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            _sign_in(unit, clock, limiter, user.email, "Wrong-passw0rd!")
    _sign_in(unit, clock, limiter, user.email, PASSWORD)

    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            _sign_in(unit, clock, limiter, user.email, "Wrong-passw0rd!")

    assert _sign_in(unit, clock, limiter, user.email, PASSWORD).user.id == user.id


def test_twenty_failures_from_one_ip_throttle_that_ip_across_accounts(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)
    for n in range(20):
        with pytest.raises(InvalidCredentials):
            _sign_in(unit, clock, limiter, f"guess{n}@example.com", PASSWORD, ip="192.0.2.66")

    with pytest.raises(Throttled):
        _sign_in(unit, clock, limiter, user.email, PASSWORD, ip="192.0.2.66")
    assert _sign_in(unit, clock, limiter, user.email, PASSWORD, ip="192.0.2.1").user.id == user.id
    throttled = unit.exec(select(AuditEvent).where(col(AuditEvent.kind) == AuditKind.SIGN_IN_THROTTLED)).all()
    assert [e.ip for e in throttled] == ["192.0.2.66"]


@pytest.mark.redis
def test_sign_in_throttling_works_on_redis(unit: Session, clock: FakeClock, redis_url: str) -> None:
    from quanta.ratelimit import RedisRateLimiter

    shared = RedisRateLimiter.from_url(redis_url, prefix=f"t:{uuid.uuid4().hex}:")
    try:
        user = make_user(unit, clock)
        for _ in range(5):
            with pytest.raises(InvalidCredentials):
                sign_in(
                    session=unit,
                    email=user.email,
                    password="Wrong-passw0rd!",
                    limiter=shared,
                    now=clock.now(),
                )
        with pytest.raises(Throttled):
            sign_in(session=unit, email=user.email, password=PASSWORD, limiter=shared, now=clock.now())
    finally:
        shared.close()


def test_a_disabled_account_cannot_sign_in(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)
    grant = _sign_in(unit, clock, limiter, user.email, PASSWORD)
    user.disabled = True
    unit.add(user)
    unit.commit()

    with pytest.raises(AccountDisabled):
        _sign_in(unit, clock, limiter, user.email, PASSWORD)
    with pytest.raises(InvalidCredentials):
        _sign_in(unit, clock, limiter, user.email, "Wrong-passw0rd!")
    assert resolve_session(session=unit, token=grant.token, now=clock.now()) is None


# ---- sessions ------------------------------------------------------------------------------------------


def test_a_session_slides_while_used_and_expires_when_idle(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)
    grant = _sign_in(unit, clock, limiter, user.email, PASSWORD)

    clock.advance(days=6)
    used = resolve_session(session=unit, token=grant.token, now=clock.now())
    assert used is not None
    assert used.auth_session.last_seen_at == clock.now()
    assert used.auth_session.expires_at == clock.now() + SESSION_IDLE_TIMEOUT

    clock.advance(SESSION_IDLE_TIMEOUT)
    assert resolve_session(session=unit, token=grant.token, now=clock.now()) is None


def test_a_session_ends_30_days_after_sign_in_however_often_it_is_used(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)
    grant = _sign_in(unit, clock, limiter, user.email, PASSWORD)

    for _ in range(29):
        clock.advance(days=1)
        assert resolve_session(session=unit, token=grant.token, now=clock.now()) is not None
    clock.advance(days=1)

    assert resolve_session(session=unit, token=grant.token, now=clock.now()) is None


@pytest.mark.parametrize("token", ["", "not-a-session", "x" * 10_000])
def test_unknown_session_tokens_resolve_to_nobody(unit: Session, token: str) -> None:
    assert resolve_session(session=unit, token=token) is None


def test_sign_out_ends_the_session(unit: Session, clock: FakeClock, limiter: MemoryRateLimiter) -> None:
    user = make_user(unit, clock)
    grant = _sign_in(unit, clock, limiter, user.email, PASSWORD)

    sign_out(session=unit, token=grant.token, now=clock.now())
    sign_out(session=unit, token=grant.token, now=clock.now())  # twice is harmless

    assert resolve_session(session=unit, token=grant.token, now=clock.now()) is None
    kinds = [e.kind for e in audit_log_for_user(session=unit, user=user)]
    assert kinds.count(AuditKind.SIGNED_OUT) == 1


def test_rotating_a_session_replaces_its_token(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)
    old = _sign_in(unit, clock, limiter, user.email, PASSWORD, ip="203.0.113.7")

    new = rotate_session(session=unit, current=old.auth_session, now=clock.now())

    assert new.token != old.token
    assert resolve_session(session=unit, token=old.token, now=clock.now()) is None
    assert resolve_session(session=unit, token=new.token, now=clock.now()) is not None
    assert new.auth_session.ip == "203.0.113.7"
    with pytest.raises(InvalidToken):
        rotate_session(session=unit, current=old.auth_session, now=clock.now())


def test_people_list_and_revoke_only_their_own_sessions(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    ada = make_user(unit, clock)
    bob = make_user(unit, clock, "bob@example.com")
    ada_grant = _sign_in(unit, clock, limiter, ada.email, PASSWORD)
    _sign_in(unit, clock, limiter, bob.email, PASSWORD)

    assert [s.id for s in list_sessions(session=unit, user=ada, now=clock.now())] == [
        ada_grant.auth_session.id
    ]
    assert ada_grant.auth_session.id is not None
    with pytest.raises(NotFound):
        revoke_session(session=unit, user=bob, session_id=ada_grant.auth_session.id, now=clock.now())
    assert resolve_session(session=unit, token=ada_grant.token, now=clock.now()) is not None

    revoke_session(session=unit, user=ada, session_id=ada_grant.auth_session.id, now=clock.now())
    assert resolve_session(session=unit, token=ada_grant.token, now=clock.now()) is None
    assert list_sessions(session=unit, user=ada, now=clock.now()) == []


def test_sign_up_mails_only_the_new_address(unit: Session, clock: FakeClock) -> None:
    make_user(unit, clock, verified=False)

    assert [m.subject for m in mails_to(unit, "ada@example.com")] == ["Confirm your email address"]
    assert clock.now() - mails_to(unit, "ada@example.com")[0].created_at == timedelta(0)


def test_the_session_cookie_is_httponly_lax_and_host_only_over_https() -> None:
    cookie = session_cookie("t0k3n", secure=True)

    assert cookie == {
        "key": "__Host-quanta_session",
        "value": "t0k3n",
        "max_age": 30 * 24 * 3600,
        "path": "/",
        "secure": True,
        "httponly": True,
        "samesite": "lax",
    }
    assert session_cookie("t0k3n", secure=False)["key"] == "quanta_session"


def test_a_taken_username_is_refused_whether_or_not_the_address_has_an_account(
    unit: Session, clock: FakeClock
) -> None:
    make_user(unit, clock, username="ada")

    for email in ("ada@example.com", "someone-new@example.com"):
        with pytest.raises(Conflict, match="taken"):
            sign_up(session=unit, user_in=UserCreate(email=email, password=PASSWORD, username="ada"))
