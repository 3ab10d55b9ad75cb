"""Inspect and replay dead-lettered messages.

Replay moves a message from `<queue>.dlq` back into `<queue>` through the `switchboard.retry`
exchange (routed by queue name, so other subscribers of the same routing key do not get a
second copy) with a publisher confirm, and removes it from the DLQ only after the confirm.
Interrupted at any point, a replay loses nothing: at worst one message is in both queues,
and the consumers' deduplication makes the repeat harmless.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pika
import pika.exceptions

from switchboard_shared.consumer import (
    ATTEMPT_HEADER,
    ERROR_HEADER,
    EXCHANGE_HEADER,
    FAILED_AT_HEADER,
    QUEUE_HEADER,
    REASON_HEADER,
)
from switchboard_shared.topology import QUEUES_BY_NAME, RETRY_EXCHANGE

_DEAD_LETTER_HEADERS = (
    ATTEMPT_HEADER,
    ERROR_HEADER,
    EXCHANGE_HEADER,
    FAILED_AT_HEADER,
    REASON_HEADER,
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-delivery-count",
)


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message as an operator sees it."""

    reason: str
    headers: dict
    body: str


def reason_of(headers: dict) -> str:
    """Why the message was dead-lettered: our header, else the broker's x-death record."""
    if headers.get(REASON_HEADER):
        return _text(headers[REASON_HEADER])
    deaths = headers.get("x-death") or []
    if deaths:
        death = deaths[0]
        return f"broker: {_text(death.get('reason'))} in {_text(death.get('queue'))}"
    return "unknown (no reason header)"


def show(connection: pika.BlockingConnection, queue: str, limit: int) -> list[DeadLetter]:
    """Return the first `limit` messages of `queue`'s DLQ, leaving them in place."""
    channel = connection.channel()
    try:
        letters = []
        for _, properties, body in _take(channel, _dlq_name(queue), limit):
            headers = _plain(properties.headers or {})
            letters.append(DeadLetter(reason_of(headers), headers, body.decode("utf-8", "replace")))
        return letters
    finally:
        channel.close()  # unacked gets go back to the queue, in order


def replay(connection: pika.BlockingConnection, queue: str, limit: int | None = None) -> int:
    """Move up to `limit` dead letters (all if None) back into `queue`; return how many."""
    dlq = _dlq_name(queue)
    channel = connection.channel()
    channel.confirm_delivery()
    moved = 0
    try:
        while limit is None or moved < limit:
            method, properties, body = channel.basic_get(dlq, auto_ack=False)
            if method is None:
                break
            headers = {
                k: v for k, v in (properties.headers or {}).items() if k not in _DEAD_LETTER_HEADERS
            }
            headers.setdefault(QUEUE_HEADER, queue)
            properties.headers = headers
            # Raises on a nack or an unroutable message, before the DLQ copy is acked.
            channel.basic_publish(RETRY_EXCHANGE, queue, body, properties, mandatory=True)
            channel.basic_ack(method.delivery_tag)
            moved += 1
    finally:
        if channel.is_open:
            channel.close()
    return moved


def _dlq_name(queue: str) -> str:
    if queue not in QUEUES_BY_NAME:
        known = ", ".join(sorted(QUEUES_BY_NAME))
        raise ValueError(f"unknown queue {queue!r}; the work queues are: {known}")
    return QUEUES_BY_NAME[queue].dead_letter_queue


def _take(channel, queue: str, limit: int) -> Iterator[tuple]:
    for _ in range(limit):
        method, properties, body = channel.basic_get(queue, auto_ack=False)
        if method is None:
            return
        yield method, properties, body


def _plain(value):
    """Headers as JSON-friendly values (pika gives bytes for some AMQP types)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def render(letter: DeadLetter) -> str:
    """A readable block for one dead letter."""
    try:
        body = json.dumps(json.loads(letter.body), indent=2, ensure_ascii=False)
    except ValueError:
        body = letter.body
    headers = json.dumps(letter.headers, indent=2, ensure_ascii=False, default=str)
    return f"reason: {letter.reason}\nheaders: {headers}\nbody: {body}\n"
