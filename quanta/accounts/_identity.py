"""Who you are: sign-up, email verification, sign-in and browser sessions, passwords and email changes.

Browser sessions are opaque random tokens kept in a cookie; the database keeps their SHA-256 only. Every
sign-in issues a fresh token (no session fixation), and password changes revoke every session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NoReturn

from sqlmodel import Session, col, select, update

from quanta.accounts import _mails
from quanta.accounts._profiles import check_username, create_profile
from quanta.accounts._support import (
    app_url,
    current_time,
    hashes_match,
    link,
    new_token,
    normalize_email,
    record,
    token_hash,
    user_id,
)
from quanta.accounts.errors import (
    AccountDisabled,
    Conflict,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    NotFound,
    PasswordPolicyError,
    Throttled,
    TokenExpired,
)
from quanta.accounts.events import AuditKind
from quanta.accounts.models import (
    AuthSession,
    CurrentSession,
    EmailPurpose,
    EmailToken,
    SessionGrant,
    User,
    UserCreate,
)
from quanta.accounts.passwords import (
    burn_verification,
    check_password,
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from quanta.ratelimit import Quota, RateLimiter, limiter_for

SESSION_IDLE_TIMEOUT = timedelta(days=7)
"""A session unused this long expires; each use pushes expiry forward (sliding)."""
SESSION_MAX_AGE = timedelta(days=30)
"""No session lives longer than this, however often it is used."""
SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
"""``last_seen_at`` is written at most this often per session."""
VERIFY_EMAIL_TTL = timedelta(hours=48)
RESET_PASSWORD_TTL = timedelta(hours=1)
CHANGE_EMAIL_TTL = timedelta(hours=24)

SIGN_IN_ACCOUNT_QUOTA = Quota(limit=5, window=timedelta(minutes=15))
"""Failed sign-ins per account before it is throttled."""
SIGN_IN_IP_QUOTA = Quota(limit=20, window=timedelta(minutes=15))
"""Failed sign-ins per client IP address before it is throttled."""
RESET_EMAIL_QUOTA = Quota(limit=3, window=timedelta(hours=1))
"""Password-reset emails per address."""
RESET_IP_QUOTA = Quota(limit=10, window=timedelta(hours=1))
"""Password-reset requests per client IP address."""
REAUTH_QUOTA = Quota(limit=5, window=timedelta(minutes=15))
"""Wrong current passwords (for a password, email or deletion change) per account."""

SESSION_COOKIE = "quanta_session"
"""The session cookie's name over plain http (local development)."""
SECURE_SESSION_COOKIE = "__Host-quanta_session"
"""Its name over https: the ``__Host-`` prefix makes browsers insist on Secure, Path=/ and no Domain."""


def session_token_in(cookies: Mapping[str, str]) -> str | None:
    """The session token among a request's cookies: the ``__Host-`` one first, so a session set over
    https by another endpoint (the OIDC login) is found too; None without one."""
    return cookies.get(SECURE_SESSION_COOKIE) or cookies.get(SESSION_COOKIE) or None


_MAX_TOKEN = 128


# ---- sign-up and email verification --------------------------------------------------------------------


def sign_up(
    *,
    session: Session,
    user_in: UserCreate,
    ip: str | None = None,
    base_url: str | None = None,
    now: datetime | None = None,
) -> User | None:
    """Create an account and email a verification link; return the new user.

    If the address already has an account nothing is created: its owner gets an email saying so and
    this returns None. Show the same "check your inbox" page either way, so sign-up does not reveal
    which addresses have accounts. Raises ``PasswordPolicyError``, ``InvalidInput`` or ``Conflict``
    (username taken).
    """
    now = current_time(now)
    email = normalize_email(user_in.email)
    check_password(user_in.password, email=email)
    # Checked before the address, so a taken username cannot hint whether the address has an account.
    username = check_username(session, user_in.username) if user_in.username is not None else None
    password_hash = hash_password(user_in.password)  # also when the account exists: same timing
    if user_by_email(session, email) is not None:
        reset_url = app_url("/reset-password", base_url)
        _mails.already_registered(session, to=email, reset_url=reset_url, now=now)
        return None
    user = User(email=email, password_hash=password_hash, created_at=now)
    session.add(user)
    session.flush()
    create_profile(session, user, username=username, now=now)
    record(session, AuditKind.SIGNED_UP, now=now, actor_id=user.id, ip=ip)
    send_email_verification(session=session, user=user, base_url=base_url, now=now)
    return user


def send_email_verification(
    *, session: Session, user: User, base_url: str | None = None, now: datetime | None = None
) -> None:
    """Email a fresh verification link (earlier links stop working); nothing if already verified."""
    if user.email_verified_at is not None:
        return
    now = current_time(now)
    token = _issue_email_token(session, user, EmailPurpose.VERIFY_EMAIL, ttl=VERIFY_EMAIL_TTL, now=now)
    url = link("/verify-email", token, base_url)
    _mails.verify_email(session, to=user.email, url=url, ttl=VERIFY_EMAIL_TTL, now=now)


def verify_email(*, session: Session, token: str, now: datetime | None = None) -> User:
    """Use an emailed verification link: mark the address verified, or move the account to a new one.

    Raises ``InvalidToken`` (unknown or used), ``TokenExpired`` or ``Conflict`` (the new address was taken
    in the meantime).
    """
    now = current_time(now)
    row = _find_email_token(session, token, {EmailPurpose.VERIFY_EMAIL, EmailPurpose.CHANGE_EMAIL}, now)
    user = _user_of(session, row)
    if row.purpose is EmailPurpose.CHANGE_EMAIL and row.new_email is not None:
        _move_to(session, user, row.new_email, now)
    row.used_at = now
    user.email_verified_at = now
    session.add_all([row, user])
    record(session, AuditKind.EMAIL_VERIFIED, now=now, actor_id=user.id)
    session.flush()
    return user


def _move_to(session: Session, user: User, new_email: str, now: datetime) -> None:
    if user_by_email(session, new_email) is not None:
        msg = "That email address now belongs to another account."
        raise Conflict(msg)
    record(session, AuditKind.EMAIL_CHANGED, now=now, actor_id=user.id)
    user.email = new_email


# ---- sign-in and sessions ------------------------------------------------------------------------------


def session_cookie(token: str, *, secure: bool) -> dict[str, Any]:
    """Keyword arguments for Starlette's ``response.set_cookie`` that carry a session token.

    HttpOnly (no script reads it), SameSite=Lax (not sent on cross-site subrequests and posts), Secure
    and ``__Host-`` prefixed unless ``secure=False`` (http://localhost only), and no longer-lived than
    the session itself.
    """
    return {
        "key": SECURE_SESSION_COOKIE if secure else SESSION_COOKIE,
        "value": token,
        "max_age": int(SESSION_MAX_AGE.total_seconds()),
        "path": "/",
        "secure": secure,
        "httponly": True,
        "samesite": "lax",
    }


def sign_in(
    *,
    session: Session,
    email: str,
    password: str,
    ip: str | None = None,
    user_agent: str | None = None,
    limiter: RateLimiter | None = None,
    now: datetime | None = None,
) -> SessionGrant:
    """Check the credentials and open a new browser session (always a fresh token).

    Failures count against the account and the IP address (``SIGN_IN_ACCOUNT_QUOTA``,
    ``SIGN_IN_IP_QUOTA``); past either, ``Throttled`` is raised without checking the password. A failed
    or throttled attempt is audited and **committed** before the error is raised, so the caller's
    rollback cannot erase it. Unknown accounts take as long as known ones and get the same
    ``InvalidCredentials`` message.
    """
    now = current_time(now)
    limiter = limiter or limiter_for()
    address = email.strip().lower()
    keys = _sign_in_keys(address, ip)
    _refuse_if_throttled(session, limiter, keys, ip=ip, now=now)
    user = user_by_email(session, address)
    if user is None or not _password_matches(user, password):
        _fail_sign_in(session, limiter, keys, user=user, ip=ip, now=now)
    if user.disabled:
        raise AccountDisabled
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    limiter.reset(keys[0][0])
    grant = _open_session(session, user, ip=ip, user_agent=user_agent, now=now)
    record(session, AuditKind.SIGNED_IN, now=now, actor_id=user.id, ip=ip)
    return grant


def _sign_in_keys(address: str, ip: str | None) -> list[tuple[str, Quota]]:
    """The throttling keys of one attempt: the account's first (hashed: no addresses in Redis)."""
    keys = [(f"sign-in:account:{token_hash(address)[:32]}", SIGN_IN_ACCOUNT_QUOTA)]
    if ip:
        keys.append((f"sign-in:ip:{ip}", SIGN_IN_IP_QUOTA))
    return keys


def _password_matches(user: User | None, password: str) -> bool:
    """Check the password; for no user, spend the same time and say no."""
    if user is None:
        burn_verification(password)
        return False
    return verify_password(user.password_hash, password)


def _refuse_if_throttled(
    session: Session, limiter: RateLimiter, keys: list[tuple[str, Quota]], *, ip: str | None, now: datetime
) -> None:
    refused = [d for d in (limiter.peek(key, quota, now=now) for key, quota in keys) if not d.allowed]
    if refused:
        retry_after = max(d.retry_after for d in refused)
        record(session, AuditKind.SIGN_IN_THROTTLED, now=now, ip=ip, detail={"retry_after": retry_after})
        session.commit()
        raise Throttled(retry_after)


def _fail_sign_in(
    session: Session,
    limiter: RateLimiter,
    keys: list[tuple[str, Quota]],
    *,
    user: User | None,
    ip: str | None,
    now: datetime,
) -> NoReturn:
    for key, quota in keys:
        limiter.hit(key, quota, now=now)
    reason = "unknown account" if user is None else "wrong password"
    subject = user.id if user is not None else None
    record(session, AuditKind.SIGN_IN_FAILED, now=now, subject_id=subject, ip=ip, detail={"reason": reason})
    session.commit()
    raise InvalidCredentials


def _open_session(
    session: Session, user: User, *, ip: str | None, user_agent: str | None, now: datetime
) -> SessionGrant:
    token = new_token()
    row = AuthSession(
        user_id=user_id(user),
        token_hash=token_hash(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + min(SESSION_IDLE_TIMEOUT, SESSION_MAX_AGE),
        ip=ip[:45] if ip else None,
        user_agent=user_agent[:400] if user_agent else None,
    )
    session.add(row)
    session.flush()
    return SessionGrant(user=user, auth_session=row, token=token)


def resolve_session(*, session: Session, token: str, now: datetime | None = None) -> CurrentSession | None:
    """The session and user behind a cookie's token, or None (unknown, expired, revoked, disabled user).

    A valid session slides: its expiry moves to ``SESSION_IDLE_TIMEOUT`` after now, capped at
    ``SESSION_MAX_AGE`` after sign-in.
    """
    now = current_time(now)
    row = _session_by_token(session, token)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    if now - row.last_seen_at >= SESSION_TOUCH_INTERVAL:
        row.last_seen_at = now
        row.expires_at = min(now + SESSION_IDLE_TIMEOUT, row.created_at + SESSION_MAX_AGE)
        session.add(row)
        session.flush()
    return CurrentSession(user=user, auth_session=row)


def sign_out(*, session: Session, token: str, now: datetime | None = None) -> None:
    """Revoke the session of ``token`` (nothing happens for an unknown token)."""
    now = current_time(now)
    row = _session_by_token(session, token)
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = now
    session.add(row)
    record(session, AuditKind.SIGNED_OUT, now=now, actor_id=row.user_id, ip=row.ip)
    session.flush()


def rotate_session(*, session: Session, current: AuthSession, now: datetime | None = None) -> SessionGrant:
    """Replace ``current`` with a fresh token (after a change of privilege); the old token stops working."""
    now = current_time(now)
    user = session.get(User, current.user_id)
    if user is None or current.revoked_at is not None:
        raise InvalidToken("This session has ended. Sign in again.")
    current.revoked_at = now
    session.add(current)
    grant = _open_session(session, user, ip=current.ip, user_agent=current.user_agent, now=now)
    record(session, AuditKind.SESSION_ROTATED, now=now, actor_id=user.id, ip=current.ip)
    return grant


def list_sessions(*, session: Session, user: User, now: datetime | None = None) -> list[AuthSession]:
    """The user's live sessions, most recently used first."""
    now = current_time(now)
    query = (
        select(AuthSession)
        .where(
            col(AuthSession.user_id) == user_id(user),
            col(AuthSession.revoked_at).is_(None),
            col(AuthSession.expires_at) > now,
        )
        .order_by(col(AuthSession.last_seen_at).desc(), col(AuthSession.id).desc())
    )
    return list(session.exec(query))


def revoke_session(*, session: Session, user: User, session_id: int, now: datetime | None = None) -> None:
    """Sign out one of the user's own sessions ("sign out that browser")."""
    now = current_time(now)
    row = session.get(AuthSession, session_id)
    if row is None or row.user_id != user.id:
        raise NotFound("No such session.")
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        record(session, AuditKind.SIGNED_OUT, now=now, actor_id=user.id, detail={"session_id": session_id})
        session.flush()


def revoke_all_sessions(*, session: Session, user: User, now: datetime | None = None) -> int:
    """Sign out every browser of the user; return how many sessions ended."""
    now = current_time(now)
    result = session.exec(
        update(AuthSession)
        .where(col(AuthSession.user_id) == user_id(user), col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    ended = int(result.rowcount)
    record(session, AuditKind.SESSIONS_REVOKED, now=now, actor_id=user.id, detail={"count": ended})
    return ended


def _session_by_token(session: Session, token: str) -> AuthSession | None:
    if not token or len(token) > _MAX_TOKEN:
        return None
    digest = token_hash(token)
    row = session.exec(select(AuthSession).where(col(AuthSession.token_hash) == digest)).first()
    return row if row is not None and hashes_match(row.token_hash, token) else None


# ---- passwords -----------------------------------------------------------------------------------------


def change_password(
    *,
    session: Session,
    user: User,
    current_password: str,
    new_password: str,
    current: AuthSession | None = None,
    limiter: RateLimiter | None = None,
    now: datetime | None = None,
) -> SessionGrant | None:
    """Set a new password (the current one is required) and sign out every browser.

    Pass the ``current`` session to get a fresh one back for the browser making the change.
    """
    now = current_time(now)
    reauthenticate(user=user, password=current_password, limiter=limiter or limiter_for(), now=now)
    problems = password_problems(new_password, email=user.email)
    if new_password == current_password:
        problems.append("Choose a password different from your current one.")
    if problems:
        raise PasswordPolicyError(problems)
    _set_password(session, user, new_password, now)
    record(session, AuditKind.PASSWORD_CHANGED, now=now, actor_id=user.id)
    if current is None:
        return None
    return _open_session(session, user, ip=current.ip, user_agent=current.user_agent, now=now)


def request_password_reset(
    *,
    session: Session,
    email: str,
    ip: str | None = None,
    limiter: RateLimiter | None = None,
    base_url: str | None = None,
    now: datetime | None = None,
) -> None:
    """Email a reset link if the address has an account; answer the same either way.

    Requests are throttled per address and per IP (``Throttled``), whether or not the account exists.
    """
    now = current_time(now)
    address = normalize_email(email)
    limiter = limiter or limiter_for()
    keys = [(f"reset:email:{token_hash(address)[:32]}", RESET_EMAIL_QUOTA)]
    if ip:
        keys.append((f"reset:ip:{ip}", RESET_IP_QUOTA))
    refused = [d for d in (limiter.hit(key, quota, now=now) for key, quota in keys) if not d.allowed]
    if refused:
        raise Throttled(max(d.retry_after for d in refused))
    user = user_by_email(session, address)
    if user is None or user.disabled:
        return
    token = _issue_email_token(session, user, EmailPurpose.RESET_PASSWORD, ttl=RESET_PASSWORD_TTL, now=now)
    url = link("/reset-password", token, base_url)
    _mails.reset_password(session, to=user.email, url=url, ttl=RESET_PASSWORD_TTL, now=now)
    record(session, AuditKind.PASSWORD_RESET_REQUESTED, now=now, subject_id=user.id, ip=ip)


def reset_password(*, session: Session, token: str, new_password: str, now: datetime | None = None) -> User:
    """Use an emailed reset link to set a new password; every session is signed out.

    The link works once. A password that breaks the policy raises ``PasswordPolicyError`` and leaves
    the link usable, so the person can try again.
    """
    now = current_time(now)
    row = _find_email_token(session, token, {EmailPurpose.RESET_PASSWORD}, now)
    user = _user_of(session, row)
    check_password(new_password, email=user.email)
    row.used_at = now
    session.add(row)
    if user.email_verified_at is None:
        user.email_verified_at = now  # the link reached the inbox: the address is theirs
    _set_password(session, user, new_password, now)
    record(session, AuditKind.PASSWORD_RESET, now=now, actor_id=user.id)
    return user


def _set_password(session: Session, user: User, password: str, now: datetime) -> None:
    user.password_hash = hash_password(password)
    session.add(user)
    revoke_all_sessions(session=session, user=user, now=now)
    _mails.password_changed(session, to=user.email, now=now)
    session.flush()


def reauthenticate(*, user: User, password: str, limiter: RateLimiter, now: datetime) -> None:
    """Check a signed-in user's password again before a sensitive change (throttled per account)."""
    key = f"reauth:user:{user.id}"
    decision = limiter.peek(key, REAUTH_QUOTA, now=now)
    if not decision.allowed:
        raise Throttled(decision.retry_after)
    if not verify_password(user.password_hash, password):
        limiter.hit(key, REAUTH_QUOTA, now=now)
        raise InvalidCredentials("Your password is incorrect.")
    limiter.reset(key)


# ---- email changes -------------------------------------------------------------------------------------


def change_email(
    *,
    session: Session,
    user: User,
    password: str,
    new_email: str,
    limiter: RateLimiter | None = None,
    base_url: str | None = None,
    now: datetime | None = None,
) -> None:
    """Start moving the account to ``new_email``: a confirmation link goes to the new address, a notice
    to the old one. The change happens when the link is used (``verify_email``).

    If the new address already has an account, its owner is told instead and nothing else happens
    (the answer is the same, so this does not reveal which addresses have accounts).
    """
    now = current_time(now)
    reauthenticate(user=user, password=password, limiter=limiter or limiter_for(), now=now)
    address = normalize_email(new_email)
    if address == user.email:
        raise InvalidInput("email", "That is already your email address.")
    record(session, AuditKind.EMAIL_CHANGE_REQUESTED, now=now, actor_id=user.id)
    if user_by_email(session, address) is not None:
        reset_url = app_url("/reset-password", base_url)
        _mails.already_registered(session, to=address, reset_url=reset_url, now=now)
        return
    token = _issue_email_token(
        session, user, EmailPurpose.CHANGE_EMAIL, ttl=CHANGE_EMAIL_TTL, now=now, new_email=address
    )
    url = link("/verify-email", token, base_url)
    _mails.confirm_new_email(session, to=address, url=url, ttl=CHANGE_EMAIL_TTL, now=now)
    _mails.email_change_requested(session, to=user.email, new_email=address, now=now)


# ---- lookups and emailed tokens ------------------------------------------------------------------------


def user_by_email(session: Session, email: str) -> User | None:
    """The account with this (normalised) address, if any."""
    return session.exec(select(User).where(col(User.email) == email.strip().lower())).first()


def _issue_email_token(
    session: Session,
    user: User,
    purpose: EmailPurpose,
    *,
    ttl: timedelta,
    now: datetime,
    new_email: str | None = None,
) -> str:
    """A new single-use token for ``purpose``; earlier unused ones of that purpose stop working."""
    session.exec(
        update(EmailToken)
        .where(
            col(EmailToken.user_id) == user_id(user),
            col(EmailToken.purpose) == purpose,
            col(EmailToken.used_at).is_(None),
        )
        .values(used_at=now)
    )
    token = new_token()
    session.add(
        EmailToken(
            user_id=user_id(user),
            purpose=purpose,
            token_hash=token_hash(token),
            new_email=new_email,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    session.flush()
    return token


def _find_email_token(
    session: Session, token: str, purposes: Iterable[EmailPurpose], now: datetime
) -> EmailToken:
    if not token or len(token) > _MAX_TOKEN:
        raise InvalidToken
    digest = token_hash(token)
    row = session.exec(select(EmailToken).where(col(EmailToken.token_hash) == digest)).first()
    if row is None or not hashes_match(row.token_hash, token) or row.purpose not in set(purposes):
        raise InvalidToken
    if row.used_at is not None:
        raise InvalidToken("This link has already been used. Request a new one.")
    if row.expires_at <= now:
        raise TokenExpired
    return row


def _user_of(session: Session, row: EmailToken) -> User:
    user = session.get(User, row.user_id)
    if user is None:
        raise InvalidToken
    return user
