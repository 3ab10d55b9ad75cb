"""The e2e suite's one running system, shared by every scenario of the session.

Starting six processes costs seconds; each scenario uses customers, addresses and ids of its
own, so sharing the system keeps the directory fast without making the scenarios depend on
each other's order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.system import System, running_system
from tests.integration.email_ingest.imap_harness import dovecot  # noqa: F401  (a fixture)


@pytest.fixture(scope="session")
def system(
    request: pytest.FixtureRequest,
    amqp_url: str,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    """Every service running as a process against this run's vhost, database and Dovecot."""
    request.getfixturevalue("dovecot")
    with running_system(amqp_url, database_url, tmp_path_factory.mktemp("e2e")) as running:
        yield running
