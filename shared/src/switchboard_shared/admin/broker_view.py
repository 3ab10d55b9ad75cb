"""Queue depths and consumers as the broker reports them, read with pika."""

from __future__ import annotations

from dataclasses import dataclass

import pika
import pika.exceptions

from switchboard_shared.topology import DELAYS_SECONDS, REJECTED_QUEUE, WORK_QUEUES, delay_name


@dataclass(frozen=True)
class QueueState:
    """What the broker says about one queue."""

    name: str
    messages: int
    consumers: int
    dead_letters: int | None  # messages in its .dlq; None for queues without one


def connect(url: str) -> pika.BlockingConnection:
    """Open a blocking pika connection to the broker at `url`."""
    parameters = pika.URLParameters(url)
    parameters.connection_attempts = 1
    parameters.socket_timeout = 5
    return pika.BlockingConnection(parameters)


def queue_states(connection: pika.BlockingConnection) -> list[QueueState]:
    """Depth, consumers and dead-letter count of every queue in the topology."""
    states = []
    for queue in WORK_QUEUES:
        messages, consumers = _depth(connection, queue.name)
        dead, _ = _depth(connection, queue.dead_letter_queue)
        states.append(QueueState(queue.name, messages, consumers, dead))
    for name in [delay_name(seconds) for seconds in DELAYS_SECONDS] + [REJECTED_QUEUE]:
        messages, consumers = _depth(connection, name)
        states.append(QueueState(name, messages, consumers, None))
    return states


def _depth(connection: pika.BlockingConnection, name: str) -> tuple[int, int]:
    channel = connection.channel()
    try:
        ok = channel.queue_declare(name, passive=True).method
        return ok.message_count, ok.consumer_count
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            return -1, 0  # not declared yet: no service has started
        raise
    finally:
        if channel.is_open:
            channel.close()
