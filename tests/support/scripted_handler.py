"""A handler that does what each test message's text says: ok, retry, permanent, crash, slow:N."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from switchboard_shared.consumer import ConsumedEvent
from switchboard_shared.errors import PermanentError, RetryableError


class ScriptedHandler:
    """Records what it saw; fails the way the message text says."""

    def __init__(self, journal: Path | None = None) -> None:
        self.seen: list[ConsumedEvent] = []
        self.journal = journal

    def handle(self, event: ConsumedEvent) -> None:
        """Act on one event as its text says."""
        self.seen.append(event)
        text = event.payload["text"]
        self._write(f"started {event.event_id}")
        if text == "retry":
            raise RetryableError("upstream said try later")
        if text == "permanent":
            raise PermanentError("recipient does not exist")
        if text == "crash":
            raise ZeroDivisionError("handler bug")
        if text.startswith("slow:"):
            time.sleep(float(text.split(":", 1)[1]))
        self._write(f"done {event.event_id}")

    def _write(self, line: str) -> None:
        if self.journal is not None:
            with self.journal.open("a") as fh:
                fh.write(line + "\n")


class ScriptedBatchHandler(ScriptedHandler):
    """The same, one batch at a time: any failing event fails the whole batch."""

    def __init__(self) -> None:
        super().__init__()
        self.batch_sizes: list[int] = []

    def handle_batch(self, events: Sequence[ConsumedEvent]) -> None:
        """Act on every event; all or nothing."""
        self.batch_sizes.append(len(events))
        for event in events:
            self.handle(event)
