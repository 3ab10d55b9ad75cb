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
from email_ingest.mime_parser import ParsedEmail, parse_email
from switchboard_shared.blobstore import BlobStore, sha256_hex
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
        parsed = self._archive_and_parse(items)
        events: list[Event] = []
        results: list[Ingested] = []
        for (raw, _inbox), outcome in zip(items, parsed, strict=True):
            if isinstance(outcome, NotEmailError):
                sha = sha256_hex(raw)
                log.warning("not an email (%s); parked as %s", outcome.reason, sha)
                self.publisher.reject(self.source, f"not an email: {outcome.reason}", sha)
                results.append(Ingested(sha, None, outcome.reason))
                continue
            event = Event(MESSAGE_RECEIVED, outcome.payload)
            events.append(event)
            results.append(Ingested(event.payload["raw_sha256"], event.payload))
        self.publisher.publish_many(events)
        return results

    def _archive_and_parse(
        self, items: Sequence[tuple[bytes, str]]
    ) -> list[ParsedEmail | NotEmailError]:
        """Parse the batch, then archive every raw mail and attachment in one group.

        With fsync on, one put per blob cost more than parsing and publishing the mail
        (two fsyncs each): put_many syncs the filesystem twice for the whole batch.
        Raises OSError if any blob could not be stored; nothing is published then.
        """
        parsed: list[ParsedEmail | NotEmailError] = []
        blobs = [raw for raw, _inbox in items]
        for raw, inbox in items:
            try:
                email = parse_email(raw, inbox=inbox, received_at=self.clock())
            except NotEmailError as exc:
                parsed.append(exc)
                continue
            blobs += email.blobs.values()
            parsed.append(email)
        self.blobs.put_many(blobs)
        return parsed
