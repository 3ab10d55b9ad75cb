"""Fixtures for the inbox's integration tests: a migrated database emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import psycopg
import pytest

from inbox.config import InboxSettings
from switchboard_shared.config import (
    AmqpSettings,
    BlobSettings,
    DatabaseSettings,
    LogSettings,
    Secret,
)
from switchboard_shared.migrations import MigrationSet, upgrade

TABLES = (
    "outbox, audit_log, attachments, messages, contact_merges, contact_identities, "
    "conversations, contacts, canned_responses, inbox_members, inboxes, api_tokens, agents"
)


@pytest.fixture(scope="session")
def migrated_database_url(database_url: str) -> str:
    """The test database with the inbox schema at its newest revision."""
    upgrade(database_url, MigrationSet("inbox", str(files("inbox") / "migrations")))
    return database_url


@pytest.fixture
def db(migrated_database_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to an emptied inbox schema, for arranging and asserting."""
    with psycopg.connect(migrated_database_url, autocommit=True) as connection:
        connection.execute(f"TRUNCATE {', '.join('inbox.' + t for t in TABLES.split(', '))}")
        yield connection


@pytest.fixture
def inbox_settings(
    migrated_database_url: str, amqp_settings: AmqpSettings, tmp_path: Path
) -> InboxSettings:
    """Settings for a worker or an app against the test vhost and database."""
    return InboxSettings(
        amqp=amqp_settings,
        database=DatabaseSettings(url=Secret(migrated_database_url), pool_size=4),
        blob=BlobSettings(dir=tmp_path / "blobs", fsync=False),
        log=LogSettings(format="text"),
        secret_key=Secret("test-secret-key"),
        email_domain="inbox.example.com",
        outbox_poll_seconds=0.2,
    )
