"""The outbox and its mailers: console in development, SMTP (checked against a local fake server)."""

from __future__ import annotations

import io
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr
from sqlmodel import Session

from quanta.accounts.models import UserCreate
from quanta.accounts.service import sign_up
from quanta.mail import (
    MAX_ATTEMPTS,
    ConsoleMailer,
    Mail,
    SmtpMailer,
    deliver_pending,
    enqueue,
    mailer_for,
    pending,
)
from quanta.settings import Settings
from quanta.testing.clock import FakeClock
from tests.accounts.conftest import BASE_URL, PASSWORD
from tests.accounts.smtp_server import FakeSmtpServer

SENDER = "Quanta <no-reply@quanta.test>"


@dataclass(frozen=True)
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A self-signed certificate for 127.0.0.1: the server's context and a client context trusting it."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    return Tls(server=server, client=ssl.create_default_context(cafile=str(cert_file)))


@pytest.fixture
def smtp() -> Iterator[FakeSmtpServer]:
    with FakeSmtpServer(reject=frozenset({"bounce@example.com"})) as server:
        yield server


def _plain_mailer(port: int) -> SmtpMailer:
    return SmtpMailer(host="127.0.0.1", port=port, sender=SENDER, starttls=False)


def test_mails_wait_in_the_outbox_until_delivered(unit: Session, clock: FakeClock) -> None:
    enqueue(session=unit, to="ada@example.com", subject="Hello", body="Hi Ada", now=clock.now())
    enqueue(session=unit, to="bob@example.com", subject="Hello", body="Hi Bob", now=clock.now())
    stream = io.StringIO()

    report = deliver_pending(session=unit, mailer=ConsoleMailer(stream), now=clock.now())
    unit.commit()

    assert (report.sent, report.failed) == (2, 0)
    assert pending(session=unit) == []
    assert "To: ada@example.com\nSubject: Hello\n\nHi Ada" in stream.getvalue()
    assert deliver_pending(session=unit, mailer=ConsoleMailer(stream)).sent == 0


def test_the_console_mailer_shows_the_verification_link_in_development(
    unit: Session, clock: FakeClock
) -> None:
    sign_up(
        session=unit,
        user_in=UserCreate(email="ada@example.com", password=PASSWORD),
        base_url=BASE_URL,
        now=clock.now(),
    )
    stream = io.StringIO()

    deliver_pending(session=unit, mailer=ConsoleMailer(stream))

    assert f"{BASE_URL}/verify-email?token=" in stream.getvalue()


def test_smtp_delivers_each_outbox_mail(unit: Session, clock: FakeClock, smtp: FakeSmtpServer) -> None:
    enqueue(session=unit, to="ada@example.com", subject="Confirm", body="Open this link", now=clock.now())

    report = deliver_pending(session=unit, mailer=_plain_mailer(smtp.port), now=clock.now())

    assert report.sent == 1
    (received,) = smtp.messages
    assert (received.sender, received.recipients) == ("no-reply@quanta.test", ["ada@example.com"])
    message = received.message
    assert (message["From"], message["To"], message["Subject"]) == (SENDER, "ada@example.com", "Confirm")
    assert message["Message-ID"].endswith("@quanta.test>")
    assert str(message.get_payload()).strip() == "Open this link"


def test_a_refused_mail_keeps_its_error_and_is_retried_a_few_times(
    unit: Session, clock: FakeClock, smtp: FakeSmtpServer
) -> None:
    bounce = enqueue(session=unit, to="bounce@example.com", subject="x", body="x", now=clock.now())
    enqueue(session=unit, to="ada@example.com", subject="y", body="y", now=clock.now())

    first = deliver_pending(session=unit, mailer=_plain_mailer(smtp.port))

    assert (first.sent, first.failed) == (1, 1)
    assert bounce.sent_at is None
    assert bounce.error is not None
    assert "550" in bounce.error
    for _ in range(MAX_ATTEMPTS - 1):
        deliver_pending(session=unit, mailer=_plain_mailer(smtp.port))
    assert bounce.attempts == MAX_ATTEMPTS
    assert pending(session=unit) == []  # given up after MAX_ATTEMPTS


def test_an_unreachable_server_is_an_error_not_a_crash(unit: Session, clock: FakeClock) -> None:
    entry = enqueue(session=unit, to="ada@example.com", subject="x", body="x")
    with FakeSmtpServer() as gone:
        port = gone.port

    report = deliver_pending(session=unit, mailer=_plain_mailer(port))

    assert report.failed == 1
    assert entry.error is not None


def test_smtp_upgrades_with_starttls_and_logs_in(tls: Tls) -> None:
    with FakeSmtpServer(tls=tls.server, credentials=("quanta", "s3cret")) as server:
        mailer = SmtpMailer(
            host="127.0.0.1",
            port=server.port,
            sender=SENDER,
            username="quanta",
            password="s3cret",
            ssl_context=tls.client,
        )
        mailer.send(Mail(to="ada@example.com", subject="Hi", body="Over TLS"))

    (received,) = server.messages
    assert (received.tls, received.login) == (True, "quanta")


def test_smtp_speaks_implicit_tls(tls: Tls) -> None:
    with FakeSmtpServer(tls=tls.server, implicit_tls=True) as server:
        mailer = SmtpMailer(
            host="127.0.0.1", port=server.port, sender=SENDER, use_ssl=True, ssl_context=tls.client
        )
        mailer.send(Mail(to="ada@example.com", subject="Hi", body="Over TLS"))

    assert server.messages[0].tls


def test_starttls_refuses_an_untrusted_certificate(tls: Tls) -> None:
    with FakeSmtpServer(tls=tls.server) as server:
        mailer = SmtpMailer(host="127.0.0.1", port=server.port, sender=SENDER)  # system CAs only
        with pytest.raises(ssl.SSLError):
            mailer.send(Mail(to="ada@example.com", subject="Hi", body="x"))

    assert server.messages == []


def test_wrong_smtp_credentials_fail(tls: Tls) -> None:
    import smtplib

    with FakeSmtpServer(tls=tls.server, credentials=("quanta", "s3cret")) as server:
        mailer = SmtpMailer(
            host="127.0.0.1",
            port=server.port,
            sender=SENDER,
            username="quanta",
            password="wrong",
            ssl_context=tls.client,
        )
        with pytest.raises(smtplib.SMTPAuthenticationError):
            mailer.send(Mail(to="ada@example.com", subject="Hi", body="x"))


def test_settings_choose_the_mailer(tmp_path: Path) -> None:
    assert isinstance(mailer_for(Settings(var_dir=tmp_path)), ConsoleMailer)
    smtp = mailer_for(
        Settings(
            var_dir=tmp_path,
            smtp_host="mail.example.org",
            smtp_port=465,
            smtp_ssl=True,
            smtp_username="quanta",
            smtp_password=SecretStr("pw"),
            mail_from=SENDER,
        )
    )
    assert isinstance(smtp, SmtpMailer)
    assert (smtp.host, smtp.port, smtp.sender) == ("mail.example.org", 465, SENDER)
