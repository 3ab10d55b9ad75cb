"""Events every interested process receives (each API replica's live feed), not one of them.

Work queues hand each event to one consumer; a screen-refresh event such as
`conversation.changed` must reach every API replica instead. Each subscribing process binds
a queue of its own (exclusive, deleted with its connection). A small bounded buffer queue
per broadcast routing key keeps the key routable while no subscriber runs (every publish is
mandatory, so an unroutable event would be an error), holding only the latest events.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

from kombu import Connection, Consumer, Queue

from switchboard_shared.config import AmqpSettings
from switchboard_shared.errors import InvalidEventError
from switchboard_shared.schemas import EventType
from switchboard_shared.topology import exchange

log = logging.getLogger(__name__)

BUFFER_LENGTH = 1000


def buffer_queue(routing_key: str) -> Queue:
    """The bounded queue that keeps `routing_key` routable (oldest events dropped first)."""
    return Queue(
        f"switchboard.recent.{routing_key}",
        exchange=exchange(),
        routing_key=routing_key,
        durable=True,
        queue_arguments={"x-max-length": BUFFER_LENGTH, "x-overflow": "drop-head"},
    )


def declare_buffer(settings: AmqpSettings, event_type: EventType, routing_key: str) -> None:
    """Declare the buffer of a broadcast event (idempotent; run by its publisher at start)."""
    with Connection(settings.url, connect_timeout=settings.connect_timeout) as connection:
        exchange().bind(connection.default_channel).declare()
        buffer_queue(routing_key).bind(connection.default_channel).declare()
    log.debug("declared the broadcast buffer of %s", event_type.header)


class Subscription:
    """Hand every `event_type` event with `routing_key` to `on_event`, in this process."""

    def __init__(
        self,
        settings: AmqpSettings,
        event_type: EventType,
        routing_key: str,
        on_event: Callable[[dict], None],
    ) -> None:
        self.settings = settings
        self.event_type = event_type
        self.routing_key = routing_key
        self.on_event = on_event
        self.stopping = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        """Receive until `stop()`, reconnecting after a broker outage."""
        while not self.stopping.is_set():
            try:
                self._receive()
            except Exception as exc:  # a lost broker: the feed resumes after reconnecting
                self.ready.clear()
                log.warning("broadcast feed of %s interrupted: %r", self.routing_key, exc)
                self.stopping.wait(2.0)

    def stop(self) -> None:
        """Stop receiving."""
        self.stopping.set()

    def _receive(self) -> None:
        with Connection(
            self.settings.url,
            heartbeat=self.settings.heartbeat,
            connect_timeout=self.settings.connect_timeout,
        ) as connection:
            channel = connection.channel()
            queue = Queue(
                "",
                exchange=exchange(),
                routing_key=self.routing_key,
                exclusive=True,
                auto_delete=True,
                durable=False,
            )
            with Consumer(
                channel,
                queues=[queue],
                on_message=self._deliver,
                accept=["application/json"],
                no_ack=True,
            ):
                self.ready.set()
                while not self.stopping.is_set():
                    try:
                        connection.drain_events(timeout=1.0)
                    except TimeoutError:
                        connection.heartbeat_check()

    def _deliver(self, message) -> None:
        try:
            body = message.body if isinstance(message.body, str) else message.body.decode()
            payload = self.event_type.load(json.loads(body))
        except (InvalidEventError, ValueError) as exc:
            log.warning("ignoring a malformed %s broadcast: %s", self.routing_key, exc)
            return
        self.on_event(payload)
