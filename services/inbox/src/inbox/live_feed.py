"""Each API process's live feed of conversation.changed, fanned out to its SSE streams.

One broadcast subscription per process (started with the first stream) receives every
change from the bus, whichever worker or replica made it; each open stream has a bounded
queue of its own, so a slow browser loses old events instead of holding memory.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator

from switchboard_shared.broadcast import Subscription
from switchboard_shared.config import AmqpSettings
from switchboard_shared.schemas import CONVERSATION_CHANGED, to_json_ready

STREAM_BACKLOG = 1000
KEEPALIVE_SECONDS = 15.0
# How long a new stream waits for the process's subscription before its first line; with the
# broker down it starts anyway and events flow once the subscription is back.
SUBSCRIBE_WAIT_SECONDS = 5.0


class LiveFeed:
    """Fan-out of bus events to the streams open in this process."""

    def __init__(self, settings: AmqpSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._streams: set[queue.Queue] = set()
        self._subscription: Subscription | None = None

    def start(self) -> Subscription:
        """Subscribe to the bus once per process; return the subscription."""
        with self._lock:
            if self._subscription is None:
                self._subscription = Subscription(
                    self.settings, CONVERSATION_CHANGED, "conversation.changed", self.publish
                )
                threading.Thread(
                    target=self._subscription.run, name="live-feed", daemon=True
                ).start()
            return self._subscription

    def stop(self) -> None:
        """Stop the subscription (tests, shutdown)."""
        if self._subscription is not None:
            self._subscription.stop()

    def publish(self, payload: dict) -> None:
        """Hand an event to every open stream; a full stream drops its oldest event."""
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            try:
                stream.put_nowait(payload)
            except queue.Full:
                try:
                    stream.get_nowait()
                    stream.put_nowait(payload)
                except (queue.Empty, queue.Full):
                    pass

    def stream(self, max_seconds: float) -> Iterator[str]:
        """Server-sent events for one client, for at most `max_seconds` (it reconnects).

        The first line is sent once the subscription is live, so a client that has read it
        (and then loads the list) misses no change made after that.
        """
        subscription = self.start()
        mine: queue.Queue = queue.Queue(maxsize=STREAM_BACKLOG)
        with self._lock:
            self._streams.add(mine)
        subscription.ready.wait(SUBSCRIBE_WAIT_SECONDS)
        deadline = threading.Event()
        timer = threading.Timer(max_seconds, deadline.set)
        timer.daemon = True
        timer.start()
        try:
            yield "retry: 3000\n\n"
            while not deadline.is_set():
                try:
                    payload = mine.get(timeout=KEEPALIVE_SECONDS)
                except queue.Empty:
                    yield ": keep-alive\n\n"
                    continue
                yield _event_text(payload)
        finally:
            timer.cancel()
            with self._lock:
                self._streams.discard(mine)


def _event_text(payload: dict) -> str:
    data = json.dumps(to_json_ready(payload), separators=(",", ":"))
    return f"event: conversation.changed\ndata: {data}\n\n"
