"""Archive, parse, publish: how a raw email becomes a `message.received` event.

The raw bytes and every attachment go to the blob store before anything is published, and
the caller acknowledges its source (HTTP 202, IMAP cursor) only after `ingest` returns,
i.e. after the broker confirmed. A redelivered source therefore repeats at worst; the inbox
deduplicates by Message-ID.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from email_ingest.errors import NotEmailError
from email_ingest.mime_parser import parse_email
from switchboard_shared.blobstore import BlobStore, sha256_hex
from switchboard_shared.publisher import Outgoing, event_message
from switchboard_shared.schemas import MESSAGE_RECEIVED, Event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """One raw email ready for the wire, or why it cannot become an event (then parked)."""

    raw_sha256: str
    message: Outgoing | None = None  # the validated, serialized event
    not_email: str | None = None  # the payload is not email at all
    failure: str | None = None  # the parser or the schema failed on this mail


@dataclass(frozen=True)
class PreparedBatch:
    """A batch's mails in order, their blobs written, and the seconds its two steps took."""

    items: list[Prepared]
    blobs: list[str]  # every raw mail and attachment written, to sync before acknowledging
    parse_seconds: float
    archive_seconds: float


def prepare_batch(
    blobs: BlobStore, raws: Sequence[bytes], inbox: str, received_at: datetime
) -> PreparedBatch:
    """Parse and validate every mail, then write every raw mail and attachment at once.

    A mail that cannot become an event gets its reason instead of failing its neighbours.
    Pure CPU plus the blob store, and every argument and result pickles, so it can run in
    a worker process. Raises OSError if any blob could not be written. The blobs are not
    durable yet: whoever acknowledges the batch syncs `blobs` first (`BlobStore.sync`,
    from any process), so the sync's wait for the disk overlaps the batch's publish instead
    of holding up the parsing of the next batch.
    """
    started = time.perf_counter()
    items: list[Prepared] = []
    blobs_to_store = list(raws)
    for raw in raws:
        sha = sha256_hex(raw)
        try:
            parsed = parse_email(raw, inbox=inbox, received_at=received_at)
            message = event_message(Event(MESSAGE_RECEIVED, parsed.payload))
        except NotEmailError as exc:
            items.append(Prepared(sha, not_email=exc.reason))
            continue
        except Exception as exc:  # this mail cannot become an event: park it, not the batch
            log.warning("mail %s cannot become an event: %r", sha, exc)
            items.append(Prepared(sha, failure=f"cannot import: {exc!r}"))
            continue
        blobs_to_store += parsed.blobs.values()
        items.append(Prepared(sha, message=message))
    parsed_at = time.perf_counter()
    written = blobs.write_many(blobs_to_store)
    return PreparedBatch(items, written, parsed_at - started, time.perf_counter() - parsed_at)


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
