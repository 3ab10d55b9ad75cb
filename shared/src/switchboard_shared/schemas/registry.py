"""Event types by their `schema` header, and the Event envelope that travels on the bus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError

from switchboard_shared.errors import InvalidEventError
from switchboard_shared.schemas import (
    conversation_changed,
    delivery_status,
    message_received,
    reply_requested,
)
from switchboard_shared.schemas.event_ids import new_event_id, new_trace_id
from switchboard_shared.schemas.fast_load import SchemaLoader, compile_loader, load_fast
from switchboard_shared.schemas.json_ready import as_json_ready


@dataclass(frozen=True)
class EventType:
    """A named, versioned event: its schema and how it is routed."""

    name: str
    version: int
    schema: Schema
    routing_key_for: Callable[[dict], str]
    # Compiled from `schema`: loads well-formed payloads without marshmallow's per-field machinery.
    fast_loader: SchemaLoader | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fast_loader", compile_loader(self.schema))

    @property
    def header(self) -> str:
        """The value of the `schema` message header, e.g. `message.received/1`."""
        return f"{self.name}/{self.version}"

    def validate(self, payload: dict) -> dict:
        """Return the JSON-ready payload, or raise InvalidEventError with the field errors.

        The result is `payload` itself when that already is JSON-ready (see as_json_ready).
        """
        data = as_json_ready(payload)
        if load_fast(self.fast_loader, data) is not None:
            return data
        errors = self.schema.validate(data)
        if errors:
            raise InvalidEventError(f"invalid {self.header}: {_first_error(errors)}", errors)
        return data

    def load(self, payload: dict) -> dict:
        """Deserialize a JSON payload (datetimes parsed), or raise InvalidEventError."""
        loaded = load_fast(self.fast_loader, payload)
        if loaded is not None:
            return loaded
        try:
            return self.schema.load(payload)
        except ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, dict) else {"_": exc.messages}
            raise InvalidEventError(
                f"invalid {self.header}: {_first_error(messages)}", messages
            ) from None


MESSAGE_RECEIVED = EventType(
    "message.received", 1, message_received.MessageReceivedSchema(), message_received.routing_key
)
REPLY_REQUESTED = EventType(
    "reply.requested", 1, reply_requested.ReplyRequestedSchema(), reply_requested.routing_key
)
DELIVERY_STATUS = EventType(
    "delivery.status", 1, delivery_status.DeliveryStatusSchema(), delivery_status.routing_key
)
CONVERSATION_CHANGED = EventType(
    "conversation.changed",
    1,
    conversation_changed.ConversationChangedSchema(),
    conversation_changed.routing_key,
)
_BY_HEADER = {
    t.header: t for t in (MESSAGE_RECEIVED, REPLY_REQUESTED, DELIVERY_STATUS, CONVERSATION_CHANGED)
}


def event_type(header: str | None) -> EventType:
    """Look up an event type by its `schema` header; unknown ones are invalid events."""
    try:
        return _BY_HEADER[header or ""]
    except KeyError:
        raise InvalidEventError(f"unknown schema header {header!r}") from None


@dataclass(frozen=True)
class Event:
    """An event as published or consumed: type, payload and the ids that follow it around."""

    type: EventType
    payload: dict
    event_id: str = field(default_factory=new_event_id)
    trace_id: str = field(default_factory=new_trace_id)

    @property
    def routing_key(self) -> str:
        """The topic routing key this event is published with."""
        return self.type.routing_key_for(self.payload)

    def headers(self) -> dict[str, str]:
        """The AMQP headers that identify this event."""
        return {"schema": self.type.header, "event_id": self.event_id, "trace_id": self.trace_id}


def _first_error(messages: Any, path: str = "") -> str:
    """Flatten marshmallow's nested error dict into the first readable `field: message`."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            return _first_error(value, f"{path}.{key}" if path else str(key))
    if isinstance(messages, list) and messages:
        return _first_error(messages[0], path)
    return f"{path}: {messages}" if path else str(messages)
