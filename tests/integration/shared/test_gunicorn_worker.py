"""Real gunicorn with the services' config: kept-alive connections end up shared by the workers.

A burst of CONNECTIONS keep-alive connections (as a webhook sender's pool opens them) is served
by tests/support/pid_app.py, whose answers name the worker; each connection's worker is the one
that answered on it.
"""

from __future__ import annotations

import collections
import http.client
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tests.simulators.replies.smtp_sink import free_port
from tests.support.waiting import wait_for

CONNECTIONS = 32
BODY = b'{"object":"page"}'


@contextmanager
def running_gunicorn(*arguments: str, environ: dict[str, str] | None = None) -> Iterator[int]:
    """Start gunicorn with the services' config on the pid app; yield its port."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:switchboard_shared.gunicorn_config",
        "--threads",
        "16",
        "--no-control-socket",
        "--bind",
        f"127.0.0.1:{port}",
        *arguments,
        "tests.support.pid_app:app",
    ]
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    process = subprocess.Popen(command, env={**env, **(environ or {})})
    try:
        wait_for(lambda: _listening(port, process), timeout=30, message="gunicorn to listen")
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _listening(port: int, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"gunicorn exited with {process.returncode}")
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Clients:
    """Keep-alive connections that each send one small POST a round, as a webhook sender's."""

    def __init__(self, port: int, count: int) -> None:
        self.port = port
        self.connections = [self._open() for _ in range(count)]
        self.reconnects = 0

    def _open(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        connection.connect()
        return connection

    def round(self) -> list[int]:
        """Send a request on every connection, then read every answer; return who served each."""
        sent = [self._send(index) for index in range(len(self.connections))]
        return [self._answer(index, ok) for index, ok in enumerate(sent)]

    def _send(self, index: int) -> bool:
        try:
            self.connections[index].request("POST", "/", body=BODY)
        except ConnectionError:
            return False
        return True

    def _answer(self, index: int, sent: bool) -> int:
        try:
            if not sent:
                raise ConnectionResetError
            response = self.connections[index].getresponse()
        except ConnectionError:  # http.client.RemoteDisconnected included
            # Its worker died: reconnect, as a sender does, and send again.
            self.connections[index].close()
            self.reconnects += 1
            connection = self.connections[index] = self._open()
            connection.request("POST", "/", body=BODY)
            response = connection.getresponse()
        # A "Connection: close" answer makes http.client reconnect on the next request.
        response.read()
        assert response.status == 200
        return int(response.headers["X-Worker-Pid"])

    def close(self) -> None:
        for connection in self.connections:
            connection.close()


@contextmanager
def clients(port: int, count: int = CONNECTIONS) -> Iterator[Clients]:
    opened = Clients(port, count)
    try:
        yield opened
    finally:
        opened.close()


def wait_for_workers(port: int, workers: int) -> None:
    """Open connections one by one until `workers` processes have answered (all booted)."""
    probes = []
    seen: set[int] = set()

    def all_answered() -> bool:
        probe = Clients(port, 1)
        probes.append(probe)
        seen.update(probe.round())
        return len(seen) == workers

    try:
        wait_for(all_answered, timeout=30, message=f"{workers} workers to answer")
    finally:
        for probe in probes:
            probe.close()


def test_a_burst_of_keepalive_connections_is_shared_by_both_workers():
    with running_gunicorn() as port:
        wait_for_workers(port, 2)
        with clients(port) as burst:
            served = collections.Counter(burst.round())
            assert len(served) == 2, served
            assert min(served.values()) >= 8, served


def test_a_workers_override_shares_among_all_of_them():
    with running_gunicorn(environ={"GUNICORN_CMD_ARGS": "--workers 3"}) as port:
        wait_for_workers(port, 3)
        with clients(port) as burst:
            served = collections.Counter(burst.round())
            assert len(served) == 3, served
            assert min(served.values()) >= 5, served


def test_a_killed_worker_is_replaced_and_the_connections_are_shared_again():
    with running_gunicorn() as port:
        wait_for_workers(port, 2)
        with clients(port) as senders:
            before = collections.Counter(senders.round())
            victim = next(iter(before))
            os.kill(victim, signal.SIGKILL)

            # Every request is answered meanwhile: the survivor takes the reconnects, and the
            # replacement then gets its share back.
            def shared_with_replacement() -> collections.Counter:
                served = collections.Counter(senders.round())
                assert victim not in served
                fair = len(served) == 2 and min(served.values()) >= 8
                return served if fair else collections.Counter()

            served = wait_for(shared_with_replacement, timeout=60, message="a fair share again")
            assert set(served) - set(before), "a new worker took the killed one's place"
            assert senders.reconnects >= before[victim]
