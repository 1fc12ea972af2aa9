"""A tiny SMTP server on 127.0.0.1 for tests: EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, QUIT.

It keeps what it receives in ``messages``; ``reject`` makes it refuse some recipients.
"""

from __future__ import annotations

import base64
import socketserver
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from types import TracebackType


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    login: str | None
    tls: bool

    @property
    def message(self) -> Message:
        return message_from_bytes(self.data)


@dataclass
class _Config:
    tls: ssl.SSLContext | None
    credentials: tuple[str, str] | None
    reject: frozenset[str]
    implicit_tls: bool = False
    messages: list[Received] = field(default_factory=list)


class _Session(socketserver.StreamRequestHandler):
    server: _Server
    login: str | None

    def handle(self) -> None:
        self.sender, self.login, self.tls = "", None, False
        self.recipients: list[str] = []
        if self.server.config.implicit_tls:
            self._start_tls()
        self._reply("220 fake.smtp ready")
        while line := self.rfile.readline():
            verb, _, argument = line.decode().rstrip("\r\n").partition(" ")
            if not self._dispatch(verb.upper(), argument):
                return

    def _dispatch(self, verb: str, argument: str) -> bool:  # noqa: PLR0911 - one branch per verb
        config = self.server.config
        if verb in {"EHLO", "HELO"}:
            extensions = ["AUTH PLAIN"] if config.credentials else []
            if config.tls is not None and not self.tls:
                extensions.append("STARTTLS")
            lines = ["fake.smtp", *extensions]
            for n, text in enumerate(lines):
                self._reply(f"250{'-' if n < len(lines) - 1 else ' '}{text}")
            return True
        if verb == "STARTTLS" and config.tls is not None:
            self._reply("220 go ahead")
            self._start_tls()
            return True
        if verb == "AUTH":
            return self._auth(argument)
        if verb == "MAIL":
            self.sender, self.recipients = argument.partition(":")[2].strip("<> "), []
            return self._reply("250 ok")
        if verb == "RCPT":
            recipient = argument.partition(":")[2].strip("<> ")
            if recipient in config.reject:
                return self._reply("550 no such mailbox")
            self.recipients.append(recipient)
            return self._reply("250 ok")
        if verb == "DATA":
            return self._data()
        if verb == "QUIT":
            self._reply("221 bye")
            return False
        return self._reply("250 ok")  # RSET, NOOP

    def finish(self) -> None:
        super().finish()
        if self.tls:
            self.request.close()  # the TLS wrapper; the server closes the plain socket

    def _start_tls(self) -> None:
        assert self.server.config.tls is not None
        self.request = self.server.config.tls.wrap_socket(self.request, server_side=True)
        self.rfile.close()
        self.wfile.close()
        self.rfile, self.wfile = self.request.makefile("rb"), self.request.makefile("wb")
        self.tls = True

    def _auth(self, argument: str) -> bool:
        _, _, encoded = argument.partition(" ")
        _, user, password = base64.b64decode(encoded).decode().split("\0")
        if (user, password) != self.server.config.credentials:
            return self._reply("535 authentication failed")
        self.login = user
        return self._reply("235 welcome")

    def _data(self) -> bool:
        self._reply("354 end with <CRLF>.<CRLF>")
        lines: list[bytes] = []
        while (line := self.rfile.readline()) not in {b".\r\n", b""}:
            lines.append(line[1:] if line.startswith(b"..") else line)
        received = Received(self.sender, list(self.recipients), b"".join(lines), self.login, self.tls)
        self.server.config.messages.append(received)
        return self._reply("250 queued")

    def _reply(self, text: str) -> bool:
        self.wfile.write(f"{text}\r\n".encode())
        self.wfile.flush()
        return True


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, config: _Config) -> None:
        super().__init__(("127.0.0.1", 0), _Session)
        self.config = config


class FakeSmtpServer:
    """``with FakeSmtpServer() as smtp:`` serves on ``smtp.port`` until the block ends."""

    def __init__(
        self,
        *,
        tls: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
        reject: frozenset[str] = frozenset(),
        implicit_tls: bool = False,
    ) -> None:
        self._config = _Config(tls=tls, credentials=credentials, reject=reject, implicit_tls=implicit_tls)
        self._server = _Server(self._config)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    @property
    def messages(self) -> list[Received]:
        return self._config.messages

    def __enter__(self) -> FakeSmtpServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
