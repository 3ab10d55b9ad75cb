"""SQL of delivery statuses: guarded updates that only ever move a reply's state forward."""

from __future__ import annotations

from datetime import datetime

import psycopg

# A reply the notifier may have sent twice keeps saying so (its `sent` status carries the flag,
# later receipts do not); other reasons belong to `failed` and `retrying` only.
_SET = (
    "UPDATE inbox.messages SET delivery_status = %(status)s,"
    " delivery_reason = CASE WHEN %(status)s IN ('failed', 'retrying') THEN %(reason)s"
    "  WHEN %(reason)s::text LIKE '%%(possibly sent twice)' THEN %(reason)s"
    "  WHEN delivery_reason LIKE '%%(possibly sent twice)' THEN delivery_reason END,"
    " delivery_updated_at = %(at)s"
)
_WATERMARK = (
    " WHERE channel = %(channel)s AND created_at <= %(watermark)s"
    " AND conversation_id IN (SELECT c.id FROM inbox.conversations c"
    "  JOIN inbox.inboxes i ON i.id = c.inbox_id"
    "  JOIN inbox.contact_identities ci ON ci.contact_id = c.contact_id"
    "  WHERE i.channel = %(channel)s AND i.address = %(inbox)s AND ci.value = %(recipient)s)"
)
_GUARD = " AND direction = 'outbound' AND delivery_status = ANY(%(allowed)s)"


class DeliveryRepository:
    """Delivery updates on the caller's connection and transaction."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection

    def record_provider_ids(self, reply_id: str, provider_ids: list[str]) -> None:
        """Remember the provider's ids of our reply, whatever its state (receipts name them)."""
        self.connection.execute(
            "UPDATE inbox.messages SET provider_ids ="
            " ARRAY(SELECT DISTINCT p FROM unnest(provider_ids || %s::text[]) AS p)"
            " WHERE id = %s AND direction = 'outbound'",
            (provider_ids, reply_id),
        )

    def advance_reply(self, reply_id: str, **change) -> list[str]:
        """Move our reply `reply_id` to the new state if it may; return its conversation."""
        return self._run(_SET + " WHERE id = %(reply_id)s" + _GUARD, reply_id=reply_id, **change)

    def advance_by_provider_ids(self, channel: str, provider_ids: list[str], **change) -> list[str]:
        """Move the replies the provider knows by these ids; return their conversations."""
        return self._run(
            _SET + " WHERE channel = %(channel)s AND provider_ids && %(ids)s::text[]" + _GUARD,
            channel=channel,
            ids=provider_ids,
            **change,
        )

    def advance_to_watermark(
        self, channel: str, inbox: str, recipient_id: str, watermark: datetime, **change
    ) -> list[str]:
        """Move every reply to `recipient_id` sent up to `watermark` (Messenger receipts)."""
        return self._run(
            _SET + _WATERMARK + _GUARD,
            channel=channel,
            inbox=inbox,
            recipient=recipient_id,
            watermark=watermark,
            **change,
        )

    def _run(self, statement: str, **parameters) -> list[str]:
        rows = self.connection.execute(statement + " RETURNING conversation_id", parameters)
        return sorted({str(cid) for (cid,) in rows})
