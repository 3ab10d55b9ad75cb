"""`inbox-worker`: consume inbound messages and delivery statuses, and relay the outbox."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import sys

from inbox.config import InboxSettings
from inbox.handlers.delivery_status import DeliveryStatusHandler
from inbox.handlers.message_received import MessageReceivedHandler
from inbox.outbox_relay import OutboxRelay
from switchboard_shared.config import load_settings
from switchboard_shared.consumer import Consumer
from switchboard_shared.database import connection_pool
from switchboard_shared.errors import ConfigError
from switchboard_shared.health import broker_check, database_check
from switchboard_shared.publisher import Publisher
from switchboard_shared.schemas import DELIVERY_STATUS, MESSAGE_RECEIVED
from switchboard_shared.structured_logging import configure_logging
from switchboard_shared.topology import QUEUES_BY_NAME
from switchboard_shared.worker_process import run_worker

log = logging.getLogger(__name__)


def build_consumer(settings: InboxSettings, pool) -> Consumer:
    """The consumer of inbox.messages and inbox.statuses, a batch per transaction."""
    return Consumer(
        settings.amqp,
        [QUEUES_BY_NAME["inbox.messages"], QUEUES_BY_NAME["inbox.statuses"]],
        {
            MESSAGE_RECEIVED.header: MessageReceivedHandler(pool),
            DELIVERY_STATUS.header: DeliveryStatusHandler(pool),
        },
        batch_size=settings.batch_size,
        batch_wait=settings.batch_wait,
    )


def main() -> int:
    """Run the worker until SIGTERM: finish the batch in hand, stop the relay, exit."""
    try:
        settings = load_settings(InboxSettings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging("inbox-worker", settings.log)
    pool = connection_pool(settings.database, "inbox-worker")
    # The relay gets a process of its own: as a thread, its CPU work held the GIL while the
    # consumer waited to read each frame, which halved the consumer's rate.
    relay = multiprocessing.get_context("spawn").Process(
        target=run_relay, args=(settings,), name="outbox-relay", daemon=True
    )
    relay.start()

    def relay_alive() -> None:
        if not relay.is_alive():
            raise RuntimeError(f"the outbox relay exited with {relay.exitcode}")

    try:
        return run_worker(
            build_consumer(settings, pool),
            health_host=settings.health_host,
            health_port=settings.health_port,
            checks={
                "broker": broker_check(settings.amqp),
                "database": database_check(settings.database),
                "outbox_relay": relay_alive,
            },
        )
    finally:
        if relay.is_alive():
            relay.terminate()  # SIGTERM: the relay finishes its batch and exits
        relay.join(timeout=15)
        pool.close()


def run_relay(settings: InboxSettings) -> None:
    """The outbox relay's process: publish until SIGTERM or SIGINT."""
    configure_logging("inbox-relay", settings.log)
    relay = OutboxRelay(
        settings.database.url,
        Publisher(settings.amqp),
        settings.outbox_batch_size,
        settings.outbox_poll_seconds,
    )
    signal.signal(signal.SIGTERM, lambda *_: relay.stop())
    signal.signal(signal.SIGINT, lambda *_: relay.stop())
    relay.run()


if __name__ == "__main__":
    sys.exit(main())
