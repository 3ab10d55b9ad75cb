"""`inbox-worker`: consume inbound messages and delivery statuses, and relay the outbox."""

from __future__ import annotations

import logging
import sys
import threading

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
    relay = OutboxRelay(
        settings.database.url,
        Publisher(settings.amqp),
        settings.outbox_batch_size,
        settings.outbox_poll_seconds,
    )
    relay_thread = threading.Thread(target=relay.run, name="outbox-relay", daemon=True)
    relay_thread.start()
    try:
        return run_worker(
            build_consumer(settings, pool),
            health_host=settings.health_host,
            health_port=settings.health_port,
            checks={
                "broker": broker_check(settings.amqp),
                "database": database_check(settings.database),
            },
        )
    finally:
        relay.stop()
        relay_thread.join(timeout=15)
        pool.close()


if __name__ == "__main__":
    sys.exit(main())
