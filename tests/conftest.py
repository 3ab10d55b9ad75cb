"""Fixtures every test may use: a fresh RabbitMQ vhost and PostgreSQL database per test run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection

from switchboard_shared.config import AmqpSettings, BlobSettings, DatabaseSettings, Secret
from switchboard_shared.topology import declare_topology
from tests.support import postgres, rabbitmq

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """A RabbitMQ vhost that exists for this test run only."""
    name, url = rabbitmq.create_vhost()
    yield url
    rabbitmq.delete_vhost(name)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A PostgreSQL database that exists for this test run only."""
    name, url = postgres.create_database()
    yield url
    postgres.drop_database(name)


@pytest.fixture
def amqp_settings(amqp_url: str) -> AmqpSettings:
    """Bus settings pointing at the test vhost, with short timeouts."""
    return AmqpSettings(url=Secret(amqp_url), confirm_timeout=5.0, connect_timeout=2.0)


@pytest.fixture
def database_settings(database_url: str) -> DatabaseSettings:
    """Database settings pointing at the test database."""
    return DatabaseSettings(url=Secret(database_url))


@pytest.fixture
def blob_settings(tmp_path: Path) -> BlobSettings:
    """A blob store in the test's temporary directory."""
    return BlobSettings(dir=tmp_path / "blobs", fsync=False)


@pytest.fixture
def broker(amqp_url: str, amqp_settings: AmqpSettings) -> Iterator[rabbitmq.BrokerProbe]:
    """The declared topology with every queue empty, and a pika probe to inspect it."""
    with Connection(amqp_url) as connection:
        declare_topology(connection, amqp_settings.delivery_limit)
    probe = rabbitmq.BrokerProbe(amqp_url)
    probe.purge_all()
    yield probe
    probe.close()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The real-world corpus beside the repo (SWITCHBOARD_CORPUS overrides)."""
    path = Path(os.environ.get("SWITCHBOARD_CORPUS", REPO.parent / "shared" / "corpus"))
    if not path.is_dir():
        pytest.fail(f"corpus not found at {path}: set SWITCHBOARD_CORPUS to ../shared/corpus")
    return path
