"""Where the IMAP poller parses and archives its batches: in worker processes, or in-line.

Parsing is CPU-bound Python, so in the poller's own process it holds the interpreter lock
that fetching and publishing need too. `ProcessPreparer` runs `prepare_batch` in a pool of
worker processes (spawned, not forked: the poller has threads by then), each with its own
blob store on the same directory, so parsing and archiving a batch use another core while
the poller fetches the next batch and publishes the previous one. Results come back in the
order the batches were submitted; what crosses the process boundary is raw bytes in, and
validated wire messages out (never read from anywhere else).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from multiprocessing import get_context
from typing import Protocol

from email_ingest.ingestion import PreparedBatch, prepare_batch
from switchboard_shared.blobstore import BlobStore, FilesystemBlobStore
from switchboard_shared.config import BlobSettings, LogSettings
from switchboard_shared.structured_logging import configure_logging

_ORPHAN_CHECK_SECONDS = 1.0


class Preparer(Protocol):
    """Parses and archives batches; results in submission order through their futures."""

    def submit(
        self, raws: Sequence[bytes], inbox: str, received_at: datetime
    ) -> Future[PreparedBatch]:
        """Start preparing one batch."""

    def close(self) -> None:
        """Stop whatever runs the batches."""


class InlinePreparer:
    """Prepares each batch at once in the calling thread (tests, or a one-core host)."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    def submit(
        self, raws: Sequence[bytes], inbox: str, received_at: datetime
    ) -> Future[PreparedBatch]:
        """Prepare the batch now; the future is already done (or failed)."""
        future: Future[PreparedBatch] = Future()
        try:
            future.set_result(prepare_batch(self.blobs, raws, inbox, received_at))
        except Exception as exc:  # handed over: whoever publishes the batch raises it
            future.set_exception(exc)
        return future

    def close(self) -> None:
        """Nothing to stop."""


class ProcessPreparer:
    """Prepares batches in `processes` worker processes, started on the first batch."""

    def __init__(self, blob: BlobSettings, log: LogSettings, processes: int, service: str) -> None:
        self.blob = blob
        self.log = log
        self.processes = processes
        self.service = service
        self._executor: ProcessPoolExecutor | None = None

    def submit(
        self, raws: Sequence[bytes], inbox: str, received_at: datetime
    ) -> Future[PreparedBatch]:
        """Queue the batch for a worker process; a pool broken by a dead worker is replaced."""
        try:
            return self._pool().submit(_prepare, list(raws), inbox, received_at)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): its batches fail, later ones get a new pool.
            self.close()
            return self._pool().submit(_prepare, list(raws), inbox, received_at)

    def close(self) -> None:
        """Stop the worker processes (batches not started yet are cancelled)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.processes,
                mp_context=get_context("spawn"),
                initializer=_start_worker,
                initargs=(self.blob, self.log, self.service),
            )
        return self._executor


_blobs: BlobStore | None = None  # the worker process's blob store, set by _start_worker


def _start_worker(blob: BlobSettings, log: LogSettings, service: str) -> None:
    """Set up one worker process: its logging and blob store; leave signals to the poller."""
    global _blobs
    # Ctrl-C or a service manager's SIGTERM may reach the whole process group: the poller
    # finishes the batches in hand, and it stops its workers once they are done.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    configure_logging(service, log)
    _blobs = FilesystemBlobStore(blob.dir, blob.fsync)
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()


def _exit_with(parent: int) -> None:
    """End this worker process once the poller is gone (SIGKILLed: nobody would stop it)."""
    while os.getppid() == parent:
        time.sleep(_ORPHAN_CHECK_SECONDS)
    os._exit(0)


def _prepare(raws: list[bytes], inbox: str, received_at: datetime) -> PreparedBatch:
    assert _blobs is not None, "the pool's initializer sets the blob store"
    return prepare_batch(_blobs, raws, inbox, received_at)
