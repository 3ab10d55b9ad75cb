"""`make run` (scripts/run-local.sh) starts every installed process and Ctrl-C stops them all."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import time
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
STARTED = re.compile(r"^\S+ system\s+\| (\S+)\.1 started \(pid=(\d+)\)", re.MULTILINE)


def started_pids(log_path: Path) -> list[str]:
    """The pids honcho reported for the processes it started."""
    return [pid for _name, pid in STARTED.findall(log_path.read_text())]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def post_demo_webform_message(env_file: Path) -> requests.Response:
    """Send the README's API-channel example, signed with the demo secret, to social-ingest."""
    secret = next(
        line.split("=", 1)[1]
        for line in env_file.read_text().splitlines()
        if line.startswith("SOCIAL_API_WEBFORM_SECRET=")
    )
    body = json.dumps(
        {"id": "form-0001", "author": {"id": "user-42", "name": "Jane"}, "text": "Hello"}
    ).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return requests.post(
        "http://127.0.0.1:8002/webhooks/api/webform",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Switchboard-Timestamp": timestamp,
            "X-Switchboard-Signature": f"sha256={signature.hexdigest()}",
        },
        timeout=10,
    )


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
        procfile = REPO / "var" / "Procfile.local"  # what run-local.sh found installed

        def all_started() -> bool:
            if run.poll() is not None or "Ctrl-C stops" not in log_path.read_text():
                return run.poll() is not None
            expected = len(procfile.read_text().splitlines())
            return len(STARTED.findall(log_path.read_text())) >= expected

        wait_for(all_started, timeout=120, message="honcho to start every process")
        started = dict(STARTED.findall(log_path.read_text()))
        assert run.poll() is None, log_path.read_text()
        assert {"email-ingest", "email-ingest-imap", "mail"} <= started.keys()
        for name in sorted(started.keys() & READY_URLS.keys()):
            wait_for(
                lambda name=name: ready(READY_URLS[name]) or run.poll() is not None,
                timeout=60,
                message=f"{name} to be ready",
            )
            assert run.poll() is None, f"{name} took everything down:\n{log_path.read_text()}"
        if "social-ingest" in started:
            response = post_demo_webform_message(local_env)
            assert response.status_code == 200, response.text
    finally:
        # Ctrl-C (also when the test failed: honcho puts each process in a group of its own,
        # so only honcho can stop them).
        os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=60)
        finally:
            leftovers = [pid for pid in map(int, started_pids(log_path)) if alive(pid)]
            for pid in leftovers:
                os.kill(pid, signal.SIGKILL)
    output = log_path.read_text()
    for name in started:
        assert re.search(rf"\| {re.escape(name)}\.1 stopped", output), f"{name} did not stop"
    assert leftovers == [], f"processes left running: {leftovers}"
    for url in READY_URLS.values():
        assert not ready(url), f"{url} still answers"
