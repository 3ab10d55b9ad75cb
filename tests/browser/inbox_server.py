"""Run the real inbox API under gunicorn, as `make run` and compose do, for browser tests."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from tests.support.waiting import wait_for


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_api(environment: dict) -> Iterator[str]:
    """Start `gunicorn inbox.wsgi:app` on a free port; yield its base URL; stop it after."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:switchboard_shared.gunicorn_config",
        "--no-control-socket",
        "--bind",
        f"127.0.0.1:{port}",
        # Open event streams end only at their next keep-alive: do not wait for that.
        "--graceful-timeout",
        "2",
        "inbox.wsgi:app",
    ]
    process = subprocess.Popen(command, env=environment)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base_url, process), timeout=30, message="the inbox API")
        yield base_url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(base_url: str, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"gunicorn exited with {process.returncode}")
    try:
        return requests.get(f"{base_url}/healthz", timeout=5).ok
    except (requests.ConnectionError, requests.Timeout):  # still starting
        return False
