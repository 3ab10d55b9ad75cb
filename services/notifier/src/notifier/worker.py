"""The notifier process: `notifier-worker` consumes the notifier queues until SIGTERM.

One consumer thread per work queue (times `consumers_per_queue`), each with its own handler,
publisher, SMTP connection and HTTP sessions; the database pool, the worker identity and the
rate gate are shared by the process.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from notifier.config import NotifierSettings, load_tokens
from notifier.consumer_group import ConsumerGroup
from notifier.delivery_errors import Delivered
from notifier.handlers.reply_requested import ReplyRequestedHandler
from notifier.rate_gate import RateGate
from notifier.repository import AttemptRepository, WorkerIdentity
from notifier.senders import build_senders
from switchboard_shared.blobstore import FilesystemBlobStore
from switchboard_shared.config import load_settings
from switchboard_shared.consumer import Consumer
from switchboard_shared.database import connection_pool
from switchboard_shared.errors import ConfigError
from switchboard_shared.health import broker_check, database_check
from switchboard_shared.publisher import Publisher
from switchboard_shared.schemas import REPLY_REQUESTED
from switchboard_shared.structured_logging import configure_logging
from switchboard_shared.topology import QUEUES_BY_NAME
from switchboard_shared.worker_process import run_worker

SERVICE = "notifier"
log = logging.getLogger(__name__)


def build_group(settings: NotifierSettings, environ: Mapping[str, str]) -> ConsumerGroup:
    """Wire every consumer thread with its handler and collaborators."""
    unknown = [q for q in settings.queues if q not in QUEUES_BY_NAME]
    if unknown or not settings.queues:
        raise ConfigError(f"SWITCHBOARD_NOTIFIER_QUEUES names unknown queues: {unknown}")
    tokens = load_tokens(settings, environ)
    blobs = FilesystemBlobStore(settings.blob.dir, settings.blob.fsync)
    pool = connection_pool(settings.database, SERVICE)
    identity = WorkerIdentity(settings.database.url)
    attempts = AttemptRepository(pool, identity)
    gate = RateGate()
    unrecorded: dict[str, Delivered] = {}
    consumers, closers = [], []
    for name in settings.queues:
        for _ in range(settings.consumers_per_queue):
            senders = build_senders(settings, tokens, blobs)
            publisher = Publisher(settings.amqp, declare=False)
            handler = ReplyRequestedHandler(
                senders, attempts, publisher, gate, settings.max_attempts, unrecorded
            )
            consumers.append(
                Consumer(
                    settings.amqp,
                    [QUEUES_BY_NAME[name]],
                    {REPLY_REQUESTED.header: handler},
                    prefetch=settings.prefetch,
                    max_attempts=settings.max_attempts,
                )
            )
            closers.append(publisher.close)
            closers.extend({id(s): s.close for s in senders.values()}.values())

    def close() -> None:
        for closer in closers:
            closer()
        pool.close()
        identity.close()

    return ConsumerGroup(consumers, on_exit=close)


def main(environ: Mapping[str, str] | None = None) -> int:
    """Run the notifier until SIGTERM or SIGINT; return the exit code."""
    env = os.environ if environ is None else environ
    try:
        settings = load_settings(NotifierSettings, env)
        configure_logging(SERVICE, settings.log)
        group = build_group(settings, env)
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    checks = {"broker": broker_check(settings.amqp), "database": database_check(settings.database)}
    code = run_worker(
        group, health_host=settings.health_host, health_port=settings.health_port, checks=checks
    )
    return 1 if group.failed else code


if __name__ == "__main__":
    sys.exit(main())
