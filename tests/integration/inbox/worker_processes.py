"""Run real `inbox-worker` processes against the test vhost and database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def worker_environment(amqp_url: str, database_url: str, blob_dir: Path, **extra: str) -> dict:
    """The environment of one worker process."""
    return {
        **os.environ,
        "SWITCHBOARD_AMQP_URL": amqp_url,
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_BLOB_DIR": str(blob_dir),
        "SWITCHBOARD_LOG_FORMAT": "text",
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
        "SWITCHBOARD_INBOX_HEALTH_PORT": "0",
        "SWITCHBOARD_INBOX_HEALTH_HOST": "127.0.0.1",
        **extra,
    }


@contextmanager
def running_processes(
    command: list[str], count: int, environment: dict, cwd: Path | None = None
) -> Iterator[list[subprocess.Popen]]:
    """Start `count` copies of `command`; SIGTERM them and wait on the way out."""
    processes = [subprocess.Popen(command, env=environment, cwd=cwd) for _ in range(count)]
    try:
        yield processes
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def running_workers(count: int, environment: dict):
    """Start `count` inbox-worker processes (a context manager, like running_processes)."""
    return running_processes([sys.executable, "-m", "inbox.worker"], count, environment)
