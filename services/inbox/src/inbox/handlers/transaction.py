"""The unit of work of every handler: one transaction, transient database trouble retryable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool

from switchboard_shared.errors import RetryableError


@contextmanager
def batch_transaction(pool: ConnectionPool) -> Iterator[psycopg.Connection]:
    """A pooled connection inside a transaction, committed when the block succeeds."""
    try:
        with pool.connection() as connection:
            # Batch statements take arrays whose size and content vary: a plan made for each
            # execution beats a generic prepared plan (which scans where it should probe).
            connection.prepare_threshold = None
            with connection.transaction():
                yield connection
    except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as exc:
        raise RetryableError(f"database conflict: {exc}") from exc
    except psycopg.OperationalError as exc:
        raise RetryableError(f"database unavailable: {exc}") from exc
