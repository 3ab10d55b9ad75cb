"""A real SMTP server (aiosmtpd) that records what it accepts and can be told to misbehave.

    with smtp_sink() as sink:                  # sink.host, sink.port
        sink.script("451 4.3.0 try later")     # the next DATA is answered so
        sink.script("drop")                    # ... or the connection is cut during DATA
        sink.script("accept-then-hang:30")     # recorded as received, 250 only after 30 s
        ... send ...
        sink.messages                          # [Received(mail_from, rcpt_tos, data)]

STARTTLS (`tls_context`), implicit TLS (`implicit_tls`) and AUTH PLAIN/LOGIN (`logins`) as a
submission server offers them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.policy import default

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Received:
    """One message the server accepted (or, with `hang`, recorded before answering)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    def parsed(self) -> Message:
        """The message parsed by the standard library's modern parser."""
        return email.message_from_bytes(self.data, policy=default)


class SinkHandler:
    """aiosmtpd handler: record, answer as scripted; recipients named refuse5/defer4 fail."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.scripted: collections.deque[str] = collections.deque()
        self.data_delay = 0.0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse5"):
            return "550 5.1.1 No such user here"
        if address.startswith("defer4"):
            return "450 4.2.1 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            action = self.scripted.popleft() if self.scripted else "250 OK"
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if action == "drop":
            server.transport.close()
            return "421 4.3.0 dropped"
        received = Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
        if action.startswith("accept-then-hang:"):
            with self.lock:
                self.messages.append(received)
            await asyncio.sleep(float(action.split(":", 1)[1]))
            return "250 OK late"
        if action.startswith("250"):
            with self.lock:
                self.messages.append(received)
        return action


class SmtpSink:
    """The running server: where it listens, what it received, what it should do next."""

    def __init__(self, controller: Controller, handler: SinkHandler) -> None:
        self.controller = controller
        self.handler = handler
        self.host = controller.hostname
        self.port = controller.port

    @property
    def messages(self) -> list[Received]:
        """What was accepted so far (a copy)."""
        with self.handler.lock:
            return list(self.handler.messages)

    def script(self, *actions: str) -> None:
        """Answer the next DATA commands with these actions, in order."""
        with self.handler.lock:
            self.handler.scripted.extend(actions)

    def slow_down(self, seconds: float) -> None:
        """Wait this long before answering each DATA (a slow server)."""
        self.handler.data_delay = seconds


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _authenticator(logins: dict[str, str]):
    def authenticate(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if logins.get(user) == password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    return authenticate


@contextlib.contextmanager
def smtp_sink(
    tls_context: ssl.SSLContext | None = None,
    implicit_tls: bool = False,
    logins: dict[str, str] | None = None,
) -> Iterator[SmtpSink]:
    """Run an SMTP server on 127.0.0.1 for the block."""
    handler = SinkHandler()
    kwargs: dict = {}
    if tls_context is not None and implicit_tls:
        kwargs["ssl_context"] = tls_context
    elif tls_context is not None:
        kwargs.update(tls_context=tls_context, require_starttls=logins is not None)
    if logins is not None:
        kwargs.update(authenticator=_authenticator(logins), auth_require_tls=True)
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), ready_timeout=10, **kwargs
    )
    controller.start()
    try:
        yield SmtpSink(controller, handler)
    finally:
        controller.stop()
