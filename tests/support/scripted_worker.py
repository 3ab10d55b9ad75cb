"""A worker process for tests: `python -m tests.support.scripted_worker AMQP_URL JOURNAL`."""

from __future__ import annotations

import sys
from pathlib import Path

from switchboard_shared.config import AmqpSettings, LogSettings, Secret
from switchboard_shared.consumer import Consumer
from switchboard_shared.structured_logging import configure_logging
from switchboard_shared.topology import QUEUES_BY_NAME
from switchboard_shared.worker_process import run_worker
from tests.support.scripted_handler import ScriptedHandler


def main() -> int:
    """Consume inbox.messages with a ScriptedHandler until SIGTERM."""
    url, journal = sys.argv[1], Path(sys.argv[2])
    configure_logging("scripted-worker", LogSettings(format="text"))
    consumer = Consumer(
        AmqpSettings(url=Secret(url)),
        [QUEUES_BY_NAME["inbox.messages"]],
        {"message.received/1": ScriptedHandler(journal)},
    )
    return run_worker(consumer, health_host="127.0.0.1", health_port=0, checks={})


if __name__ == "__main__":
    sys.exit(main())
