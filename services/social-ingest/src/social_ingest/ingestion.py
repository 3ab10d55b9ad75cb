"""Archive, normalize, fetch media, publish: how one webhook delivery becomes events.

The raw body is archived before anything else and every event (one per message, one per
receipt) is published with its confirm in flight at once; the caller answers the network
200 only after `deliver` returns. A PublishError means nothing may be acknowledged: the
network redelivers and the inbox's dedup makes the repeat harmless. What a delivery could
not become is logged with the reason and, unless left out by design, parked in
`switchboard.rejected` with the raw body's sha256 so it can be re-normalized later.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from social_ingest.normalize import Normalized, Skipped
from switchboard_shared.blobstore import BlobStore
from switchboard_shared.schemas import DELIVERY_STATUS, MESSAGE_RECEIVED, Event
from switchboard_shared.structured_logging import log_context

log = logging.getLogger(__name__)

# A normalizer with its account bound: (raw body, received_at, raw_sha256) -> Normalized.
Normalizer = Callable[[bytes, datetime, str], Normalized]


@dataclass(frozen=True)
class Prepared:
    """A delivery archived and normalized, not yet published."""

    source: str
    raw_sha256: str
    trace_id: str
    result: Normalized


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
        blobs: BlobStore,
        publisher,
        attachments,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.blobs = blobs
        self.publisher = publisher  # a ThreadLocalPublisher under gunicorn threads
        self.attachments = attachments
        self.clock = clock

    def prepare(self, raw: bytes, source: str, normalize: Normalizer) -> Prepared:
        """Archive the raw body, then normalize it."""
        sha = self.blobs.put(raw)
        trace_id = uuid.uuid4().hex
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
        return Prepared(source, sha, trace_id, result)

    def deliver(self, prepared: Prepared) -> Delivered:
        """Fetch media, publish every event and park what was skipped; raise PublishError."""
        result = prepared.result
        with log_context(prepared.trace_id):
            events = []
            for index, payload in enumerate(result.messages):
                refs = result.media.get(index)
                if refs:
                    self.attachments.attach(payload, refs)
                events.append(Event(MESSAGE_RECEIVED, payload, trace_id=prepared.trace_id))
            events += [
                Event(DELIVERY_STATUS, payload, trace_id=prepared.trace_id)
                for payload in result.statuses
            ]
            self.publisher.publish_many(events)
            parked = result.parked
            if parked:
                self.publisher.reject(
                    prepared.source,
                    "; ".join(s.reason for s in parked),
                    prepared.raw_sha256,
                    {"skipped": [{"where": s.where, "reason": s.reason} for s in parked]},
                )
        return Delivered(
            prepared.raw_sha256,
            [m["external_id"] for m in result.messages],
            len(result.statuses),
            result.skipped,
        )

    def ingest(self, raw: bytes, source: str, normalize: Normalizer) -> Delivered:
        """Archive, normalize and publish one delivery; raise PublishError unless confirmed."""
        return self.deliver(self.prepare(raw, source, normalize))
