"""Password reset and change, and moving an account to a new email address."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, func, select

from quanta.accounts.errors import (
    Conflict,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    PasswordPolicyError,
    Throttled,
    TokenExpired,
)
from quanta.accounts.events import AuditKind
from quanta.accounts.models import AuditEvent, User
from quanta.accounts.service import (
    audit_log_for_user,
    change_email,
    change_password,
    request_password_reset,
    reset_password,
    resolve_session,
    sign_in,
    verify_email,
)
from quanta.ratelimit import MemoryRateLimiter
from quanta.testing.clock import FakeClock
from tests.accounts.conftest import BASE_URL, PASSWORD, last_mail, mails_to, make_user, token_in

NEW_PASSWORD = "Quiet-river-at-7am"


def _request_reset(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter, email: str, **kw: str
) -> None:
    request_password_reset(
        session=unit, email=email, limiter=limiter, base_url=BASE_URL, now=clock.now(), **kw
    )


# ---- reset ---------------------------------------------------------------------------------------------


def test_a_reset_link_sets_a_new_password_once_and_signs_out_everywhere(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)
    grant = sign_in(session=unit, email=user.email, password=PASSWORD, limiter=limiter, now=clock.now())
    _request_reset(unit, clock, limiter, "ADA@example.com")
    token = token_in(last_mail(unit, user.email), "/reset-password")

    reset_password(session=unit, token=token, new_password=NEW_PASSWORD, now=clock.now())
    unit.commit()

    assert resolve_session(session=unit, token=grant.token, now=clock.now()) is None
    with pytest.raises(InvalidCredentials):
        sign_in(session=unit, email=user.email, password=PASSWORD, limiter=limiter, now=clock.now())
    assert sign_in(session=unit, email=user.email, password=NEW_PASSWORD, limiter=limiter, now=clock.now())
    with pytest.raises(InvalidToken, match="already been used"):
        reset_password(session=unit, token=token, new_password="Yet-another-0ne", now=clock.now())
    assert last_mail(unit, user.email).subject == "Your password was changed"
    kinds = [e.kind for e in audit_log_for_user(session=unit, user=user)]
    assert {AuditKind.PASSWORD_RESET_REQUESTED, AuditKind.PASSWORD_RESET, AuditKind.SESSIONS_REVOKED} <= set(
        kinds
    )


def test_a_reset_link_expires_after_an_hour(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)
    _request_reset(unit, clock, limiter, user.email)
    token = token_in(last_mail(unit, user.email), "/reset-password")
    clock.advance(minutes=61)

    with pytest.raises(TokenExpired):
        reset_password(session=unit, token=token, new_password=NEW_PASSWORD, now=clock.now())


def test_a_weak_new_password_keeps_the_reset_link_usable(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)
    _request_reset(unit, clock, limiter, user.email)
    token = token_in(last_mail(unit, user.email), "/reset-password")

    with pytest.raises(PasswordPolicyError, match="at least 12 characters"):
        reset_password(session=unit, token=token, new_password="short", now=clock.now())

    assert reset_password(session=unit, token=token, new_password=NEW_PASSWORD, now=clock.now()).id == user.id


def test_a_reset_for_an_unknown_address_answers_the_same_and_sends_nothing(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    _request_reset(unit, clock, limiter, "nobody@example.com")

    assert mails_to(unit, "nobody@example.com") == []


def test_reset_requests_are_throttled_per_address_whether_or_not_it_has_an_account(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)
    for address in (user.email, "nobody@example.com"):
        for _ in range(3):
            _request_reset(unit, clock, limiter, address)
        with pytest.raises(Throttled):
            _request_reset(unit, clock, limiter, address)

    clock.advance(hours=1)
    _request_reset(unit, clock, limiter, user.email)


def test_reset_requests_are_throttled_per_ip(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    for n in range(10):
        _request_reset(unit, clock, limiter, f"guess{n}@example.com", ip="192.0.2.9")

    with pytest.raises(Throttled):
        _request_reset(unit, clock, limiter, "guess-more@example.com", ip="192.0.2.9")


def test_only_the_newest_reset_link_works(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)
    _request_reset(unit, clock, limiter, user.email)
    _request_reset(unit, clock, limiter, user.email)
    older, newer = (token_in(m, "/reset-password") for m in mails_to(unit, user.email)[-2:])

    with pytest.raises(InvalidToken):
        reset_password(session=unit, token=older, new_password=NEW_PASSWORD, now=clock.now())
    assert reset_password(session=unit, token=newer, new_password=NEW_PASSWORD, now=clock.now()).id == user.id


# ---- change password -----------------------------------------------------------------------------------


def test_changing_the_password_needs_the_current_one(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)

    with pytest.raises(InvalidCredentials, match="Your password is incorrect"):
        change_password(
            session=unit,
            user=user,
            current_password="Wrong-passw0rd!",
            new_password=NEW_PASSWORD,
            limiter=limiter,
            now=clock.now(),
        )
    with pytest.raises(PasswordPolicyError, match="different from your current one"):
        change_password(
            session=unit,
            user=user,
            current_password=PASSWORD,
            new_password=PASSWORD,
            limiter=limiter,
            now=clock.now(),
        )


def test_wrong_current_passwords_are_throttled(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            change_password(
                session=unit,
                user=user,
                current_password="Wrong-passw0rd!",
                new_password=NEW_PASSWORD,
                limiter=limiter,
                now=clock.now(),
            )

    with pytest.raises(Throttled):
        change_password(
            session=unit,
            user=user,
            current_password=PASSWORD,
            new_password=NEW_PASSWORD,
            limiter=limiter,
            now=clock.now(),
        )


def test_changing_the_password_rotates_this_session_and_ends_the_others(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)
    here = sign_in(session=unit, email=user.email, password=PASSWORD, limiter=limiter, now=clock.now())
    elsewhere = sign_in(session=unit, email=user.email, password=PASSWORD, limiter=limiter, now=clock.now())

    fresh = change_password(
        session=unit,
        user=user,
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        current=here.auth_session,
        limiter=limiter,
        now=clock.now(),
    )
    unit.commit()

    assert fresh is not None
    assert fresh.token not in {here.token, elsewhere.token}
    assert resolve_session(session=unit, token=here.token, now=clock.now()) is None
    assert resolve_session(session=unit, token=elsewhere.token, now=clock.now()) is None
    assert resolve_session(session=unit, token=fresh.token, now=clock.now()) is not None
    assert AuditKind.PASSWORD_CHANGED in [e.kind for e in audit_log_for_user(session=unit, user=user)]


# ---- change email --------------------------------------------------------------------------------------


def test_an_email_change_happens_when_the_new_address_confirms_it(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)

    change_email(
        session=unit,
        user=user,
        password=PASSWORD,
        new_email="Ada.Lovelace@Example.org",
        limiter=limiter,
        base_url=BASE_URL,
        now=clock.now(),
    )
    assert user.email == "ada@example.com"  # nothing changes before confirmation
    assert last_mail(unit, "ada@example.com").subject == "Your email address is being changed"
    assert "a***@example.org" in last_mail(unit, "ada@example.com").body
    token = token_in(last_mail(unit, "ada.lovelace@example.org"), "/verify-email")
    clock.advance(hours=1)
    moved = verify_email(session=unit, token=token, now=clock.now())
    unit.commit()

    assert moved.email == "ada.lovelace@example.org"
    assert moved.email_verified_at == clock.now()
    assert sign_in(session=unit, email="ada.lovelace@example.org", password=PASSWORD, limiter=limiter)
    kinds = [e.kind for e in audit_log_for_user(session=unit, user=user)]
    assert AuditKind.EMAIL_CHANGED in kinds


def test_an_email_change_needs_the_password(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    user = make_user(unit, clock)

    with pytest.raises(InvalidCredentials):
        change_email(
            session=unit, user=user, password="Wrong-passw0rd!", new_email="new@example.org", limiter=limiter
        )
    with pytest.raises(InvalidInput, match="already your email"):
        change_email(session=unit, user=user, password=PASSWORD, new_email="ADA@example.com", limiter=limiter)
    with pytest.raises(InvalidInput, match="valid email"):
        change_email(session=unit, user=user, password=PASSWORD, new_email="not-an-address", limiter=limiter)


def test_moving_to_a_taken_address_tells_its_owner_and_changes_nothing(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    ada = make_user(unit, clock)
    make_user(unit, clock, "bob@example.com")

    change_email(
        session=unit,
        user=ada,
        password=PASSWORD,
        new_email="bob@example.com",
        limiter=limiter,
        base_url=BASE_URL,
    )

    assert last_mail(unit, "bob@example.com").subject == "You already have a Quanta account"
    assert "/verify-email" not in last_mail(unit, "bob@example.com").body
    assert ada.email == "ada@example.com"


def test_an_address_taken_before_confirmation_is_refused(
    unit: Session, clock: FakeClock, limiter: MemoryRateLimiter
) -> None:
    ada = make_user(unit, clock)
    change_email(
        session=unit,
        user=ada,
        password=PASSWORD,
        new_email="new@example.org",
        limiter=limiter,
        base_url=BASE_URL,
    )
    token = token_in(last_mail(unit, "new@example.org"), "/verify-email")
    make_user(unit, clock, "new@example.org", verified=False)

    with pytest.raises(Conflict):
        verify_email(session=unit, token=token, now=clock.now())
    unit.rollback()
    assert (
        unit.exec(select(func.count()).select_from(User).where(col(User.email) == "new@example.org")).one()
        == 1
    )
    assert unit.exec(select(func.count()).select_from(AuditEvent)).one() > 0
