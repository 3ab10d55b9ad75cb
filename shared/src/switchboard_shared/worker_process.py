"""Run a consumer as a process: health endpoints, SIGTERM handling, exit code."""

from __future__ import annotations

import logging
import signal
from collections.abc import Mapping

from switchboard_shared.consumer import Consumer
from switchboard_shared.health import Check, serve_worker_health

log = logging.getLogger(__name__)


def run_worker(
    consumer: Consumer, *, health_host: str, health_port: int, checks: Mapping[str, Check]
) -> int:
    """Consume until SIGTERM or SIGINT, finishing the message in hand; return the exit code."""

    def stop(signum: int, _frame) -> None:
        log.info(
            "%s received: finishing the message in hand, then stopping", signal.Signals(signum).name
        )
        consumer.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server = serve_worker_health(health_host, health_port, checks)
    try:
        consumer.run_until_stopped()
    finally:
        server.shutdown()
    log.info("stopped")
    return 0
