"""The message published for an event: the same bytes as the plain json.dumps of its payload."""

from __future__ import annotations

import json

import pytest

from switchboard_shared.errors import InvalidEventError
from switchboard_shared.publisher import event_message
from switchboard_shared.schemas import MESSAGE_RECEIVED, Event, to_json_ready
from switchboard_shared.topology import EXCHANGE
from tests.support.builders import BUILDERS, message_received


def _reference_body(payload: dict) -> bytes:
    return json.dumps(to_json_ready(payload), separators=(",", ":"), ensure_ascii=False).encode()


PAYLOADS = [
    *((kind, build) for kind, build in BUILDERS.items()),
    (
        MESSAGE_RECEIVED,
        lambda: message_received(
            subject="Bestellung \u00fcber \u20ac 12 \U0001f4e6",
            text='tab\there "quoted" back\\slash \x01 and \u2028',
            metadata={"score": 0.1, "big": 2**70, "nested": {"a": [1, None, True]}, "t": (1, 2)},
        ),
    ),
]


@pytest.mark.parametrize(("kind", "build"), PAYLOADS)
def test_the_body_is_the_plain_json_of_the_payload(kind, build):
    payload = build()
    for sent in (payload, to_json_ready(payload)):  # datetimes or already JSON-ready
        event = Event(kind, sent)
        message = event_message(event)
        assert message.body == _reference_body(payload)
        assert message.exchange == EXCHANGE
        assert message.routing_key == event.routing_key
        assert message.message_id == event.event_id
        assert message.headers == {
            "schema": kind.header,
            "event_id": event.event_id,
            "trace_id": event.trace_id,
        }


def test_an_invalid_payload_is_refused_before_serializing():
    with pytest.raises(InvalidEventError, match="channel"):
        event_message(Event(MESSAGE_RECEIVED, message_received(channel="carrier-pigeon")))
    with pytest.raises(InvalidEventError):
        event_message(Event(MESSAGE_RECEIVED, {**to_json_ready(message_received()), "x": 1}))
