"""What becomes of a batch of fetched IMAP messages: events, or parked with the reason.

The whole batch goes to the ingestor at once (every confirm in flight). If the batch fails
for a reason that is not the broker's or the blob store's, the messages go one by one so the
one at fault is parked in `switchboard.rejected` and its neighbours still become events: a
single bad message must never hold its folder's cursor back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import Counter

from email_ingest.ingestion import EmailIngestor
from switchboard_shared.errors import PublishError

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

    def publish(self, place: Place, messages: list[Fetched]) -> list[int]:
        """Publish a batch with every confirm in flight; return the UIDs that became events.

        Raises PublishError (broker) or OSError (blob store): then nothing may be taken as
        done and the caller keeps its cursor.
        """
        try:
            results = self.ingestor.ingest_many([(m.raw, self.address) for m in messages])
        except (PublishError, OSError):
            raise
        except Exception as exc:  # isolate the message at fault, below
            log.warning(
                "mailbox %s folder %r: batch failed (%r); importing one by one",
                place.mailbox,
                place.folder,
                exc,
            )
        else:
            published = [m.uid for m, r in zip(messages, results, strict=True) if r.payload]
            IMAP_MESSAGES.labels("published").inc(len(published))
            IMAP_MESSAGES.labels("parked").inc(len(messages) - len(published))
            return published
        published = []
        for message in messages:
            try:
                [result] = self.ingestor.ingest_many([(message.raw, self.address)])
            except (PublishError, OSError):
                raise
            except Exception as exc:  # this message cannot become an event
                self.park(place, message.uid, f"cannot import: {exc!r}", message.raw)
                continue
            if result.payload:
                published.append(message.uid)
                IMAP_MESSAGES.labels("published").inc()
            else:
                IMAP_MESSAGES.labels("parked").inc()  # not email: the ingestor parked it
        return published

    def park(self, place: Place, uid: int, reason: str, raw: bytes | None = None) -> None:
        """Dead-letter one message with the reason and where it sits on the server."""
        # Without the bytes (refused or too large) the server location is the only handle.
        sha = self.ingestor.archive(raw) if raw is not None else ""
        details = {
            "mailbox": place.mailbox,
            "folder": place.folder,
            "uidvalidity": place.uidvalidity,
            "uid": uid,
        }
        log.error(
            "mailbox %s folder %r uid %d: parked: %s", place.mailbox, place.folder, uid, reason
        )
        self.ingestor.publisher.reject(SOURCE, reason, sha, details)
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
