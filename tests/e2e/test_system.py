"""The system starts as deployed: every process healthy and serving its metrics."""

from __future__ import annotations

import requests

from tests.e2e.system import System


def test_every_process_is_healthy_and_serves_metrics(system: System):
    for process in system.processes.values():
        base = process.ready_url.removesuffix("/readyz")
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200, process.name
        assert requests.get(f"{base}/metrics", timeout=5).status_code == 200, process.name
    assert system.api("GET", "/conversations")["items"] is not None
