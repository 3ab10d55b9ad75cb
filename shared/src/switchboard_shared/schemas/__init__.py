"""The bus contract: every event's schema, name/version and routing key."""

from switchboard_shared.schemas.json_ready import to_json_ready
from switchboard_shared.schemas.registry import (
    CONVERSATION_CHANGED,
    DELIVERY_STATUS,
    MESSAGE_RECEIVED,
    REPLY_REQUESTED,
    Event,
    EventType,
    event_type,
)

__all__ = [
    "CONVERSATION_CHANGED",
    "DELIVERY_STATUS",
    "MESSAGE_RECEIVED",
    "REPLY_REQUESTED",
    "Event",
    "EventType",
    "event_type",
    "to_json_ready",
]
