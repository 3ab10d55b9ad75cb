"""The consumer base: validate, hand to a handler, settle the message by what happened.

    handler returns             -> ack (after the handler's work is committed)
    RetryableError              -> the next delay queue, attempt counter + 1; dead-lettered
                                   with the reason after the last attempt
    PermanentError, bad event   -> dead-lettered with the reason in a header
    any other exception         -> logged with its traceback and dead-lettered, never acked away

A dead-letter or retry is a confirmed publish followed by the ack, so a crash in between
leaves a duplicate, never a loss. With `batch_size > 1` the consumer hands a handler's
`handle_batch` up to that many prefetched messages at once (one transaction, one multi-ack);
if a batch fails, its events are retried one by one so one bad event cannot sink the rest.

Batches overlap with receiving: a batch runs on a handler thread while this thread reads and
validates the next one, so the database's time and the schema's time add up no more. Only
one batch runs at a time, in arrival order, and every ack, retry and dead-letter still
happens on this thread (a channel belongs to one thread) once its batch has finished.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from kombu import Connection
from kombu.mixins import ConsumerMixin

from switchboard_shared.config import AmqpSettings
from switchboard_shared.errors import (
    InvalidEventError,
    PermanentError,
    PublishError,
    RetryableError,
)
from switchboard_shared.metrics import EVENTS_CONSUMED, HANDLER_SECONDS
from switchboard_shared.publisher import Outgoing, Publisher
from switchboard_shared.schemas import EventType, event_type
from switchboard_shared.structured_logging import log_context
from switchboard_shared.topology import (
    DEAD_LETTER_EXCHANGE,
    DELAYS_SECONDS,
    WorkQueue,
    declare_topology,
    delay_name,
    work_queue,
)

log = logging.getLogger(__name__)

# First pause before requeueing a message that could not be moved to a delay or dead-letter
# queue; it doubles with each consecutive failure, up to 5 seconds.
REPUBLISH_BACKOFF_SECONDS = 0.25

ATTEMPT_HEADER = "x-attempt"
REASON_HEADER = "x-dead-letter-reason"
ERROR_HEADER = "x-last-error"
QUEUE_HEADER = "x-original-queue"
ROUTING_KEY_HEADER = "x-original-routing-key"
EXCHANGE_HEADER = "x-original-exchange"
FAILED_AT_HEADER = "x-failed-at"


@dataclass(frozen=True)
class ConsumedEvent:
    """An event as a handler receives it: the payload loaded by its schema."""

    type: EventType
    payload: dict
    event_id: str
    trace_id: str
    queue: str
    routing_key: str
    attempt: int
    redelivered: bool


class Handler(Protocol):
    """Handles one event; raising steers retry or dead-lettering."""

    def handle(self, event: ConsumedEvent) -> None: ...


class BatchHandler(Protocol):
    """Handles several events in one unit of work (all or nothing)."""

    def handle_batch(self, events: Sequence[ConsumedEvent]) -> None: ...


@dataclass
class _Pending:
    message: object
    event: ConsumedEvent


@dataclass
class _Running:
    """A batch on the handler thread: its messages by handler, and what each group raised."""

    groups: dict[str, list[_Pending]]
    outcome: Future[dict[str, Exception | None]]


class Consumer(ConsumerMixin):
    """Consume work queues and dispatch each event by its `schema` header."""

    def __init__(
        self,
        settings: AmqpSettings,
        queues: Sequence[WorkQueue],
        handlers: Mapping[str, Handler | BatchHandler],
        *,
        batch_size: int = 1,
        batch_wait: float = 0.02,
        prefetch: int | None = None,
        max_attempts: int = len(DELAYS_SECONDS) + 1,
    ) -> None:
        self.settings = settings
        self.queues = list(queues)
        self.handlers = dict(handlers)
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.prefetch = prefetch or max(10, batch_size * 2)
        self.max_attempts = max_attempts
        self.connection = Connection(
            settings.url, heartbeat=settings.heartbeat, connect_timeout=settings.connect_timeout
        )
        self.publisher = Publisher(settings, declare=False)
        self._pending: list[_Pending] = []
        self._running: _Running | None = None
        self._batch_thread = ThreadPoolExecutor(1, thread_name_prefix="batch")
        self._first_pending_at = 0.0
        self._republish_failures = 0

    # -- lifecycle --------------------------------------------------------------------------

    def run_until_stopped(self) -> None:
        """Consume until `stop()` (e.g. on SIGTERM); in-flight work is finished or requeued."""
        idle = self.batch_wait if self.batch_size > 1 else 1.0
        try:
            self.run(safety_interval=idle)
        finally:
            self._batch_thread.shutdown()
            self.publisher.close()

    def stop(self) -> None:
        """Stop taking messages; the message in hand is finished first."""
        self.should_stop = True

    def get_consumers(self, consumer_class, channel):
        declare_topology(self.connection_for(channel), self.settings.delivery_limit)
        consumers = []
        for queue in self.queues:
            consumer = consumer_class(
                queues=[work_queue(queue, self.settings.delivery_limit)],
                on_message=lambda message, q=queue: self._on_message(q, message),
                accept=["application/json"],
                prefetch_count=self.prefetch,
            )
            consumers.append(consumer)
        return consumers

    @staticmethod
    def connection_for(channel) -> Connection:
        """The kombu connection a channel belongs to."""
        return channel.connection.client

    def on_connection_revived(self) -> None:
        # Whatever was prefetched on the lost channel is redelivered by the broker; a batch
        # still running finishes first (its messages come back as duplicates, which the
        # handlers' idempotence absorbs), so two batches never run at once.
        self._pending.clear()
        if self._running is not None:
            self._running.outcome.exception()
            self._running = None

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        log.warning("broker unavailable (%r); retrying in %.0fs", exc, interval)

    def on_iteration(self) -> None:
        if self._running is not None and self._running.outcome.done():
            self._settle_running()
        # While a batch runs, the next one keeps growing: flushing it on the timer would
        # only block this thread until the running batch ends, reading nothing meanwhile.
        # A full batch is flushed by _on_message.
        if (
            self._pending
            and self._running is None
            and time.monotonic() - self._first_pending_at >= self.batch_wait
        ):
            self._flush()

    def on_consume_end(self, connection, channel) -> None:
        if self._pending:
            self._flush()
        self._settle_running()

    # -- one message ------------------------------------------------------------------------

    def _on_message(self, queue: WorkQueue, message) -> None:
        try:
            event = self._load(queue, message)
        except InvalidEventError as exc:
            log.error("invalid event on %s: %s", queue.name, exc.reason)
            self._dead_letter(queue, message, exc.reason)
            return
        if self.batch_size > 1 and hasattr(self.handlers[event.type.header], "handle_batch"):
            if not self._pending:
                self._first_pending_at = time.monotonic()
            self._pending.append(_Pending(message, event))
            if len(self._pending) >= self.batch_size:
                self._flush()
            return
        self._settle_one(queue, message, event)

    def _load(self, queue: WorkQueue, message) -> ConsumedEvent:
        headers = message.headers or {}
        kind = event_type(headers.get("schema"))
        if kind.header not in self.handlers:
            raise InvalidEventError(f"{queue.name} has no handler for {kind.header}")
        if message.content_type != "application/json":
            raise InvalidEventError(f"content type {message.content_type!r} is not JSON")
        try:
            body = json.loads(message.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidEventError(f"body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise InvalidEventError("body is not a JSON object")
        return ConsumedEvent(
            type=kind,
            payload=kind.load(body),
            event_id=str(headers.get("event_id") or ""),
            trace_id=str(headers.get("trace_id") or ""),
            queue=queue.name,
            routing_key=message.delivery_info.get("routing_key", ""),
            attempt=int(headers.get(ATTEMPT_HEADER) or 0),
            redelivered=bool(message.delivery_info.get("redelivered")),
        )

    def _settle_one(self, queue: WorkQueue, message, event: ConsumedEvent) -> None:
        handler = self.handlers[event.type.header]
        with log_context(event.trace_id, event.event_id):
            started = time.perf_counter()
            try:
                if hasattr(handler, "handle_batch"):
                    handler.handle_batch([event])
                else:
                    handler.handle(event)
            except RetryableError as exc:
                self._retry(queue, message, exc)
            except PermanentError as exc:
                log.warning("permanent failure on %s: %s", queue.name, exc.reason)
                self._dead_letter(queue, message, exc.reason)
            except Exception as exc:
                log.exception("unexpected error handling %s on %s", event.type.header, queue.name)
                self._dead_letter(queue, message, f"unexpected {type(exc).__name__}: {exc}")
            else:
                message.ack()
                EVENTS_CONSUMED.labels(queue.name, "ack").inc()
            finally:
                HANDLER_SECONDS.labels(queue.name).observe(time.perf_counter() - started)

    # -- batches ----------------------------------------------------------------------------

    def _flush(self) -> None:
        """Start the pending batch on the handler thread, once the one before it is settled."""
        self._settle_running()
        pending, self._pending = self._pending, []
        groups: dict[str, list[_Pending]] = {}
        for item in pending:
            groups.setdefault(item.event.type.header, []).append(item)
        self._running = _Running(groups, self._batch_thread.submit(self._handle_groups, groups))

    def _handle_groups(self, groups: dict[str, list[_Pending]]) -> dict[str, Exception | None]:
        """On the handler thread: each handler's events as one batch; what each raised."""
        outcome: dict[str, Exception | None] = {}
        for header, items in groups.items():
            started = time.perf_counter()
            try:
                self.handlers[header].handle_batch([item.event for item in items])
                outcome[header] = None
            except Exception as exc:  # settled on the consumer thread, one by one
                outcome[header] = exc
            finally:
                HANDLER_SECONDS.labels(items[0].event.queue).observe(time.perf_counter() - started)
        return outcome

    def _settle_running(self) -> None:
        """Wait for the running batch, then ack it or settle its events one by one."""
        running, self._running = self._running, None
        if running is None:
            return
        succeeded: list[_Pending] = []
        for header, failure in running.outcome.result().items():
            items = running.groups[header]
            if failure is None:
                succeeded.extend(items)
                continue
            log.warning("batch of %d failed (%r); handling one by one", len(items), failure)
            for item in items:
                self._settle_one(self._queue_named(item.event.queue), item.message, item.event)
        if not succeeded:
            return
        # Every message delivered before this batch started is in it or already settled, and
        # every later one has a higher tag, so one multi-ack of its highest tag settles exactly
        # the batch.
        max(succeeded, key=lambda item: item.message.delivery_tag).message.ack(multiple=True)
        for item in succeeded:
            EVENTS_CONSUMED.labels(item.event.queue, "ack").inc()

    def _queue_named(self, name: str) -> WorkQueue:
        return next(q for q in self.queues if q.name == name)

    # -- retry and dead-letter --------------------------------------------------------------

    def _retry(self, queue: WorkQueue, message, exc: RetryableError) -> None:
        headers = dict(message.headers or {})
        attempt = int(headers.get(ATTEMPT_HEADER) or 0) + 1
        if attempt >= self.max_attempts:
            self._dead_letter(queue, message, f"gave up after {attempt} attempts: {exc.reason}")
            return
        delay = choose_delay(attempt, exc.not_before)
        headers.update({ATTEMPT_HEADER: attempt, ERROR_HEADER: exc.reason[:1000]})
        headers.setdefault(ROUTING_KEY_HEADER, message.delivery_info.get("routing_key", ""))
        log.info("retrying in %ss (attempt %d) on %s: %s", delay, attempt, queue.name, exc.reason)
        if self._republish(
            message,
            Outgoing(
                delay_name(delay),
                queue.name,
                message.body,
                headers,
                message.properties.get("message_id"),
            ),
        ):
            EVENTS_CONSUMED.labels(queue.name, "retry").inc()

    def _dead_letter(self, queue: WorkQueue, message, reason: str) -> None:
        headers = dict(message.headers or {})
        headers.update(
            {
                REASON_HEADER: reason[:2000],
                QUEUE_HEADER: queue.name,
                EXCHANGE_HEADER: message.delivery_info.get("exchange", ""),
                FAILED_AT_HEADER: datetime.now(UTC).isoformat(),
            }
        )
        headers.setdefault(ROUTING_KEY_HEADER, message.delivery_info.get("routing_key", ""))
        outgoing = Outgoing(
            DEAD_LETTER_EXCHANGE,
            queue.name,
            message.body,
            headers,
            message.properties.get("message_id"),
        )
        if self._republish(message, outgoing):
            EVENTS_CONSUMED.labels(queue.name, "dead_letter").inc()

    def _republish(self, message, outgoing: Outgoing) -> bool:
        try:
            self.publisher.send([outgoing])
        except PublishError as exc:
            # Not acked: the broker redelivers it. Wait first: right after a broker restart a
            # delay or dead-letter queue may still be electing its leader, and requeueing at
            # once would spend the message's whole delivery limit in milliseconds, leaving the
            # broker to dead-letter it without our reason.
            self._republish_failures += 1
            pause = min(REPUBLISH_BACKOFF_SECONDS * 2 ** (self._republish_failures - 1), 5.0)
            log.error(
                "could not move a message to %s (%s); requeueing it in %.1fs",
                outgoing.exchange,
                exc,
                pause,
            )
            deadline = time.monotonic() + pause
            while not self.should_stop and time.monotonic() < deadline:
                time.sleep(0.05)
            message.requeue()
            return False
        self._republish_failures = 0
        message.ack()
        return True


def choose_delay(attempt: int, not_before: datetime | None = None) -> int:
    """Pick the delay queue for this attempt, long enough to honour `not_before`."""
    if not_before is None:
        return DELAYS_SECONDS[min(attempt, len(DELAYS_SECONDS)) - 1]
    # A provider's reset time beats the ladder: wait for it, and not much longer.
    wait = (not_before - datetime.now(UTC)).total_seconds()
    return next((d for d in DELAYS_SECONDS if d >= wait), DELAYS_SECONDS[-1])
