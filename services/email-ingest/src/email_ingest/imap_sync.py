"""Import one IMAP mailbox like a mail client: a UID cursor per folder, advanced after confirm.

For each folder: SELECT, compare UIDVALIDITY with the stored cursor (a change means the UIDs
we know are meaningless: start again from 0 and let the inbox deduplicate the repeats by
Message-ID), search the UIDs above the cursor, fetch them in batches with BODY.PEEK[] (so the
server does not mark them seen), and hand each batch to a FolderPipeline: it is parsed and
archived (in worker processes) while the next is fetched, and only once the broker
confirmed it does the cursor move to the batch's highest UID and the messages get flagged
or moved.

A message must never stall its folder: one that vanished is skipped, one the server refuses
to send or that exceeds the size limit is parked in `switchboard.rejected` with the reason,
one the parser cannot turn into a valid event is parked raw; the cursor passes them all.
What is not the message's fault (broker, blob store, connection) leaves the cursor in place.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable

from imapclient import IMAPClient

from email_ingest.imap_batch import IMAP_MESSAGES, BatchImporter, Fetched, Place, split_by_bytes
from email_ingest.imap_pipeline import FolderPipeline, timed
from email_ingest.imap_prepare import InlinePreparer, Preparer
from email_ingest.imap_state import Cursor, ImapState
from email_ingest.ingestion import EmailIngestor
from email_ingest.mailboxes import Mailbox

log = logging.getLogger(__name__)

_BODY = b"BODY[]"
_SIZE = b"RFC822.SIZE"


class LeaseLost(Exception):
    """Another replica holds this mailbox now: stop touching it."""


def connect(mailbox: Mailbox, timeout: float = 60.0) -> IMAPClient:
    """Open an authenticated IMAP session to `mailbox` (TLS, STARTTLS or plain)."""
    context = ssl.create_default_context() if mailbox.security != "none" else None
    client = IMAPClient(
        mailbox.host,
        port=mailbox.port,
        ssl=mailbox.security == "tls",
        ssl_context=context,
        timeout=timeout,
    )
    try:
        if mailbox.security == "starttls":
            client.starttls(context)
        client.login(mailbox.user, str(mailbox.password))
    except BaseException:
        client.shutdown()
        raise
    return client


class MailboxSync:
    """Imports the folders of one mailbox into the bus; keeps its IMAP session between runs."""

    def __init__(
        self,
        mailbox: Mailbox,
        state: ImapState,
        ingestor: EmailIngestor,
        batch_size: int,
        max_message_bytes: int,
        connector: Callable[[Mailbox], IMAPClient] = connect,
        preparer: Preparer | None = None,
        depth: int = 2,
    ) -> None:
        self.mailbox = mailbox
        self.state = state
        self.importer = BatchImporter(ingestor, mailbox.address)
        self.batch_size = batch_size
        self.max_message_bytes = max_message_bytes
        self.connector = connector
        self.preparer = preparer or InlinePreparer(ingestor.blobs)
        self.depth = depth
        self.client: IMAPClient | None = None
        self._known_folders: set[str] = set()

    def run(self, keep_going: Callable[[], bool]) -> int:
        """Import what is new in every folder; return how many messages were handled.

        `keep_going` is asked before each batch; when it says no (shutdown, lease lost) the
        run stops there, with every cursor at a confirmed batch. Any error drops the
        session, so the next run starts on a fresh connection.
        """
        handled = 0
        try:
            client = self._connected()
            for folder in self.mailbox.folders:
                if not keep_going():
                    break
                handled += self._sync_folder(client, folder, keep_going)
        except BaseException:
            self.close()
            raise
        return handled

    def can_idle(self) -> bool:
        """Say whether this mailbox can wait with IDLE: one folder, server supports it."""
        return (
            len(self.mailbox.folders) == 1
            and self.client is not None
            and self.client.has_capability("IDLE")
        )

    def idle(self, seconds: float, keep_waiting: Callable[[], bool]) -> bool:
        """Wait up to `seconds` in IDLE on the selected folder; True if the server signalled.

        IDLE is only a wake-up call (a reconnect loses pushes); the cursor stays the truth.
        `keep_waiting` is asked every second so a shutdown does not wait for the server.
        """
        client = self._connected()
        try:
            client.idle()
            responses: list = []
            deadline = time.monotonic() + seconds
            while not responses and keep_waiting():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                responses = client.idle_check(timeout=min(1.0, left))
            # What arrived after the last check comes with the end of IDLE: a wake-up too.
            _text, late = client.idle_done()
            responses += late
        except BaseException:
            self.close()
            raise
        return bool(responses)

    def close(self) -> None:
        """Log out (best effort) and forget the session."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # the session is being dropped because it is broken
            client.shutdown()

    def _connected(self) -> IMAPClient:
        if self.client is None:
            self.client = self.connector(self.mailbox)
        return self.client

    def _sync_folder(self, client: IMAPClient, folder: str, keep_going: Callable[[], bool]) -> int:
        try:
            status = client.select_folder(
                folder, readonly=self.mailbox.after_import.action == "none"
            )
        except IMAPClient.AbortError:
            raise
        except IMAPClient.Error as exc:
            # A folder missing or not selectable must not stop the mailbox's other folders.
            log.error("mailbox %s: cannot select %r: %s", self.mailbox.name, folder, exc)
            return 0
        uidvalidity = int(status[b"UIDVALIDITY"])
        cursor = self.state.cursor(self.mailbox.name, folder)
        if cursor is None or cursor.uidvalidity != uidvalidity:
            if cursor is not None:
                log.warning(
                    "mailbox %s folder %r: UIDVALIDITY changed %d -> %d; resyncing from the"
                    " start (the inbox deduplicates what was imported before)",
                    self.mailbox.name,
                    folder,
                    cursor.uidvalidity,
                    uidvalidity,
                )
            cursor = Cursor(uidvalidity, 0)
            self._save(folder, cursor)
        uid_next = status.get(b"UIDNEXT")
        if uid_next is not None and int(uid_next) <= cursor.last_uid + 1:
            return 0  # nothing arrived since the cursor: skip the SEARCH round trip
        # `n:*` always matches the highest UID, even when it is below n (RFC 3501 6.4.8).
        found = client.search(["UID", f"{cursor.last_uid + 1}:*"])
        uids = sorted(uid for uid in found if uid > cursor.last_uid)
        if not uids:
            return 0
        pipeline = FolderPipeline(
            self.importer,
            self.preparer,
            Place(self.mailbox.name, folder, uidvalidity),
            lambda last: self._save(folder, Cursor(uidvalidity, last)),
            self.depth,
            self.importer.ingestor.clock,
        )
        handled = 0
        try:
            for start in range(0, len(uids), self.batch_size):
                chunk = uids[start : start + self.batch_size]
                done, complete = self._import_chunk(client, pipeline, chunk, keep_going)
                handled += done
                self._after_import(client, pipeline.settled())
                if not complete:
                    break  # told to stop
            pipeline.finish()
        except BaseException:
            pipeline.abort()
            raise
        self._after_import(client, pipeline.settled())
        return handled

    def _import_chunk(
        self,
        client: IMAPClient,
        pipeline: FolderPipeline,
        uids: list[int],
        keep_going: Callable[[], bool],
    ) -> tuple[int, bool]:
        """Fetch up to `batch_size` UIDs into the pipeline; return (handled, whole chunk)."""
        # Sizes first (cheap): a UID without one vanished since the SEARCH.
        with timed("fetch"):
            response = client.fetch(uids, [_SIZE])
        sizes = {uid: int(data[_SIZE]) for uid, data in response.items()}
        handled = 0
        wanted = []
        for uid in uids:
            if sizes.get(uid, 0) > self.max_message_bytes:
                # Fetching it would fail the same way on every poll: park it and pass it.
                pipeline.park(uid, f"too large: {sizes[uid]} bytes")
                handled += 1
            elif uid in sizes:
                wanted.append(uid)
        last = 0
        for batch in split_by_bytes(wanted, sizes):
            if not keep_going():
                return handled, False
            messages = self._fetch(client, pipeline, batch)
            # The cursor passes the whole batch once it is confirmed: what is not in
            # `messages` vanished or was parked.
            last = batch[-1]
            pipeline.submit(messages, last)
            handled += len(messages)
        if last < uids[-1]:
            # Vanished or oversized UIDs at the end of the chunk: pass them too.
            pipeline.advance(uids[-1])
        vanished = len(uids) - len(sizes)
        if vanished:
            IMAP_MESSAGES.labels("vanished").inc(vanished)
        return handled, True

    def _fetch(
        self, client: IMAPClient, pipeline: FolderPipeline, uids: list[int]
    ) -> list[Fetched]:
        """Fetch a batch's bodies; if the server refuses the batch, fetch one by one."""
        try:
            with timed("fetch"):
                return _bodies(uids, client.fetch(uids, ["BODY.PEEK[]"]))
        except IMAPClient.AbortError:
            raise
        except IMAPClient.Error as exc:
            log.warning(
                "mailbox %s folder %r: fetch of %d messages refused (%s); fetching one by one",
                self.mailbox.name,
                pipeline.place.folder,
                len(uids),
                exc,
            )
        fetched = []
        for uid in uids:
            try:
                fetched += _bodies([uid], client.fetch([uid], ["BODY.PEEK[]"]))
            except IMAPClient.AbortError:
                raise
            except IMAPClient.Error as exc:
                # The server serves its neighbours but not this one: a message-level fault.
                pipeline.park(uid, f"server refused to send it: {exc}")
        return fetched

    def _save(self, folder: str, cursor: Cursor) -> None:
        if not self.state.save_cursor(self.mailbox.name, folder, cursor):
            raise LeaseLost(self.mailbox.name)

    def _after_import(self, client: IMAPClient, uids: list[int]) -> None:
        """Flag or move what was imported; a failure here only costs the flag, not the mail."""
        action = self.mailbox.after_import
        if action.action == "none" or not uids:
            return
        try:
            if action.action == "seen":
                client.add_flags(uids, [b"\\Seen"], silent=True)
            elif action.action == "move":
                self._move(client, uids, action.folder)
        except IMAPClient.AbortError:
            raise
        except IMAPClient.Error as exc:
            log.error(
                "mailbox %s: %s after import failed: %s", self.mailbox.name, action.action, exc
            )

    def _move(self, client: IMAPClient, uids: list[int], target: str) -> None:
        if target not in self._known_folders:
            if not client.folder_exists(target):
                client.create_folder(target)
            self._known_folders.add(target)
        if client.has_capability("MOVE"):
            client.move(uids, target)
        else:
            client.copy(uids, target)
            client.delete_messages(uids, silent=True)
            if client.has_capability("UIDPLUS"):
                client.uid_expunge(uids)
            else:
                client.expunge()  # without UIDPLUS, every message flagged deleted goes at once


def _bodies(uids: list[int], response: dict) -> list[Fetched]:
    """The fetched messages in UID order; a UID without a body vanished meanwhile."""
    return [
        Fetched(uid, bytes(response[uid][_BODY]))
        for uid in uids
        if uid in response and response[uid].get(_BODY) is not None
    ]
