"""Outgoing email: every message is written to an outbox table first, then a mailer delivers it.

Writing to the outbox inside the caller's unit of work means a mail exists exactly when the change that
caused it was committed (no "reset link for a rolled-back token"). ``deliver_pending`` hands pending mails
to a mailer: ``ConsoleMailer`` prints them (development: the verification links appear in the terminal),
``SmtpMailer`` sends them through an SMTP server (``QUANTA_SMTP_*``). ``mailer_for(settings)`` picks one.
"""

from __future__ import annotations

import smtplib
import ssl
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Protocol, TextIO

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from quanta.settings import Settings, get_settings

MAX_ATTEMPTS = 5
_ERROR_LIMIT = 2000


def _utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxEmail(SQLModel, table=True):
    """One email to send; ``sent_at`` is set once delivered, ``error`` keeps the last failure."""

    __tablename__ = "outbox_email"

    id: int | None = Field(default=None, primary_key=True)
    to: str = Field(max_length=320)
    subject: str = Field(max_length=255)
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=_utcnow)
    sent_at: datetime | None = Field(default=None, index=True)
    attempts: int = 0
    error: str | None = Field(default=None, max_length=_ERROR_LIMIT)


@dataclass(frozen=True, kw_only=True)
class Mail:
    """A plain-text email as a mailer sees it."""

    to: str
    subject: str
    body: str = Field(sa_type=sa.Text)


@dataclass(frozen=True, kw_only=True)
class DeliveryReport:
    """What one ``deliver_pending`` run did."""

    sent: int
    failed: int


class Mailer(Protocol):
    """Delivers one email or raises."""

    def send(self, mail: Mail) -> None:
        """Deliver ``mail``; raise on failure (the outbox keeps it for another try)."""
        ...


def enqueue(
    *, session: Session, to: str, subject: str, body: str, now: datetime | None = None
) -> OutboxEmail:
    """Put one email in the outbox (sent later by ``deliver_pending``)."""
    entry = OutboxEmail(to=to, subject=subject[:255], body=body, created_at=now or _utcnow())
    session.add(entry)
    session.flush()
    return entry


def pending(*, session: Session, limit: int = 100) -> list[OutboxEmail]:
    """Unsent emails that still have tries left, oldest first."""
    return list(session.exec(_pending_query(limit)))


def _pending_query(limit: int) -> SelectOfScalar[OutboxEmail]:
    return (
        select(OutboxEmail)
        .where(col(OutboxEmail.sent_at).is_(None), col(OutboxEmail.attempts) < MAX_ATTEMPTS)
        .order_by(col(OutboxEmail.id))
        .limit(limit)
    )


def deliver_pending(
    *, session: Session, mailer: Mailer, limit: int = 100, now: datetime | None = None
) -> DeliveryReport:
    """Send pending outbox emails with ``mailer``, marking each sent or recording its error.

    On PostgreSQL the rows are locked with SKIP LOCKED, so several workers can deliver at once.
    """
    query = _pending_query(limit).with_for_update(skip_locked=True)
    sent = failed = 0
    for entry in session.exec(query).all():
        entry.attempts += 1
        try:
            mailer.send(Mail(to=entry.to, subject=entry.subject, body=entry.body))
        except Exception as exc:  # any failure is recorded, and retried on the next run
            entry.error = f"{type(exc).__name__}: {exc}"[:_ERROR_LIMIT]
            failed += 1
        else:
            entry.sent_at, entry.error = now or _utcnow(), None
            sent += 1
        session.add(entry)
    session.flush()
    return DeliveryReport(sent=sent, failed=failed)


class ConsoleMailer:
    """Prints each email (development): verification and reset links show up in the terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, mail: Mail) -> None:
        """Print ``mail``."""
        stream = self._stream or sys.stdout
        rule = "-" * 72
        stream.write(f"{rule}\nTo: {mail.to}\nSubject: {mail.subject}\n\n{mail.body}\n{rule}\n")
        stream.flush()


class SmtpMailer:
    """Sends through an SMTP server with smtplib: STARTTLS or implicit TLS, optional login."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        use_ssl: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self._username, self._password = username, password
        self._starttls, self._use_ssl = starttls, use_ssl
        self._context = ssl_context or ssl.create_default_context()
        self._timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpMailer:
        """The mailer described by ``QUANTA_SMTP_*`` and ``QUANTA_MAIL_FROM``."""
        if settings.smtp_host is None:
            msg = "QUANTA_SMTP_HOST is not set"
            raise ValueError(msg)
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.mail_from,
            username=settings.smtp_username,
            password=password,
            starttls=settings.smtp_starttls,
            use_ssl=settings.smtp_ssl,
        )

    def send(self, mail: Mail) -> None:
        """Deliver ``mail`` over one SMTP connection."""
        with self._connect() as client:
            client.send_message(self.message(mail))

    def message(self, mail: Mail) -> EmailMessage:
        """``mail`` as a MIME message with our sender, a date and a message id."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = format_datetime(_utcnow())
        message["Message-ID"] = make_msgid(domain=parseaddr(self.sender)[1].partition("@")[2] or None)
        message.set_content(mail.body)
        return message

    def _connect(self) -> smtplib.SMTP:
        if self._use_ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self._timeout, context=self._context
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self._timeout)
            if self._starttls:
                client.starttls(context=self._context)
        try:
            if self._username:
                client.login(self._username, self._password or "")
        except BaseException:
            client.close()
            raise
        return client


def mailer_for(settings: Settings | None = None) -> Mailer:
    """``SmtpMailer`` when ``QUANTA_SMTP_HOST`` is set, else ``ConsoleMailer``."""
    settings = settings or get_settings()
    return SmtpMailer.from_settings(settings) if settings.smtp_host else ConsoleMailer()
