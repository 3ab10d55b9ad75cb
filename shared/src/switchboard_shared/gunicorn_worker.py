"""A gthread worker that shares long-lived connections fairly with its sibling workers.

Why: gunicorn's gthread workers all wait on the one listening socket and whichever wakes first
accepts. With HTTP keep-alive a burst of connections that then live long (a webhook sender's
pool, a reverse proxy's) can land almost all on one worker: of 32 opened at once we measured
[32, 0], [27, 5], [29, 3]. That worker then runs every request on one core, under its one GIL,
while the other idles. Capping `worker_connections` at threads + 1 evens them out but closes a
kept-alive connection whenever the cap is reached (about 30% of throughput lost to
reconnects). SO_REUSEPORT listeners, one a worker, spread connections by a hash (a few dozen
still split unevenly) and reset those queued at a worker that stops or dies.

How: the workers of one master publish, in a small table of shared memory the master sets up
before it forks them, how many connections each holds and whether it is accepting. A worker
stops accepting while a live sibling that accepts holds ACCEPT_GAP fewer connections than it
does; the accepting worker holding the fewest connections never stops for balance, so one
always accepts and no connection waits for a worker to look again. A worker held off in this
way resumes as soon as it is no longer over its share: the worker that accepts in its stead
wakes it with SIGWINCH (which gunicorn workers otherwise ignore) once it holds ACCEPT_GAP more,
and it looks again every HELD_OFF_POLL seconds anyway. Connections that are already skewed (a
sibling was restarted and starts with none) are moved one at a time: a worker holding far more
than an accepting sibling answers one request every SHED_INTERVAL with "Connection: close", and
the client reconnects to the sibling. Balanced workers never close a connection.

Robustness: a slot counts only while its process exists and its main loop has published within
STALE_AFTER seconds, so a worker killed by SIGKILL, or stuck, is never waited for; its
replacement claims a free slot. Each master has its own table: after a USR2 re-exec, old and
new workers each balance among themselves. A worker that finds no free slot runs as plain
gthread. Used as `worker_class` in switchboard_shared.gunicorn_config.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import mmap
import os
import selectors
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

from gunicorn.workers.gthread import ThreadWorker

log = logging.getLogger(__name__)

# A worker stops accepting while an accepting sibling holds this many fewer connections.
ACCEPT_GAP = 2
# A worker closes one connection per SHED_INTERVAL while an accepting sibling holds at least
# max(SHED_GAP, a quarter of its own) fewer: wide enough that it never ping-pongs with ACCEPT_GAP.
SHED_GAP = 4
SHED_INTERVAL = 0.5
HELD_OFF_POLL = 0.1
# gthread's main loop publishes at least once a second (its poll timeout).
STALE_AFTER = 3.0
SLOTS = 256

_PID, _HEARTBEAT, _CONNECTIONS, _ACCEPTING, _HELD_OFF = range(5)
_FIELDS = 5
_HEADER = 1  # cell 0: how many slots have ever been claimed, so readers scan only those
_STALE_NS = int(STALE_AFTER * 1e9)


class WorkerTable:
    """Per-worker connection counts in shared memory: one slot of 64-bit cells a worker.

    Each slot is written by its owner only (aligned 64-bit stores, so a reader never sees
    half a number); claiming a slot takes a POSIX record lock on the backing file, which the
    kernel drops if the claiming process dies.
    """

    def __init__(self, slots: int = SLOTS, directory: str | None = None) -> None:
        self.slots = slots
        # Open for as long as the process lives: every worker maps it.
        self._file = tempfile.TemporaryFile(prefix="gunicorn-balance-", dir=directory)  # noqa: SIM115
        size = (_HEADER + slots * _FIELDS) * 8
        self._file.truncate(size)
        self._map = mmap.mmap(self._file.fileno(), size)
        self._cells = memoryview(self._map).cast("q")

    def claim(self, pid: int) -> int | None:
        """Take a slot no live process holds for `pid`; None when every slot is taken."""
        cells = self._cells
        fcntl.lockf(self._file, fcntl.LOCK_EX)
        try:
            for slot in range(self.slots):
                base = _HEADER + slot * _FIELDS
                owner = cells[base + _PID]
                if owner and _exists(owner):
                    continue
                cells[base + _HEARTBEAT] = time.monotonic_ns()
                cells[base + _CONNECTIONS] = 0
                cells[base + _ACCEPTING] = 0
                cells[base + _HELD_OFF] = 0
                cells[base + _PID] = pid  # last: until now readers saw the dead owner's pid
                cells[0] = max(cells[0], slot + 1)
                return slot
            return None
        finally:
            fcntl.lockf(self._file, fcntl.LOCK_UN)

    def release(self, slot: int) -> None:
        """Give the slot back (a worker that is killed leaves it to be reclaimed)."""
        self._cells[_HEADER + slot * _FIELDS + _PID] = 0

    def publish(self, slot: int, connections: int, accepting: bool, held_off: bool) -> None:
        """Record what the worker holds now, whether it accepts or waits for its turn, and that
        it is alive."""
        base = _HEADER + slot * _FIELDS
        cells = self._cells
        cells[base + _CONNECTIONS] = connections
        cells[base + _ACCEPTING] = int(accepting)
        cells[base + _HELD_OFF] = int(held_off)
        cells[base + _HEARTBEAT] = time.monotonic_ns()

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The fewest connections a live, accepting sibling holds; None without one."""
        fewest = None
        for pid, connections, accepting, _ in self._siblings(slot):
            if accepting and (fewest is None or connections < fewest) and _exists(pid):
                fewest = connections
        return fewest

    def held_off_below(self, slot: int, connections: int) -> list[int]:
        """The pids of live siblings held off for balance that hold `connections` or fewer."""
        return [
            pid
            for pid, theirs, _, held_off in self._siblings(slot)
            if held_off and theirs <= connections and _exists(pid)
        ]

    def _siblings(self, slot: int) -> Iterator[tuple[int, int, int, int]]:
        """(pid, connections, accepting, held off) of every other slot owned and fresh."""
        cells = self._cells
        now = time.monotonic_ns()
        for other in range(cells[0]):
            base = _HEADER + other * _FIELDS
            pid = cells[base + _PID]
            if other == slot or not pid or now - cells[base + _HEARTBEAT] > _STALE_NS:
                continue
            yield pid, cells[base + _CONNECTIONS], cells[base + _ACCEPTING], cells[base + _HELD_OFF]


def _wake(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGWINCH)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


class BalancedThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, accepting only while it holds no more than its share."""

    _table: ClassVar[WorkerTable | None] = None

    def __init__(self, *args, **kwargs) -> None:
        # Runs in the master, before the fork: the table must exist there to be shared.
        super().__init__(*args, **kwargs)
        if BalancedThreadWorker._table is None:
            BalancedThreadWorker._table = WorkerTable(directory=self.cfg.worker_tmp_dir)
        self._slot: int | None = None
        self._yielding = False
        self._shed_lock = threading.Lock()
        self._next_shed = 0.0

    def run(self) -> None:
        """Serve as gthread does, with a slot in the table while it runs."""
        self._slot = self._table.claim(os.getpid())
        if self._slot is None:
            log.warning("No free slot among %d: this worker does not balance", SLOTS)
        # Python writes a byte to this pipe on every signal, whichever thread takes it: polling
        # it wakes the loop when a sibling sends SIGWINCH.
        self.poller.register(self.PIPE[0], selectors.EVENT_READ, self._drain_signal_pipe)
        try:
            super().run()
        finally:
            if self._slot is not None:
                self._table.release(self._slot)

    # --- accepting: gthread's main thread ------------------------------------------------

    def set_accept_enabled(self, enabled: bool) -> None:
        """Accept when gthread would, unless a sibling holds fewer connections and accepts."""
        self._yielding = enabled and self._over_share(ACCEPT_GAP)
        super().set_accept_enabled(enabled and not self._yielding)
        self._publish()

    def accept(self, listener) -> None:
        """Accept one connection; hand over to a sibling if that leaves this worker over share."""
        super().accept(listener)
        self._publish()
        if self._slot is None or not self._accepting:
            return
        if self._over_share(ACCEPT_GAP):
            self._yield()
            return
        for pid in self._table.held_off_below(self._slot, self.nr_conns - ACCEPT_GAP):
            _wake(pid)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        """Publish once a loop; stop accepting when over share, look again soon when held off."""
        # gthread calls set_accept_enabled(True) each loop while it wants to accept and does
        # not, which is where a held-off worker resumes.
        if self._accepting and self._over_share(ACCEPT_GAP):
            self._yield()
        self._publish()
        if self._yielding:
            timeout = min(timeout, HELD_OFF_POLL)
        super().wait_for_and_dispatch_events(timeout)

    def handle_winch(self, sig, frame) -> None:
        """A sibling asks this worker to look again whether to accept: the loop does so."""

    def _drain_signal_pipe(self, pipe) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(pipe, 4096)

    def _yield(self) -> None:
        self._yielding = True
        super().set_accept_enabled(False)
        self._publish()

    def _over_share(self, gap: int) -> bool:
        if self._slot is None or not self.alive:
            return False
        fewest = self._table.fewest_elsewhere(self._slot)
        return fewest is not None and self.nr_conns - fewest >= gap

    def _publish(self) -> None:
        if self._slot is not None:
            self._table.publish(self._slot, self.nr_conns, self._accepting, self._yielding)

    # --- shedding a skew: the request threads --------------------------------------------

    def handle_request(self, req, conn):
        """Serve the request; close its connection after it if this worker sheds one now."""
        if self._shed_now():
            req.must_close = True  # the response says "Connection: close"
        return super().handle_request(req, conn)

    def _shed_now(self) -> bool:
        now = time.monotonic()
        if self._slot is None or now < self._next_shed:
            return False
        with self._shed_lock:
            if now < self._next_shed:
                return False
            self._next_shed = now + SHED_INTERVAL
            held = self.nr_conns
            return self._over_share(max(SHED_GAP, held // 4))
