"""The `delivery.status/1` events the notifier publishes about a reply."""

from __future__ import annotations

from datetime import datetime

from switchboard_shared.schemas import DELIVERY_STATUS, Event


def status_event(
    reply: dict,
    status: str,
    now: datetime,
    trace_id: str | None = None,
    *,
    external_ids: tuple[str, ...] = (),
    reason: str | None = None,
    next_attempt_at: datetime | None = None,
    attempt: int | None = None,
    possible_duplicate: bool = False,
) -> Event:
    """A status for `reply`: sending, sent (provider ids), retrying (next time) or failed."""
    payload = {
        "channel": reply["channel"],
        "inbox": reply["inbox"],
        "status": status,
        "reply_id": reply["reply_id"],
        "external_ids": [i for i in external_ids if i],
        "reason": reason[:2000] if reason else None,
        "next_attempt_at": next_attempt_at,
        "attempt": attempt,
        "possible_duplicate": possible_duplicate,
        "occurred_at": now,
    }
    if trace_id:
        return Event(DELIVERY_STATUS, payload, trace_id=trace_id)
    return Event(DELIVERY_STATUS, payload)
