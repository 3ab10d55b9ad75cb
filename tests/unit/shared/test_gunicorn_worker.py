"""The worker table: which siblings count when a gunicorn worker weighs its share."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from switchboard_shared import gunicorn_worker
from switchboard_shared.gunicorn_worker import WorkerTable


@pytest.fixture
def table(tmp_path) -> WorkerTable:
    return WorkerTable(slots=4, directory=str(tmp_path))


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_sibling_counts_only_while_it_accepts(table):
    mine = table.claim(os.getpid())
    theirs = table.claim(os.getppid())
    table.publish(theirs, connections=3, accepting=False, held_off=False)
    assert table.fewest_elsewhere(mine) is None
    table.publish(theirs, connections=3, accepting=True, held_off=False)
    assert table.fewest_elsewhere(mine) == 3


def test_the_fewest_among_accepting_siblings_and_never_the_worker_itself(table):
    mine = table.claim(os.getpid())
    first = table.claim(os.getppid())
    second = table.claim(1)  # init: alive, owned by another user or not
    table.publish(mine, connections=0, accepting=True, held_off=False)
    table.publish(first, connections=9, accepting=True, held_off=False)
    table.publish(second, connections=4, accepting=True, held_off=False)
    assert table.fewest_elsewhere(mine) == 4


def test_a_dead_workers_slot_is_ignored_and_reclaimed(table):
    mine = table.claim(os.getpid())
    gone = dead_pid()
    theirs = table.claim(gone)
    table.publish(theirs, connections=0, accepting=True, held_off=False)
    assert table.fewest_elsewhere(mine) is None
    assert table.claim(os.getppid()) == theirs


def test_a_silent_worker_is_ignored(table, monkeypatch):
    mine = table.claim(os.getpid())
    theirs = table.claim(os.getppid())
    table.publish(theirs, connections=0, accepting=True, held_off=False)
    later = time.monotonic_ns() + int((gunicorn_worker.STALE_AFTER + 1) * 1e9)
    monkeypatch.setattr(gunicorn_worker.time, "monotonic_ns", lambda: later)
    assert table.fewest_elsewhere(mine) is None


def test_a_released_slot_is_free_and_a_full_table_says_so(table):
    slots = [table.claim(os.getpid()) for _ in range(4)]
    assert slots == [0, 1, 2, 3]
    assert table.claim(os.getpid()) is None
    table.release(2)
    assert table.claim(os.getpid()) == 2


def test_siblings_held_off_with_fewer_connections_are_named_to_be_woken(table):
    mine = table.claim(os.getpid())
    theirs = table.claim(os.getppid())
    table.publish(theirs, connections=5, accepting=False, held_off=True)
    assert table.held_off_below(mine, 4) == []
    assert table.held_off_below(mine, 5) == [os.getppid()]
    table.publish(theirs, connections=5, accepting=True, held_off=False)
    assert table.held_off_below(mine, 9) == []
