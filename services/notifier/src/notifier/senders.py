"""Which client sends on which channel, built once per consumer thread.

Every sender has `rate_key(reply)` (what one rate limit covers) and `send(reply)` returning
Delivered or raising a SendFailure. Each consumer thread gets its own senders, so each has
one requests.Session per provider and one SMTP connection, never shared between threads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from notifier.accounts import Tokens
from notifier.clients.http import Timeouts
from notifier.clients.meta import CHANNELS as META_CHANNELS
from notifier.clients.meta import GraphClient
from notifier.clients.smtp import SmtpClient, SmtpSettings
from notifier.clients.telegram import TelegramClient
from notifier.clients.whatsapp import WhatsAppClient
from notifier.clients.x import XClient
from notifier.config import NotifierSettings
from notifier.delivery_errors import Delivered, PermanentFailure
from notifier.email_message import File, build_message
from switchboard_shared.blobstore import BlobNotFound, BlobStore


class Sender(Protocol):
    """Sends replies on one or more channels."""

    def rate_key(self, reply: dict) -> str: ...

    def send(self, reply: dict) -> Delivered: ...

    def close(self) -> None: ...


class EmailSender:
    """Build the MIME message (attachments from the blob store) and submit it by SMTP."""

    def __init__(
        self,
        smtp: SmtpClient,
        blobs: BlobStore,
        envelope_from: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.smtp = smtp
        self.blobs = blobs
        self.envelope_from = envelope_from
        self.now = now

    def rate_key(self, reply: dict) -> str:
        """One SMTP server for every support address."""
        return "smtp"

    def send(self, reply: dict) -> Delivered:
        """Send one email reply."""
        message, envelope = build_message(reply, self.now(), self._file)
        if self.envelope_from:
            envelope = type(envelope)(self.envelope_from, envelope.recipients)
        return self.smtp.send(message, envelope)

    def _file(self, attachment: dict) -> File:
        name = attachment.get("filename") or "attachment"
        if not attachment.get("sha256"):
            raise PermanentFailure(
                f"attachment {name} has no stored file: {attachment.get('unavailable_reason')}"
            )
        try:
            data = self.blobs.get(attachment["sha256"])
        except BlobNotFound:
            raise PermanentFailure(
                f"attachment {name} ({attachment['sha256'][:12]}…) is missing from the blob store"
            ) from None
        return File(
            data,
            attachment.get("filename"),
            attachment.get("content_type") or "application/octet-stream",
            attachment.get("content_id"),
            bool(attachment.get("inline")),
        )

    def close(self) -> None:
        """Close the SMTP connection."""
        self.smtp.close()


def build_senders(
    settings: NotifierSettings, tokens: Tokens, blobs: BlobStore
) -> dict[str, Sender]:
    """Senders by channel: one client object per provider."""
    timeouts = Timeouts(settings.http_connect_timeout, settings.http_read_timeout)
    smtp = SmtpClient(
        SmtpSettings(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout,
            local_hostname=settings.smtp_local_hostname,
            ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
        )
    )
    graph = GraphClient(settings.graph_api_url, tokens, timeouts, settings.messenger_human_agent)
    x = XClient(settings.x_api_url, tokens, timeouts)
    senders: dict[str, Sender] = {
        "email": EmailSender(smtp, blobs, settings.smtp_envelope_from),
        "whatsapp": WhatsAppClient(settings.graph_api_url, tokens, timeouts),
        "x_mention": x,
        "x_dm": x,
        "telegram": TelegramClient(settings.telegram_api_url, tokens, timeouts),
    }
    senders.update(dict.fromkeys(META_CHANNELS, graph))
    return senders
