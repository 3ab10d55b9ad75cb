"""PostgreSQL connections for the services that own tables (psycopg 3 and its pool)."""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from switchboard_shared.config import DatabaseSettings


def connection_pool(settings: DatabaseSettings, name: str) -> ConnectionPool:
    """Open a pool of `settings.pool_size` connections; they reconnect after a restart."""
    return ConnectionPool(
        settings.url,
        min_size=1,
        max_size=settings.pool_size,
        name=name,
        # A connection broken by a database restart is replaced, not handed out.
        check=ConnectionPool.check_connection,
        # JIT compilation pays off only for long analytical queries; ours are short, and
        # one whose cost the planner overestimates (a batch's lookups over a table whose
        # statistics lag) spent hundreds of milliseconds compiling before running 5 ms.
        kwargs={"connect_timeout": 5, "options": "-c jit=off"},
        open=True,
    )
