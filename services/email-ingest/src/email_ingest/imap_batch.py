"""What becomes of a batch of fetched IMAP messages: events, or parked with the reason.

A batch arrives prepared (parsed, validated and archived, see ingestion.prepare_batch) and
is published at once, every confirm in flight. A message the parser or the schema refused
is parked in `switchboard.rejected` with the reason and its place on the server, and its
neighbours still become events: a single bad message must never hold its folder back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import Counter

from email_ingest.ingestion import EmailIngestor, PreparedBatch
from switchboard_shared.publisher import Outgoing

log = logging.getLogger(__name__)

SOURCE = "email-ingest/imap"
# A batch is also cut by bytes, so a run of large attachments does not sit in memory at once.
BATCH_BYTES = 64 * 2**20

IMAP_MESSAGES = Counter(
    "switchboard_imap_messages_total",
    "IMAP messages handled, by outcome (published, parked, vanished)",
    ["outcome"],
)


@dataclass(frozen=True)
class Fetched:
    """One fetched message: its UID and its raw bytes."""

    uid: int
    raw: bytes


@dataclass(frozen=True)
class Place:
    """Where messages sit on the server, as parked messages report it."""

    mailbox: str
    folder: str
    uidvalidity: int


class BatchImporter:
    """Hands batches to the ingestor for one support address and parks what cannot go."""

    def __init__(self, ingestor: EmailIngestor, address: str) -> None:
        self.ingestor = ingestor
        self.address = address

    def publish(self, place: Place, messages: list[Fetched], batch: PreparedBatch) -> list[int]:
        """Publish a prepared batch with every confirm in flight; return the UIDs now events.

        A message that cannot become an event is parked with the reason. Raises
        PublishError if anything was not confirmed: then nothing may be taken as done and
        the caller keeps its cursor.
        """
        ready: list[tuple[int, Outgoing]] = []
        for message, item in zip(messages, batch.items, strict=True):
            if item.message is not None:
                ready.append((message.uid, item.message))
            elif item.not_email is not None:
                self.park(place, message.uid, f"not an email: {item.not_email}", item.raw_sha256)
            else:
                self.park(place, message.uid, item.failure or "unknown", item.raw_sha256)
        self.ingestor.publisher.send([outgoing for _uid, outgoing in ready])
        IMAP_MESSAGES.labels("published").inc(len(ready))
        return [uid for uid, _outgoing in ready]

    def park(self, place: Place, uid: int, reason: str, raw_sha256: str = "") -> None:
        """Dead-letter one message with the reason and where it sits on the server.

        `raw_sha256` names the archived mail; without one (refused or too large) the server
        location is the only handle.
        """
        details = {
            "mailbox": place.mailbox,
            "folder": place.folder,
            "uidvalidity": place.uidvalidity,
            "uid": uid,
        }
        log.error(
            "mailbox %s folder %r uid %d: parked: %s", place.mailbox, place.folder, uid, reason
        )
        self.ingestor.publisher.reject(SOURCE, reason, raw_sha256, details)
        IMAP_MESSAGES.labels("parked").inc()


def split_by_bytes(uids: list[int], sizes: dict[int, int]) -> Iterator[list[int]]:
    """Cut a run of UIDs into batches of at most BATCH_BYTES (a larger message goes alone)."""
    batch: list[int] = []
    total = 0
    for uid in uids:
        size = sizes[uid]
        if batch and total + size > BATCH_BYTES:
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch
