"""What every benchmark module needs: figures, throwaway broker vhosts and databases, timing.

A benchmark module is `bench/<area>_bench.py` with `measure() -> list[dict]`; bench/run.py
runs it in its own process. Figures are built with `figure()`, so each one says how to
reproduce it and what limits it. The vhost and database helpers reuse the test harness's
(tests/support), so benchmarks and tests create and clean up their throwaway state alike.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kombu import Connection

from switchboard_shared.config import AmqpSettings, Secret
from switchboard_shared.topology import declare_topology
from tests.support import postgres, rabbitmq

REPO = Path(__file__).resolve().parent.parent
FIGURE_KEYS = ("name", "value", "unit", "command", "limit")


def figure(name: str, value: float, unit: str, command: str, limit: str) -> dict:
    """One measured figure as results.json stores it."""
    return {"name": name, "value": float(value), "unit": unit, "command": command, "limit": limit}


def rerun_command(prefix: str) -> str:
    """The command that re-measures the figures of one benchmark module."""
    return f".venv/bin/python bench/run.py --only {prefix}"


@dataclass(frozen=True)
class Vhost:
    """A RabbitMQ vhost that exists for one benchmark, with the topology declared."""

    name: str
    url: str

    def settings(self, confirm_timeout: float = 30.0) -> AmqpSettings:
        """Bus settings for publishers and consumers in this vhost."""
        return AmqpSettings(url=Secret(self.url), confirm_timeout=confirm_timeout)

    def probe(self) -> rabbitmq.BrokerProbe:
        """A pika view of the vhost's queues (depth, purge, take), independent of kombu."""
        return rabbitmq.BrokerProbe(self.url)


@contextlib.contextmanager
def throwaway_vhost() -> Iterator[Vhost]:
    """A fresh vhost with the Switchboard topology; deleted, queues and all, afterwards."""
    name, url = rabbitmq.create_vhost()
    try:
        vhost = Vhost(name, url)
        with Connection(url) as connection:
            declare_topology(connection, vhost.settings().delivery_limit)
        yield vhost
    finally:
        rabbitmq.delete_vhost(name)


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; yields its URL and drops it afterwards."""
    name, url = postgres.create_database()
    try:
        yield url
    finally:
        postgres.drop_database(name)


class Stopwatch:
    """Wall-clock seconds since start (monotonic); `lap()` restarts it."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Seconds elapsed so far."""
        return time.perf_counter() - self.started

    def lap(self) -> float:
        """Return the seconds elapsed and start again."""
        now = time.perf_counter()
        elapsed, self.started = now - self.started, now
        return elapsed


def median_seconds(
    run: Callable[[], object],
    rounds: int,
    warmup: int = 1,
    setup: Callable[[], object] | None = None,
) -> float:
    """Run `run` `warmup` times unmeasured, then `rounds` times; the median wall time.

    `setup`, if given, runs before every round, outside the timing (e.g. purging a queue).
    """
    timings = []
    for round_number in range(warmup + rounds):
        if setup is not None:
            setup()
        watch = Stopwatch()
        run()
        if round_number >= warmup:
            timings.append(watch.seconds)
    return statistics.median(timings)


def steady_state_store(root: Path) -> None:
    """Create the store's 65,536 leaf directories, as a store in use for a while has them.

    A fresh store creates two directories for most of its first puts, and mkdir plus the
    fsync of a new directory cost several times the put itself on this disk: measuring
    them would measure a store's first day, not the archive of a service in production.
    """
    for first in range(256):
        for second in range(256):
            (root / f"{first:02x}" / f"{second:02x}").mkdir(parents=True, exist_ok=True)
    # On disk, as they would be: else the measured run's first sync writes them out.
    os.sync()
