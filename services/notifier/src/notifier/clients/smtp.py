"""Send email replies through an SMTP server: STARTTLS or implicit TLS, AUTH from settings.

One connection is kept open and reused (RSET between messages); a connection the server
closed while idle is replaced before anything is sent. Outcomes:

    connection refused, 4xx, dropped before DATA   -> TransientFailure
    dropped or timed out during DATA                -> TransientFailure, maybe delivered
    5xx (sender, all recipients, or the message)    -> PermanentFailure with the server's text
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from notifier.delivery_errors import Delivered, PermanentFailure, TransientFailure
from notifier.email_message import Envelope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to submit mail."""

    host: str
    port: int
    security: str = "none"  # starttls, tls, none
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    local_hostname: str | None = None
    ca_file: str | None = None


class SmtpClient:
    """Submit messages on one reused connection."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._connection: smtplib.SMTP | None = None

    def send(self, message: EmailMessage, envelope: Envelope) -> Delivered:
        """Submit `message` to every envelope recipient; return its Message-ID as the id."""
        data = message.as_bytes()
        reused = self._connection is not None
        connection = self._connect()
        try:
            self._start(connection, envelope)
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            if not reused:
                raise TransientFailure(f"the SMTP server hung up: {exc}") from None
            # The kept connection had gone stale; nothing was sent on it, so start over.
            connection = self._connect()
            try:
                self._start(connection, envelope)
            except smtplib.SMTPServerDisconnected as again:
                self._drop()
                raise TransientFailure(f"the SMTP server hung up: {again}") from None
        refused = self._recipients(connection, envelope)
        try:
            code, answer = connection.data(data)
        except smtplib.SMTPResponseException as exc:
            raise self._refused(exc.smtp_code, exc.smtp_error, "the message") from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise TransientFailure(
                f"the SMTP server dropped the connection during DATA ({exc})",
                maybe_delivered=True,
            ) from None
        if code != 250:
            # smtplib raises for a refused DATA command, but returns the final answer.
            raise self._refused(code, answer, "the message")
        detail = _text(answer)
        if refused:
            detail = f"{detail}; refused: " + "; ".join(
                f"{rcpt} ({code} {text})" for rcpt, (code, text) in refused.items()
            )
        log.debug("SMTP accepted %s: %s %s", message["Message-ID"], code, detail)
        return Delivered(str(message["Message-ID"]), detail)

    def _start(self, connection: smtplib.SMTP, envelope: Envelope) -> None:
        try:
            code, answer = connection.mail(envelope.sender)
        except smtplib.SMTPServerDisconnected:
            raise
        except OSError as exc:
            self._drop()
            raise TransientFailure(f"SMTP connection failed: {exc}") from None
        if code != 250:
            raise self._refused(code, answer, f"the sender {envelope.sender}")

    def _recipients(self, connection: smtplib.SMTP, envelope: Envelope) -> dict:
        refused: dict[str, tuple[int, str]] = {}
        try:
            for recipient in envelope.recipients:
                code, answer = connection.rcpt(recipient)
                if code not in (250, 251):
                    refused[recipient] = (code, _text(answer))
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise TransientFailure(f"the SMTP server dropped the connection: {exc}") from None
        if len(refused) == len(envelope.recipients):
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.rset()
            temporary = any(400 <= code < 500 for code, _ in refused.values())
            said = "; ".join(f"{r}: {code} {text}" for r, (code, text) in refused.items())
            if temporary:
                raise TransientFailure(f"the SMTP server deferred every recipient: {said}")
            raise PermanentFailure(f"the SMTP server refused every recipient: {said}")
        return refused

    def _refused(self, code: int, answer: bytes | str, what: str) -> Exception:
        said = f"{code} {_text(answer)}"
        if self._connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._connection.rset()
        if code == 421 or code < 400:
            self._drop()
            return TransientFailure(f"the SMTP server is closing: {said}")
        if 400 <= code < 500:
            return TransientFailure(f"the SMTP server deferred {what}: {said}")
        return PermanentFailure(f"the SMTP server refused {what}: {said}")

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            return self._connection
        s = self.settings
        try:
            if s.security == "tls":
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host,
                    s.port,
                    local_hostname=s.local_hostname,
                    timeout=s.timeout,
                    context=ssl.create_default_context(cafile=s.ca_file),
                )
            else:
                connection = smtplib.SMTP(
                    s.host, s.port, local_hostname=s.local_hostname, timeout=s.timeout
                )
            connection.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                connection.starttls(context=ssl.create_default_context(cafile=s.ca_file))
                connection.ehlo()
            if s.username:
                connection.login(s.username, s.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentFailure(
                f"the SMTP server refused our login: {exc.smtp_code} {_text(exc.smtp_error)}"
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentFailure(f"the SMTP server cannot do what we configured: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            raise TransientFailure(
                f"the SMTP server turned us away: {exc.smtp_code} {_text(exc.smtp_error)}"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientFailure(
                f"cannot reach the SMTP server {s.host}:{s.port}: {exc}"
            ) from None
        self._connection = connection
        return connection

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._connection.close()
        self._connection = None

    def close(self) -> None:
        """Say QUIT and close the connection."""
        if self._connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._connection.quit()
        self._drop()


def _text(answer: bytes | str) -> str:
    text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
    return " ".join(text.split())
