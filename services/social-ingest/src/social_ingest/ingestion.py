"""Archive, normalize, fetch media, publish: how one webhook delivery becomes events.

Archiving the raw body starts first and every event (one per message, one per receipt) is
published with its confirm in flight at once; the caller answers the network 200 only after
`deliver` returns, i.e. once the body is durably archived and every event confirmed. A
PublishError (or an OSError from the archive) means nothing may be acknowledged: the
network redelivers and the inbox's dedup makes the repeat harmless. What a delivery could
not become is logged with the reason and, unless left out by design, parked in
`switchboard.rejected` with the raw body's sha256 so it can be re-normalized later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from social_ingest.normalize import Normalized, Skipped
from switchboard_shared.errors import InvalidEventError
from switchboard_shared.group_commit import GroupCommitBlobStore, PendingBlob
from switchboard_shared.schemas import DELIVERY_STATUS, MESSAGE_RECEIVED, Event
from switchboard_shared.schemas.event_ids import new_trace_id
from switchboard_shared.structured_logging import log_context

log = logging.getLogger(__name__)

# A normalizer with its account bound: (raw body, received_at, raw_sha256) -> Normalized.
Normalizer = Callable[[bytes, datetime, str], Normalized]


@dataclass(frozen=True)
class Prepared:
    """A delivery normalized, its archiving under way, not yet published."""

    source: str
    raw_sha256: str
    trace_id: str
    result: Normalized
    archived: PendingBlob

    def wait_archived(self) -> None:
        """Return once the raw body is durably stored; raise OSError if it could not be."""
        self.archived.result()


@dataclass(frozen=True)
class Delivered:
    """What a delivery became once every event was confirmed."""

    raw_sha256: str
    messages: list[str]  # external ids
    statuses: int
    skipped: list[Skipped]


class WebhookIngestor:
    """Turns webhook bodies into confirmed events; shared by a process's threads."""

    def __init__(
        self,
        blobs: GroupCommitBlobStore,
        publisher,
        attachments,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.blobs = blobs
        self.publisher = publisher  # a ThreadLocalPublisher under gunicorn threads
        self.attachments = attachments
        self.clock = clock

    def prepare(self, raw: bytes, source: str, normalize: Normalizer) -> Prepared:
        """Start archiving the raw body and normalize it meanwhile."""
        # The body is written now and made durable by the store's next group sync, shared
        # with the other requests in flight, while normalization and the publish go on:
        # the network gets its 200 only once both are done (Prepared.wait_archived).
        archived = self.blobs.start_put(raw)
        sha = archived.sha256
        trace_id = new_trace_id()
        with log_context(trace_id):
            result = normalize(raw, self.clock(), sha)
            for skipped in result.skipped:
                level = logging.WARNING if skipped.parked else logging.INFO
                log.log(
                    level,
                    "%s: %s left out: %s (raw %s)",
                    source,
                    skipped.where or "body",
                    skipped.reason,
                    sha,
                )
        return Prepared(source, sha, trace_id, result, archived)

    def deliver(self, prepared: Prepared) -> Delivered:
        """Fetch media, publish, park what was skipped, await the archive; raise PublishError."""
        result = prepared.result
        with log_context(prepared.trace_id):
            for index, refs in result.media.items():
                self.attachments.attach(result.messages[index], refs)
            try:
                self.publisher.publish_many(self._events(prepared))
            except InvalidEventError:
                # Nothing was sent: set the invalid payloads aside and publish the rest.
                before = len(result.skipped)
                result.drop_invalid()
                for skipped in result.skipped[before:]:
                    log.warning(
                        "%s: %s left out: %s", prepared.source, skipped.where, skipped.reason
                    )
                self.publisher.publish_many(self._events(prepared))
            parked = result.parked
            if parked:
                self.publisher.reject(
                    prepared.source,
                    "; ".join(s.reason for s in parked),
                    prepared.raw_sha256,
                    {"skipped": [{"where": s.where, "reason": s.reason} for s in parked]},
                )
            prepared.wait_archived()
        return Delivered(
            prepared.raw_sha256,
            [m["external_id"] for m in result.messages],
            len(result.statuses),
            result.skipped,
        )

    @staticmethod
    def _events(prepared: Prepared) -> list[Event]:
        trace_id = prepared.trace_id
        return [
            *(Event(MESSAGE_RECEIVED, p, trace_id=trace_id) for p in prepared.result.messages),
            *(Event(DELIVERY_STATUS, p, trace_id=trace_id) for p in prepared.result.statuses),
        ]

    def ingest(self, raw: bytes, source: str, normalize: Normalizer) -> Delivered:
        """Archive, normalize and publish one delivery; raise PublishError unless confirmed."""
        return self.deliver(self.prepare(raw, source, normalize))
