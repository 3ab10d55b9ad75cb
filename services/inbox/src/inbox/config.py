"""inbox settings, read once from SWITCHBOARD_INBOX_* and the shared sections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from switchboard_shared.config import (
    AmqpSettings,
    BlobSettings,
    DatabaseSettings,
    LogSettings,
    Secret,
    setting,
)


@dataclass(frozen=True)
class InboxSettings:
    """Everything the inbox worker and API need."""

    env_prefix: ClassVar[str] = "SWITCHBOARD_INBOX_"
    amqp: AmqpSettings
    database: DatabaseSettings
    blob: BlobSettings
    log: LogSettings
    secret_key: Secret | None = setting(
        "key signing web sessions; unset, one is generated once and kept in the database", None
    )
    batch_size: int = setting("inbound messages handled per database transaction", 500)
    batch_wait: float = setting("seconds the worker waits to fill a batch", 0.1)
    outbox_batch_size: int = setting("outbox rows published per confirm round", 500)
    outbox_poll_seconds: float = setting("outbox relay's wake-up interval without a NOTIFY", 1.0)
    email_domain: str = setting("domain of the Message-IDs inbox assigns to email replies", "")
    session_hours: int = setting("web session lifetime in hours", 12)
    health_host: str = setting("address the worker's health endpoints listen on", "0.0.0.0")  # noqa: S104
    health_port: int = setting("port of the worker's health endpoints", 9003)
