import json

import pytest

from switchboard_shared.errors import InvalidEventError
from switchboard_shared.schemas import (
    CONVERSATION_CHANGED,
    DELIVERY_STATUS,
    MESSAGE_RECEIVED,
    REPLY_REQUESTED,
    Event,
    event_type,
)
from tests.support.builders import BUILDERS, delivery_status, message_received


@pytest.mark.parametrize("kind", list(BUILDERS), ids=lambda k: k.header)
def test_every_event_round_trips_through_json(kind):
    sent = BUILDERS[kind]()
    first = kind.validate(kind.load(json.loads(json.dumps(kind.validate(sent)))))
    second = kind.validate(kind.load(json.loads(json.dumps(first))))
    assert first == second
    assert all(
        first[key] == value
        for key, value in kind.validate(sent).items()
        if not isinstance(value, dict)
    )


@pytest.mark.parametrize("kind", list(BUILDERS), ids=lambda k: k.header)
def test_unknown_fields_are_rejected(kind):
    with pytest.raises(InvalidEventError, match="surprise: Unknown field"):
        kind.validate({**BUILDERS[kind](), "surprise": 1})


def test_unknown_nested_fields_are_rejected():
    with pytest.raises(InvalidEventError, match=r"author\.nickname"):
        MESSAGE_RECEIVED.validate(message_received(author={"external_id": "1", "nickname": "x"}))


def test_required_fields_and_values_are_checked():
    with pytest.raises(InvalidEventError, match="channel"):
        MESSAGE_RECEIVED.validate(message_received(channel="carrier-pigeon"))
    with pytest.raises(InvalidEventError, match="raw_sha256"):
        MESSAGE_RECEIVED.validate(message_received(raw_sha256="nope"))
    payload = message_received()
    del payload["text"]
    with pytest.raises(InvalidEventError, match="text"):
        MESSAGE_RECEIVED.validate(payload)


def test_naive_datetimes_are_rejected():
    with pytest.raises(InvalidEventError, match="sent_at"):
        MESSAGE_RECEIVED.validate(message_received(sent_at="2026-01-01T10:00:00"))


def test_a_status_must_name_what_it_is_about():
    with pytest.raises(InvalidEventError, match="reply_id, external_ids or a watermark"):
        DELIVERY_STATUS.validate(delivery_status(reply_id=None, external_ids=[]))


def test_headers_and_routing_keys():
    event = Event(MESSAGE_RECEIVED, message_received(channel="telegram"))
    assert event.headers()["schema"] == "message.received/1"
    assert event.routing_key == "message.received.telegram"
    assert Event(REPLY_REQUESTED, BUILDERS[REPLY_REQUESTED]()).routing_key == (
        "reply.requested.messenger"
    )
    assert Event(CONVERSATION_CHANGED, BUILDERS[CONVERSATION_CHANGED]()).routing_key == (
        "conversation.changed"
    )
    assert event_type("delivery.status/1") is DELIVERY_STATUS
    with pytest.raises(InvalidEventError, match="unknown schema header"):
        event_type("message.received/99")
