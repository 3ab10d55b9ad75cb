"""Archive, parse, publish: how a raw email becomes a `message.received` event.

The raw bytes and every attachment go to the blob store before anything is published, and
the caller acknowledges its source (HTTP 202, IMAP cursor) only after `ingest` returns,
i.e. after the broker confirmed. A redelivered source therefore repeats at worst; the inbox
deduplicates by Message-ID.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from email_ingest.errors import NotEmailError
from email_ingest.mime_parser import parse_email
from switchboard_shared.blobstore import BlobStore
from switchboard_shared.schemas import MESSAGE_RECEIVED, Event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ingested:
    """What became of one raw email."""

    raw_sha256: str
    payload: dict | None  # None when it was not email and was parked instead
    rejected_reason: str | None = None


class EmailIngestor:
    """Turns raw emails into confirmed events; one per thread or process (see Publisher)."""

    def __init__(
        self,
        blobs: BlobStore,
        publisher,
        source: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.blobs = blobs
        self.publisher = publisher
        self.source = source
        self.clock = clock

    def archive(self, raw: bytes) -> str:
        """Store the raw payload; return its sha256."""
        return self.blobs.put(raw)

    def prepare(self, raw: bytes, inbox: str) -> Event:
        """Archive and parse one email into its event; raise NotEmailError for non-email."""
        self.archive(raw)
        parsed = parse_email(raw, inbox=inbox, received_at=self.clock())
        for data in parsed.blobs.values():
            self.blobs.put(data)
        return Event(MESSAGE_RECEIVED, parsed.payload)

    def ingest(self, raw: bytes, inbox: str) -> dict:
        """Archive, parse and publish one email; raise NotEmailError or PublishError."""
        event = self.prepare(raw, inbox)
        self.publisher.publish(event)
        return event.payload

    def ingest_many(self, items: Sequence[tuple[bytes, str]]) -> list[Ingested]:
        """Archive, parse and publish a batch with every confirm in flight at once.

        Non-email is parked in `switchboard.rejected` with the reason. Raises PublishError
        if anything was not confirmed, so the caller keeps its cursor where it was.
        """
        events: list[Event] = []
        results: list[Ingested] = []
        for raw, inbox in items:
            try:
                event = self.prepare(raw, inbox)
            except NotEmailError as exc:
                sha = self.archive(raw)
                log.warning("not an email (%s); parked as %s", exc.reason, sha)
                self.publisher.reject(self.source, f"not an email: {exc.reason}", sha)
                results.append(Ingested(sha, None, exc.reason))
                continue
            events.append(event)
            results.append(Ingested(event.payload["raw_sha256"], event.payload))
        self.publisher.publish_many(events)
        return results
