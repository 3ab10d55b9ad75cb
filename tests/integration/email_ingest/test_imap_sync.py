"""One mailbox's sync in-process against Dovecot, RabbitMQ and PostgreSQL.

UIDVALIDITY resync, messages that cannot become events, flag or move after import, the size
limit. The worker process (leases, restarts, replicas) is tested in test_imap_worker.py.
"""

import json
import logging

import pytest

from email_ingest import ingestion
from email_ingest.imap_prepare import ProcessPreparer
from email_ingest.imap_state import Cursor, ImapState
from email_ingest.imap_sync import LeaseLost, MailboxSync
from email_ingest.ingestion import EmailIngestor
from email_ingest.mailboxes import parse_mailboxes
from email_ingest.mime_parser import parse_email
from switchboard_shared.blobstore import FilesystemBlobStore
from switchboard_shared.config import LogSettings
from switchboard_shared.database import connection_pool
from switchboard_shared.errors import PublishError
from switchboard_shared.publisher import Publisher
from switchboard_shared.topology import REJECTED_QUEUE
from tests.integration.email_ingest.imap_harness import (
    ImapUser,
    append_mails,
    build_mail,
    dovecot,
    imap_database,
    imap_user,
    message_id,
    published_ids,
)

__all__ = ["dovecot", "imap_database", "imap_user"]  # fixtures, used by name

NOT_EMAIL = b"This is not an email at all,\r\njust a few words\r\nwithout a single header.\r\n"


@pytest.fixture
def pool(imap_database):
    """A connection pool on the migrated test database."""
    pool = connection_pool_for(imap_database)
    yield pool
    pool.close()


def connection_pool_for(url: str):
    from switchboard_shared.config import DatabaseSettings, Secret

    return connection_pool(DatabaseSettings(url=Secret(url), pool_size=2), "imap-tests")


@pytest.fixture
def make_sync(pool, amqp_settings, blob_settings, broker):
    """Build a MailboxSync for a user, holding its lease, with a real publisher and blobs."""
    made = []

    def make(
        user: ImapUser,
        batch_size: int = 50,
        max_bytes: int = 10**6,
        processes: int = 0,
        publisher=None,
        blobs=None,
        **entry,
    ) -> MailboxSync:
        [mailbox] = parse_mailboxes([user.mailbox(**entry)], {user.password_env: user.password})
        state = ImapState(pool, f"test:{user.name}", lease_seconds=60)
        assert state.acquire([mailbox.name]) == {mailbox.name}
        blobs = blobs or FilesystemBlobStore(blob_settings.dir, fsync=False)
        publisher = publisher or Publisher(amqp_settings)
        ingestor = EmailIngestor(blobs, publisher, "email-ingest/imap")
        preparer = (
            ProcessPreparer(blob_settings, LogSettings(format="text"), processes, "imap-tests")
            if processes
            else None
        )
        sync = MailboxSync(
            mailbox, state, ingestor, batch_size, max_bytes, preparer=preparer, depth=3
        )
        made.append(sync)
        return sync

    yield make
    for sync in made:
        sync.close()
        sync.preparer.close()
        sync.importer.ingestor.publisher.close()


def always() -> bool:
    return True


def rejected(broker) -> list[dict]:
    """Take the parked payloads from `switchboard.rejected`."""
    return [json.loads(body) for _, body in broker.take_all(REJECTED_QUEUE)]


def test_a_uidvalidity_change_resyncs_everything_and_loses_nothing(
    imap_user, make_sync, broker, caplog
):
    append_mails(imap_user, [build_mail(i, "before") for i in range(5)], folder="Support")
    sync = make_sync(imap_user, folders=["Support"])
    assert sync.run(always) == 5
    first = published_ids(broker)
    before = sync.state.cursor(imap_user.name, "Support")
    assert before.last_uid == 5
    # Recreate the folder: same mails again (as a server migration would), plus new ones.
    with imap_user.client() as client:
        client.delete_folder("Support")
    again = [build_mail(i, "before") for i in range(5)] + [build_mail(i, "new") for i in range(2)]
    append_mails(imap_user, again, folder="Support")
    with caplog.at_level(logging.WARNING, logger="email_ingest.imap_sync"):
        assert sync.run(always) == 7
    assert "UIDVALIDITY changed" in caplog.text
    second = published_ids(broker)
    assert sorted(second) == sorted(first + [message_id(i, "new") for i in range(2)])
    # The repeats carry the Message-IDs already seen: the inbox deduplicates them.
    assert set(first) <= set(second)
    after = sync.state.cursor(imap_user.name, "Support")
    assert after.uidvalidity != before.uidvalidity and after.last_uid == 7


def test_messages_that_cannot_become_events_are_parked_and_never_fetched_again(
    imap_user, make_sync, broker, corpus_dir, monkeypatch
):
    malformed = (corpus_dir / "malformed-mime" / "mail_malformed_2").read_bytes()
    poison = build_mail(99, "poison").replace(b"Subject:", b"X-Poison: yes\nSubject:", 1)
    mails = [build_mail(0), NOT_EMAIL, malformed, poison, build_mail(4)]
    append_mails(imap_user, mails)
    sync = make_sync(imap_user)
    ingestor = sync.importer.ingestor

    def crashing_parse(raw: bytes, **kwargs):
        # Stands for any parser fault that escapes the parser: the message is at fault.
        if b"X-Poison: yes" in raw:
            raise ValueError("parser bug")
        return parse_email(raw, **kwargs)

    monkeypatch.setattr(ingestion, "parse_email", crashing_parse)
    assert sync.run(always) == 5
    payloads = [json.loads(body) for _, body in broker.take_all("inbox.messages")]
    assert [p["external_id"] for p in payloads] == [
        message_id(0),
        "<B0950073156@apus.netpar.com.br>",
        message_id(4),
    ]
    assert payloads[1]["defects"], "a malformed mail is published with its defects"
    parked = rejected(broker)
    reasons = sorted(p["reason"] for p in parked)
    assert reasons[0].startswith("cannot import: ValueError('parser bug')")
    assert reasons[1].startswith("not an email")
    archived = FilesystemBlobStore(ingestor.blobs.root, fsync=False)
    assert all(archived.exists(p["raw_sha256"]) for p in parked), "parked raws are archived"
    assert sync.state.cursor(imap_user.name, "INBOX").last_uid == 5
    # The next poll starts after them: nothing is fetched or parked again.
    assert sync.run(always) == 0
    assert broker.depth("inbox.messages") == 0 and broker.depth(REJECTED_QUEUE) == 0


def test_a_message_over_the_size_limit_is_parked_without_being_fetched(
    imap_user, make_sync, broker
):
    append_mails(imap_user, [build_mail(0), build_mail(1, body_lines=2000), build_mail(2)])
    sync = make_sync(imap_user, max_bytes=20_000)
    assert sync.run(always) == 3
    assert published_ids(broker) == [message_id(0), message_id(2)]
    [parked] = rejected(broker)
    assert parked["reason"].startswith("too large:")
    assert (parked["mailbox"], parked["folder"], parked["uid"]) == (imap_user.name, "INBOX", 2)
    assert sync.state.cursor(imap_user.name, "INBOX").last_uid == 3


@pytest.mark.parametrize("after_import", ["seen", "move:Imported/Done"])
def test_imported_messages_are_flagged_or_moved(imap_user, make_sync, broker, after_import):
    append_mails(imap_user, [build_mail(i) for i in range(3)])
    sync = make_sync(imap_user, batch_size=2, after_import=after_import)
    assert sync.run(always) == 3
    assert len(published_ids(broker)) == 3
    with imap_user.client() as client:
        client.select_folder("INBOX", readonly=True)
        if after_import == "seen":
            assert client.search(["SEEN"]) == [1, 2, 3]
        else:
            assert client.search(["ALL"]) == []
            client.select_folder("Imported/Done", readonly=True)
            assert len(client.search(["UNSEEN"])) == 3


def test_mail_is_fetched_unseen_when_nothing_is_to_be_done_after_import(
    imap_user, make_sync, broker
):
    append_mails(imap_user, [build_mail(0)])
    assert make_sync(imap_user).run(always) == 1
    with imap_user.client() as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["UNSEEN"]) == [1]


def test_a_replica_without_the_lease_cannot_move_the_cursor(imap_user, make_sync, pool, broker):
    append_mails(imap_user, [build_mail(0)])
    sync = make_sync(imap_user)
    # Another replica took the mailbox over (say this one stalled past its lease).
    sync.state.release([imap_user.name])
    assert ImapState(pool, "other", 60).acquire([imap_user.name]) == {imap_user.name}
    with pytest.raises(LeaseLost):
        sync.run(always)
    assert sync.state.cursor(imap_user.name, "INBOX") is None
    assert not sync.state.save_cursor(imap_user.name, "INBOX", Cursor(1, 1))


def test_worker_processes_prepare_the_batches_and_publishing_keeps_uid_order(
    imap_user, make_sync, broker
):
    mails = [build_mail(i, "piped") for i in range(23)]
    mails[11] = NOT_EMAIL
    append_mails(imap_user, mails)
    sync = make_sync(imap_user, batch_size=4, processes=2)
    assert sync.run(always) == 23
    expected = [message_id(i, "piped") for i in range(23) if i != 11]
    assert published_ids(broker) == expected, "events in UID order, one each"
    [parked] = rejected(broker)
    assert parked["reason"].startswith("not an email") and parked["uid"] == 12
    assert FilesystemBlobStore(sync.importer.ingestor.blobs.root).exists(parked["raw_sha256"])
    assert sync.state.cursor(imap_user.name, "INBOX").last_uid == 23


class FailingPublisher(Publisher):
    """Confirms the first `good` batches, then reports the broker gone."""

    def __init__(self, settings, good: int) -> None:
        super().__init__(settings)
        self.good = good

    def send(self, messages) -> None:
        if messages and self.good <= 0:
            raise PublishError("broker gone (test)")
        self.good -= bool(messages)
        super().send(messages)


def test_the_cursor_never_passes_a_batch_the_broker_did_not_confirm(
    imap_user, make_sync, broker, amqp_settings
):
    append_mails(imap_user, [build_mail(i, "held") for i in range(20)])
    # Batches prepared ahead of the failed one were fetched, parsed and archived: they must
    # not be published, and the cursor stays after the last confirmed batch.
    failing = make_sync(
        imap_user, batch_size=5, processes=1, publisher=FailingPublisher(amqp_settings, 2)
    )
    with pytest.raises(PublishError):
        failing.run(always)
    assert published_ids(broker) == [message_id(i, "held") for i in range(10)]
    assert failing.state.cursor(imap_user.name, "INBOX").last_uid == 10
    failing.state.release([imap_user.name])
    healthy = make_sync(imap_user, batch_size=5, processes=1)
    assert healthy.run(always) == 10
    assert published_ids(broker) == [message_id(i, "held") for i in range(10, 20)]
    assert healthy.state.cursor(imap_user.name, "INBOX").last_uid == 20


class FailingSyncStore(FilesystemBlobStore):
    """Makes the first `good` batches durable, then reports the disk failing."""

    def __init__(self, root, good: int) -> None:
        super().__init__(root, fsync=True)
        self.good = good
        self.synced: list[str] = []

    def sync(self, digests) -> None:
        digests = list(digests)
        if self.good <= 0:
            raise OSError(5, "Input/output error (test)")
        self.good -= 1
        super().sync(digests)
        self.synced += digests


def test_the_cursor_never_passes_a_batch_whose_blobs_were_not_synced(
    imap_user, make_sync, broker, blob_settings
):
    # The preparing process only writes the blobs; the publisher's side syncs them beside
    # the publish, and the cursor must wait for that sync as it waits for the confirms.
    mails = [build_mail(i, "synced") for i in range(20)]
    append_mails(imap_user, mails)
    store = FailingSyncStore(blob_settings.dir, good=2)
    failing = make_sync(imap_user, batch_size=5, processes=1, blobs=store)
    with pytest.raises(OSError, match="Input/output error"):
        failing.run(always)
    assert failing.state.cursor(imap_user.name, "INBOX").last_uid == 10
    failing.state.release([imap_user.name])
    healthy = make_sync(imap_user, batch_size=5, processes=1, blobs=store)
    store.good = 10
    assert healthy.run(always) == 10
    assert healthy.state.cursor(imap_user.name, "INBOX").last_uid == 20
    # Every mail published was synced (the third batch may have been published before its
    # sync failed: its repeat is harmless, the inbox deduplicates by Message-ID).
    events = [json.loads(body) for _, body in broker.take_all("inbox.messages")]
    assert {event["external_id"] for event in events} == {
        message_id(i, "synced") for i in range(20)
    }
    assert {event["raw_sha256"] for event in events} <= set(store.synced)
