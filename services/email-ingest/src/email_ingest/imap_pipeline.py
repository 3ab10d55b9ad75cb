"""One folder's import as a pipeline: the IMAP thread fetches while a publisher thread settles.

The IMAP thread (the only one that touches the session) fetches a batch, hands its raw
mails to the preparer (parse, validate and write the blobs, in worker processes) and the
batch to the publisher thread, and goes on to fetch the next; a sync thread makes each
batch's blobs durable as soon as they are written. The publisher thread settles what it is
handed strictly in order: it waits for a batch's preparation, publishes it with every
confirm in flight, and only once its blobs are synced too moves the cursor to the batch's
last UID and reports the UIDs back to be flagged or moved. So the cursor never passes an
unconfirmed or unarchived mail, and at most one batch is confirmed ahead of the cursor at
any moment (all a SIGKILL can repeat; the repeat also rewrites any blob the crash left torn).
Parks and cursor steps over vanished or oversized UIDs travel the same queue, in order.

At most `depth` batches are in hand (fetched, not yet settled): the IMAP thread waits when
the publisher falls behind. An error in the publisher thread (broker, blob store, lost
lease) stops it and drops what it had not settled; the IMAP thread raises that error at its
next hand-over or at `finish`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Counter

from email_ingest.imap_batch import BatchImporter, Fetched, Place
from email_ingest.imap_prepare import Preparer
from email_ingest.ingestion import PreparedBatch

STAGE_SECONDS = Counter(
    "switchboard_imap_stage_seconds_total",
    "Seconds the IMAP import spent busy in each stage: fetch (IMAP thread), parse and archive"
    " (summed over the preparing processes), publish (until confirmed), sync (the wait for"
    " the blobs' sync after the publish) and cursor",
    ["stage"],
)


@dataclass(frozen=True)
class _Batch:
    messages: list[Fetched]
    prepared: Future[PreparedBatch]
    synced: Future[None]  # its blobs durable
    last_uid: int


@dataclass(frozen=True)
class _Park:
    uid: int
    reason: str


@dataclass(frozen=True)
class _Advance:
    last_uid: int


_Task = _Batch | _Park | _Advance


class FolderPipeline:
    """Settles a folder's batches in UID order on a publisher thread of its own."""

    def __init__(
        self,
        importer: BatchImporter,
        preparer: Preparer,
        place: Place,
        save: Callable[[int], None],
        depth: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.importer = importer
        self.preparer = preparer
        self.place = place
        self.save = save
        self.depth = depth
        self.clock = clock
        self._changed = threading.Condition()
        self._tasks: deque[_Task] = deque()
        self._batches = 0  # batches handed over and not settled yet
        self._closing = False
        self._error: BaseException | None = None
        self._settled: list[int] = []
        # Each batch's blobs are synced as soon as they are written, in order, on a thread
        # that waits for the disk, not the interpreter: beside the publishing, not after it.
        self._syncer = ThreadPoolExecutor(1, thread_name_prefix=f"blob-sync-{place.mailbox}")
        self._thread = threading.Thread(
            target=self._run, name=f"imap-publisher-{place.mailbox}", daemon=True
        )
        self._thread.start()

    def submit(self, messages: list[Fetched], last_uid: int) -> None:
        """Start preparing a fetched batch; the cursor moves to `last_uid` once it is confirmed."""
        with self._changed:
            while self._batches >= self.depth and self._error is None:
                self._changed.wait()
        self._raise_error()
        raws = [m.raw for m in messages]
        prepared = self.preparer.submit(raws, self.importer.address, self.clock())
        synced = self._syncer.submit(self._sync, prepared)
        self._hand_over(_Batch(messages, prepared, synced, last_uid), batch=True)

    def park(self, uid: int, reason: str) -> None:
        """Park a message that was not fetched (too large, refused), after what is in hand."""
        self._hand_over(_Park(uid, reason))

    def advance(self, last_uid: int) -> None:
        """Move the cursor over UIDs with nothing to publish, once what is in hand is settled."""
        self._hand_over(_Advance(last_uid))

    def settled(self) -> list[int]:
        """Take the UIDs published since the last call (to flag or move them)."""
        with self._changed:
            uids, self._settled = self._settled, []
        return uids

    def finish(self) -> None:
        """Wait until everything handed over is settled; raise what stopped the publisher."""
        self._stop()
        self._raise_error()

    def abort(self) -> None:
        """Drop what is not settled (its cursor stays) once the batch being published is done."""
        with self._changed:
            self._tasks.clear()
        self._stop()

    def _stop(self) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._thread.join()
        # What is still queued belongs to batches dropped unsettled: no need to sync them.
        self._syncer.shutdown(cancel_futures=True)

    def _hand_over(self, task: _Task, batch: bool = False) -> None:
        with self._changed:
            self._raise_error()
            self._tasks.append(task)
            self._batches += batch
            self._changed.notify_all()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._tasks and not self._closing:
                    self._changed.wait()
                if not self._tasks:
                    return
                task = self._tasks.popleft()
            try:
                uids = self._settle(task)
            except BaseException as exc:  # handed to the IMAP thread, which raises it
                with self._changed:
                    self._error = exc
                    self._tasks.clear()
                    self._changed.notify_all()
                return
            with self._changed:
                self._settled += uids
                self._batches -= isinstance(task, _Batch)
                self._changed.notify_all()

    def _sync(self, prepared: Future[PreparedBatch]) -> None:
        """Make a batch's blobs durable as soon as they are written (its failure: see _settle)."""
        self.importer.ingestor.blobs.sync(prepared.result().blobs)

    def _settle(self, task: _Task) -> list[int]:
        if isinstance(task, _Park):
            self.importer.park(self.place, task.uid, task.reason)
            return []
        uids: list[int] = []
        if isinstance(task, _Batch):
            prepared = task.prepared.result()
            STAGE_SECONDS.labels("parse").inc(prepared.parse_seconds)
            STAGE_SECONDS.labels("archive").inc(prepared.archive_seconds)
            with timed("publish"):
                uids = self.importer.publish(self.place, task.messages, prepared)
            with timed("sync"):
                task.synced.result()  # raises OSError if the blobs could not be made durable
        with timed("cursor"):
            self.save(task.last_uid)
        return uids


@contextlib.contextmanager
def timed(stage: str) -> Iterator[None]:
    """Add the seconds the block took to the stage's busy time."""
    started = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(stage).inc(time.perf_counter() - started)
