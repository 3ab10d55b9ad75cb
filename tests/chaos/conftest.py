"""The chaos run's own system: every service a process, on a vhost and database of its own.

Not the e2e suite's session system: the chaos test kills and restarts processes and counts
every mail the SMTP server receives, so nothing else may consume its queues or send its replies.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.system import System, isolated_system
from tests.integration.email_ingest.imap_harness import dovecot  # noqa: F401  (a fixture)


@pytest.fixture
def chaos_system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    """Every service running as a process against a fresh vhost and database."""
    request.getfixturevalue("dovecot")
    with isolated_system(tmp_path_factory.mktemp("chaos")) as system:
        yield system
