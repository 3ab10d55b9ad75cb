"""Fixtures for the inbox's integration tests: a migrated database emptied before each test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg import sql
from psycopg_pool import ConnectionPool

from inbox.app import create_app
from inbox.config import InboxSettings
from switchboard_shared.config import (
    AmqpSettings,
    BlobSettings,
    DatabaseSettings,
    LogSettings,
    Secret,
)
from switchboard_shared.consumer import ConsumedEvent
from switchboard_shared.database import connection_pool
from switchboard_shared.migrations import MigrationSet, upgrade
from switchboard_shared.schemas import MESSAGE_RECEIVED, Event, EventType

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


@pytest.fixture
def pool(inbox_settings: InboxSettings) -> Iterator[ConnectionPool]:
    """A connection pool to the test database, as the worker and the API use."""
    pool = connection_pool(inbox_settings.database, "inbox-test")
    yield pool
    pool.close()


def count(db: psycopg.Connection, table: str, where: str = "TRUE") -> int:
    """Rows of an inbox table matching a condition written by the test."""
    query = sql.SQL("SELECT count(*) FROM inbox.{} WHERE {}").format(
        sql.Identifier(table), sql.SQL(where)
    )
    return db.execute(query).fetchone()[0]


def consumed(payload: dict, kind: EventType = MESSAGE_RECEIVED) -> ConsumedEvent:
    """An event as the consumer hands it over: round-tripped through JSON and loaded."""
    event = Event(kind, payload)
    return ConsumedEvent(
        type=kind,
        payload=kind.load(json.loads(json.dumps(kind.validate(payload)))),
        event_id=event.event_id,
        trace_id=event.trace_id,
        queue="inbox.messages",
        routing_key=event.routing_key,
        attempt=0,
        redelivered=False,
    )


@pytest.fixture
def app(inbox_settings: InboxSettings, pool: ConnectionPool, db: psycopg.Connection) -> Flask:
    """The API over an emptied database."""
    return create_app(inbox_settings, pool)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the API."""
    return app.test_client()
