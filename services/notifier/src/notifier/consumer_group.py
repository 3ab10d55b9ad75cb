"""Several consumers in one process, one thread each, started and stopped together.

Each provider's work queue has its own consumer (its own connection and prefetch), so a
provider that is slow or throttled holds up only its own thread: replies to the others keep
flowing. The group quacks like a Consumer (`run_until_stopped`, `stop`), so the shared
`run_worker` serves its health endpoints and turns SIGTERM into `stop()`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from switchboard_shared.consumer import Consumer

log = logging.getLogger(__name__)


class ConsumerGroup:
    """Run consumers in threads until stopped; a consumer that crashes stops the group."""

    def __init__(self, consumers: Sequence[Consumer], on_exit: Callable[[], None] = lambda: None):
        self.consumers = list(consumers)
        self.on_exit = on_exit
        self._stopped = threading.Event()
        self.failed = False

    def run_until_stopped(self) -> None:
        """Start every consumer's thread and wait for all of them to finish."""
        threads = [
            threading.Thread(target=self._run, args=(c,), name=f"consume-{c.queues[0].name}")
            for c in self.consumers
        ]
        for thread in threads:
            thread.start()
        try:
            # Waiting on an Event with a timeout keeps the main thread free for signals.
            while not self._stopped.wait(0.5):
                if not any(t.is_alive() for t in threads):
                    break
            self.stop()
            for thread in threads:
                thread.join()
        finally:
            self.on_exit()

    def _run(self, consumer: Consumer) -> None:
        try:
            consumer.run_until_stopped()
        except Exception:
            log.exception("consumer of %s crashed; stopping", consumer.queues[0].name)
            self.failed = True
            self.stop()

    def stop(self) -> None:
        """Ask every consumer to finish the reply in hand and stop."""
        self._stopped.set()
        for consumer in self.consumers:
            consumer.stop()
