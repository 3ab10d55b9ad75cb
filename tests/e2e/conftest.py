"""The e2e suite's one running system, shared by every scenario of the session.

Starting six processes costs seconds; each scenario uses customers, addresses and ids of its
own, so sharing the system keeps the directory fast without making the scenarios depend on
each other's order. The system gets a vhost and database of its own and stops when the e2e
package is done: its workers would otherwise consume the queues of the tests that follow.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.system import System, isolated_system
from tests.integration.email_ingest.imap_harness import dovecot  # noqa: F401  (a fixture)


@pytest.fixture(scope="package")
def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    """Every service running as a process against its own vhost, database and Dovecot."""
    request.getfixturevalue("dovecot")
    with isolated_system(tmp_path_factory.mktemp("e2e")) as running:
        yield running
