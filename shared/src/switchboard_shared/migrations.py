"""Alembic migrations for every service that owns tables, run by `switchboard-admin migrate`.

Each such service keeps its tables in a PostgreSQL schema of its own (`inbox`,
`email_ingest`, `notifier`), its migrations in its package, and its Alembic version table in
that schema, so services never share or touch each other's tables. A service registers its
migrations under the entry-point group `switchboard.migrations` as `schema = package:dir`,
and its `env.py` is two lines: `from switchboard_shared.migrations import run_env; run_env()`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from importlib.resources import files

from alembic import command, context
from alembic.config import Config
from sqlalchemy import create_engine, text

log = logging.getLogger(__name__)

# One migrator at a time per database, whichever replica or operator runs it.
_LOCK_KEY = 0x5B_0A_2D


@dataclass(frozen=True)
class MigrationSet:
    """One service's migrations: the schema its tables live in and where its scripts are."""

    schema: str
    script_location: str


def sqlalchemy_url(database_url: str) -> str:
    """The psycopg 3 dialect URL for a plain `postgresql://` URL."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def installed_migrations() -> list[MigrationSet]:
    """Every migration set registered by an installed service, in a stable order."""
    found = []
    for entry in sorted(entry_points(group="switchboard.migrations"), key=lambda e: e.name):
        package, _, directory = entry.value.partition(":")
        found.append(MigrationSet(entry.name, str(files(package) / directory)))
    return found


def upgrade(database_url: str, migration_set: MigrationSet, revision: str = "head") -> None:
    """Bring one service's schema up to `revision`."""
    config = Config()
    config.set_main_option("script_location", migration_set.script_location)
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    config.attributes["schema"] = migration_set.schema
    log.info("migrating schema %s to %s", migration_set.schema, revision)
    command.upgrade(config, revision)


def upgrade_all(database_url: str) -> list[str]:
    """Migrate every installed service to its newest revision; return the schemas migrated."""
    sets = installed_migrations()
    for migration_set in sets:
        upgrade(database_url, migration_set)
    return [s.schema for s in sets]


def run_env() -> None:
    """The body of every service's Alembic `env.py` (online mode only)."""
    config = context.config
    schema = config.attributes["schema"]
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
        try:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            connection.execute(text(f'SET search_path TO "{schema}", public'))
            connection.commit()
            context.configure(
                connection=connection,
                version_table_schema=schema,
                transaction_per_migration=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
            connection.commit()
    engine.dispose()
