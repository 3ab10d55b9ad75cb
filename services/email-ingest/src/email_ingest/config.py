"""email-ingest settings, read once from SWITCHBOARD_EMAIL_INGEST_* and the shared sections."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
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
class EmailIngestSettings:
    """Everything the HTTP ingress and the IMAP poller need."""

    env_prefix: ClassVar[str] = "SWITCHBOARD_EMAIL_INGEST_"
    amqp: AmqpSettings
    blob: BlobSettings
    log: LogSettings
    database: DatabaseSettings
    ingress_token: Secret | None = setting(
        "bearer token an MTA pipe sends to POST /inbound/mime (required by the HTTP ingress)", None
    )
    default_inbox: str = setting(
        "support address used when a delivery does not name its recipient", "support@localhost"
    )
    max_message_bytes: int = setting("largest accepted email in bytes (413 above)", 25 * 2**20)
    mailgun_signing_key: Secret | None = setting("Mailgun webhook signing key", None)
    mailgun_max_age_seconds: int = setting(
        "oldest Mailgun timestamp accepted (Mailgun retries for 8 hours)", 9 * 3600
    )
    sendgrid_password: Secret | None = setting(
        "basic-auth password SendGrid Inbound Parse must send (user: sendgrid)", None
    )
    postmark_password: Secret | None = setting(
        "basic-auth password Postmark's inbound webhook must send (user: postmark)", None
    )
    mailboxes_file: Path | None = setting("JSON file listing the IMAP mailboxes to poll", None)
    imap_poll_seconds: float = setting("seconds between polls where IDLE is not available", 30.0)
    imap_batch_size: int = setting("messages fetched and published per batch", 100)
    imap_parse_processes: int = setting(
        "worker processes of the IMAP poller that parse and archive fetched mail while it"
        " fetches and publishes (0: parse in the poller's own process)",
        2,
    )
    imap_lease_seconds: int = setting("a mailbox lease expires this long after its holder dies", 60)
    health_host: str = setting("address the IMAP poller's health endpoints listen on", "0.0.0.0")  # noqa: S104
    health_port: int = setting("port of the IMAP poller's health endpoints", 9001)
