"""`make run` (scripts/run-local.sh) starts every installed process and Ctrl-C stops them all."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[3]
# What run-local.sh prints for each process it started, and the URL that says it is ready.
READY_URLS = {
    "inbox-api": "http://127.0.0.1:8000/readyz",
    "inbox-worker": "http://127.0.0.1:9003/readyz",
    "email-ingest": "http://127.0.0.1:8001/readyz",
    "email-ingest-imap": "http://127.0.0.1:9001/readyz",
    "social-ingest": "http://127.0.0.1:8002/readyz",
    "notifier": "http://127.0.0.1:9004/readyz",
}
STARTED = re.compile(r"^\S+ system\s+\| (\S+)\.1 started", re.MULTILINE)


def ready(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def local_env(tmp_path: Path, amqp_url: str, database_url: str) -> Path:
    """deploy/local.env with this test run's vhost, database and blob directory."""
    overrides = {
        "SWITCHBOARD_AMQP_URL": amqp_url,
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_BLOB_DIR": str(tmp_path / "blobs"),
    }
    lines = []
    for line in (REPO / "deploy" / "local.env").read_text().splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={overrides.pop(name)}" if name in overrides else line)
    lines += [f"{name}={value}" for name, value in overrides.items()]
    path = tmp_path / "local.env"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_every_installed_process_starts_and_ctrl_c_stops_them_all(local_env: Path, tmp_path: Path):
    log_path = tmp_path / "run.log"
    env = {**os.environ, "SWITCHBOARD_LOCAL_ENV": str(local_env)}
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    with log_path.open("w") as log:
        # Its own process group, as a terminal's Ctrl-C would reach every process in it.
        run = subprocess.Popen(
            [str(REPO / "scripts" / "run-local.sh")],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: "email-ingest.1 started" in log_path.read_text() or run.poll() is not None,
            timeout=120,
            message="run-local.sh to start honcho",
        )
        started = set(STARTED.findall(log_path.read_text()))
        assert run.poll() is None, log_path.read_text()
        assert {"email-ingest", "email-ingest-imap", "mail"} <= started
        for name in sorted(started & READY_URLS.keys()):
            wait_for(
                lambda name=name: ready(READY_URLS[name]) or run.poll() is not None,
                timeout=60,
                message=f"{name} to be ready",
            )
            assert run.poll() is None, f"{name} took everything down:\n{log_path.read_text()}"
        os.killpg(run.pid, signal.SIGINT)
        run.wait(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    output = log_path.read_text()
    for name in started:
        assert re.search(rf"\| {re.escape(name)}\.1 stopped", output), f"{name} did not stop"
    leftovers = subprocess.run(
        ["pgrep", "-g", str(run.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert leftovers == [], f"processes left running: {leftovers}"
    for url in READY_URLS.values():
        assert not ready(url), f"{url} still answers"
