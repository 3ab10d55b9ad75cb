"""Every exchange and queue on the bus, declared by one idempotent function.

    switchboard (topic) ──binding──► work queue (quorum, delivery limit) ──► consumer
                                         │ dead-letter (reason in a header)
                                         ▼
    switchboard.dlx (direct, key = queue name) ──► <queue>.dlq (quorum, kept until replayed)

    retry: consumer ──► switchboard.delay.<d> (fanout) ──► queue switchboard.delay.<d> (TTL d)
           ──expires──► switchboard.retry (direct, key = queue name) ──► the same work queue

Delay queues are shared by all work queues: the routing key a message carries into a delay
queue is the name of the work queue it came from, and dead-lettering keeps it, so the
`switchboard.retry` exchange routes it home. Quorum queues with at-least-once dead-lettering
keep every hop durable across broker restarts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kombu import Connection, Exchange, Queue, binding

EXCHANGE = "switchboard"
DEAD_LETTER_EXCHANGE = "switchboard.dlx"
RETRY_EXCHANGE = "switchboard.retry"
# Inbound payloads that could not be normalized at all (not email, unknown webhook kinds):
# parked with the reason and the archived raw payload's sha256, for an operator to look at.
REJECTED_QUEUE = "switchboard.rejected"
DELAYS_SECONDS = (1, 10, 60, 600)


@dataclass(frozen=True)
class WorkQueue:
    """A durable work queue: its name, the routing keys it takes, and what it is for."""

    name: str
    bindings: tuple[str, ...]
    purpose: str

    @property
    def dead_letter_queue(self) -> str:
        """The name of the queue its poison messages go to."""
        return f"{self.name}.dlq"


WORK_QUEUES: tuple[WorkQueue, ...] = (
    WorkQueue("inbox.messages", ("message.received.*",), "inbound messages to store and thread"),
    WorkQueue("inbox.statuses", ("delivery.status.*",), "delivery statuses and receipts"),
    WorkQueue("notifier.email", ("reply.requested.email",), "replies sent by SMTP"),
    WorkQueue(
        "notifier.meta",
        (
            "reply.requested.messenger",
            "reply.requested.facebook_comment",
            "reply.requested.instagram_dm",
            "reply.requested.instagram_comment",
        ),
        "replies sent through Meta's Graph API",
    ),
    WorkQueue("notifier.whatsapp", ("reply.requested.whatsapp",), "replies sent by WhatsApp Cloud"),
    WorkQueue(
        "notifier.x", ("reply.requested.x_mention", "reply.requested.x_dm"), "replies sent to X"
    ),
    WorkQueue("notifier.telegram", ("reply.requested.telegram",), "replies sent by Telegram bots"),
    WorkQueue("notifier.api", ("reply.requested.api",), "replies posted to API channel callbacks"),
)
QUEUES_BY_NAME = {q.name: q for q in WORK_QUEUES}


def delay_name(seconds: int) -> str:
    """Name of the delay exchange and queue that hold messages for `seconds`."""
    return f"switchboard.delay.{seconds}s"


def exchange() -> Exchange:
    """The topic exchange every event is published to."""
    return Exchange(EXCHANGE, type="topic", durable=True)


def work_queue(queue: WorkQueue, delivery_limit: int) -> Queue:
    """The kombu Queue for `queue`, bound to every routing key it takes."""
    return Queue(
        queue.name,
        bindings=[binding(exchange(), routing_key=key) for key in queue.bindings]
        + [binding(Exchange(RETRY_EXCHANGE, type="direct", durable=True), routing_key=queue.name)],
        durable=True,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": queue.name,
            # At-least-once dead-lettering: a poison message reaches its DLQ or stays put.
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )


def declare_topology(
    connection: Connection, delivery_limit: int = 20, queues: Iterable[WorkQueue] = WORK_QUEUES
) -> None:
    """Declare every exchange and queue; safe to run again and from several processes at once."""
    channel = connection.default_channel
    main = exchange().bind(channel)
    main.declare()
    dlx = Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True).bind(channel)
    dlx.declare()
    retry = Exchange(RETRY_EXCHANGE, type="direct", durable=True).bind(channel)
    retry.declare()
    for seconds in DELAYS_SECONDS:
        delay = Exchange(delay_name(seconds), type="fanout", durable=True).bind(channel)
        delay.declare()
        Queue(
            delay_name(seconds),
            exchange=delay,
            durable=True,
            queue_arguments={
                "x-queue-type": "quorum",
                "x-message-ttl": seconds * 1000,
                "x-dead-letter-exchange": RETRY_EXCHANGE,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        ).bind(channel).declare()
    Queue(
        REJECTED_QUEUE,
        exchange=dlx,
        routing_key=REJECTED_QUEUE,
        durable=True,
        queue_arguments={"x-queue-type": "quorum"},
    ).bind(channel).declare()
    for queue in queues:
        # A dead-letter queue has no delivery limit: inspecting it must never move it on.
        Queue(
            queue.dead_letter_queue,
            exchange=dlx,
            routing_key=queue.name,
            durable=True,
            queue_arguments={"x-queue-type": "quorum"},
        ).bind(channel).declare()
        work_queue(queue, delivery_limit).bind(channel).declare()
