"""`delivery.status/1`: move our replies' delivery state forward and tell the agents' screens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from psycopg_pool import ConnectionPool

from inbox import changes, delivery
from inbox.handlers.transaction import batch_transaction
from inbox.repository.delivery import DeliveryRepository
from inbox.repository.outbox import OutboxRepository
from switchboard_shared.consumer import ConsumedEvent


class DeliveryStatusHandler:
    """Apply statuses, a batch per transaction; a late status never moves a reply back."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def handle(self, event: ConsumedEvent) -> None:
        """Handle one status."""
        self.handle_batch([event])

    def handle_batch(self, events: Sequence[ConsumedEvent]) -> None:
        """Handle statuses all or nothing."""
        with batch_transaction(self.pool) as connection:
            repository = DeliveryRepository(connection)
            announcements = []
            for event in events:
                for conversation_id in self._apply(repository, event.payload):
                    announcements.append(
                        changes.conversation_changed(
                            conversation_id,
                            "delivery_updated",
                            trace_id=event.trace_id,
                            inbox=event.payload["inbox"],
                            channel=event.payload["channel"],
                            message_id=_uuid_or_none(event.payload.get("reply_id")),
                            occurred_at=event.payload["occurred_at"],
                        )
                    )
            OutboxRepository(connection).add(announcements)

    @staticmethod
    def _apply(repository: DeliveryRepository, payload: dict) -> list[str]:
        status = payload["status"]
        reason = payload.get("reason")
        if payload.get("possible_duplicate"):
            reason = f"{reason or status} (possibly sent twice)"
        change = {
            "status": status,
            "reason": reason,
            "at": payload["occurred_at"],
            "allowed": delivery.predecessors(status),
        }
        reply_id = _uuid_or_none(payload.get("reply_id"))
        provider_ids = payload.get("external_ids") or []
        if reply_id is not None:
            if provider_ids:
                repository.record_provider_ids(reply_id, provider_ids)
            return repository.advance_reply(reply_id, **change)
        if provider_ids:
            return repository.advance_by_provider_ids(payload["channel"], provider_ids, **change)
        return repository.advance_to_watermark(
            payload["channel"],
            payload["inbox"],
            payload["recipient_id"],
            payload["watermark"],
            **change,
        )


def _uuid_or_none(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None
