"""`/api/v1/events` streams every conversation change the bus carries, to each replica."""

from __future__ import annotations

import json
import threading

from switchboard_shared.broadcast import declare_buffer
from switchboard_shared.publisher import Publisher
from switchboard_shared.schemas import CONVERSATION_CHANGED, Event
from tests.integration.inbox.api_support import make_agent
from tests.support.builders import conversation_changed


def test_every_replica_streams_the_changes_published_on_the_bus(
    inbox_settings, pool, db, broker, amqp_settings
):
    from inbox.app import create_app

    replicas = [create_app(inbox_settings, pool) for _ in range(2)]
    ann = make_agent(pool, "ann@example.com")
    declare_buffer(amqp_settings, CONVERSATION_CHANGED, "conversation.changed")
    publisher = Publisher(amqp_settings)
    publisher.publish(Event(CONVERSATION_CHANGED, conversation_changed()))  # connected before
    streams = []
    for app in replicas:
        response = app.test_client().get("/api/v1/events", headers=ann.headers, buffered=False)
        assert response.status_code == 200
        assert response.mimetype == "text/event-stream"
        chunks = iter(response.response)
        assert next(chunks) == b"retry: 3000\n\n"
        streams.append((response, chunks))
    # No waiting here: a stream's first line is only sent once its replica's subscription is
    # live, so a change published right after it must arrive.
    payload = conversation_changed(change="assigned")
    publisher.publish(Event(CONVERSATION_CHANGED, payload))
    publisher.close()
    for response, chunks in streams:
        received = _next_event(chunks)
        assert received["conversation_id"] == payload["conversation_id"]
        assert received["change"] == "assigned"
        response.close()
    for app in replicas:
        app.extensions["inbox.live_feed"].stop()


def _next_event(chunks) -> dict:
    result: dict = {}

    def read() -> None:
        for chunk in chunks:
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            if text.startswith("event: conversation.changed"):
                result.update(json.loads(text.split("data: ", 1)[1]))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    assert result, "no conversation.changed event within 10 s"
    return result
