"""The IMAP worker as real processes against Dovecot, RabbitMQ and PostgreSQL.

Restarts, kills and replicas need real processes; what one sync does is tested in-process
in test_imap_sync.py.
"""

import collections

import psycopg

from tests.integration.email_ingest.imap_harness import (
    ImapUser,
    append_mails,
    build_mail,
    dovecot,
    imap_database,
    imap_user,
    message_id,
    new_user,
    published_ids,
    workers,
)
from tests.support.waiting import wait_for

__all__ = ["dovecot", "imap_database", "imap_user", "workers"]  # fixtures, used by name


def cursor_of(database_url: str, user: ImapUser, folder: str = "INBOX") -> int:
    """The last UID the cursor of a mailbox's folder stands at (0 if none yet)."""
    with psycopg.connect(database_url) as connection:
        row = connection.execute(
            "SELECT last_uid FROM email_ingest.imap_cursors WHERE mailbox = %s AND folder = %s",
            (user.name, folder),
        ).fetchone()
    return row[0] if row else 0


def holders(database_url: str, users: list[ImapUser]) -> dict[str, str]:
    """The live lease holder of each mailbox."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT mailbox, holder FROM email_ingest.imap_leases"
            " WHERE mailbox = ANY(%s) AND expires_at > now()",
            ([u.name for u in users],),
        ).fetchall()
    return dict(rows)


def held_by(holder: str, worker) -> bool:
    """Say whether a lease holder name is this worker process (host:pid:nonce)."""
    return holder.split(":")[1] == str(worker.pid)


def test_appended_mails_reach_the_bus_and_idle_wakes_the_worker(
    imap_user, workers, broker, imap_database
):
    append_mails(imap_user, [build_mail(i, "early") for i in range(3)])
    # A poll interval far beyond the test: only IDLE can bring the later mails in time.
    workers.configure([imap_user], imap_poll_seconds=600)
    worker = workers.start()
    broker.wait_depth("inbox.messages", 3, timeout=20)
    wait_for(lambda: "IDLE" in worker.log() or cursor_of(imap_database, imap_user) == 3, 10)
    append_mails(imap_user, [build_mail(i, "late") for i in range(2)])
    broker.wait_depth("inbox.messages", 5, timeout=15)
    ids = published_ids(broker)
    assert sorted(ids) == sorted(
        [message_id(i, "early") for i in range(3)] + [message_id(i, "late") for i in range(2)]
    )
    wait_for(lambda: cursor_of(imap_database, imap_user) == 5, 10, message="cursor at UID 5")
    assert worker.terminate() == 0
    assert holders(imap_database, [imap_user]) == {}, "SIGTERM gives the lease back"


def test_restarts_halfway_through_a_backlog_lose_nothing_and_repeat_one_batch_at_most(
    imap_user, workers, broker, imap_database
):
    # Large enough that a fast worker is still mid-backlog when the test reacts. The test
    # reacts to the queue's depth: taking the messages could not keep up with the worker.
    total, batch = 2000, 25
    append_mails(imap_user, [build_mail(i, "backlog") for i in range(total)])
    workers.configure([imap_user], imap_batch_size=batch, imap_poll_seconds=1)

    def published(count: int):
        return lambda: broker.depth("inbox.messages") >= count

    # Killed mid-import: the batch in flight may come again, never more than that batch.
    first = workers.start()
    wait_for(published(100), 30, interval=0.01, message="a twentieth of the backlog")
    first.kill()
    assert cursor_of(imap_database, imap_user) < total, "killed before the end"
    seen = published_ids(broker)
    # Stopped mid-import: SIGTERM finishes the batches in hand, so nothing repeats.
    second = workers.start()
    wait_for(published(100), 30, interval=0.01, message="another twentieth")
    assert second.terminate() == 0
    seen.extend(published_ids(broker))
    assert cursor_of(imap_database, imap_user) < total, "stopped before the end"
    third = workers.start()
    wait_for(lambda: cursor_of(imap_database, imap_user) == total, 60, message="all imported")
    rest = published_ids(broker)
    assert not set(rest) & set(seen), "SIGTERM repeats nothing"
    seen.extend(rest)
    assert set(seen) == {message_id(i, "backlog") for i in range(total)}
    repeats = collections.Counter(seen) - collections.Counter(set(seen))
    assert sum(repeats.values()) <= batch, f"{sum(repeats.values())} repeats"
    assert third.terminate() == 0


def test_replicas_share_mailboxes_and_take_over_from_a_killed_one(
    workers, broker, imap_database, dovecot
):
    users = [new_user(), new_user()]
    workers.configure(users, imap_poll_seconds=1)
    first = workers.start()
    wait_for(lambda: len(holders(imap_database, users)) == 2, 15, message="both leases taken")
    second = workers.start()

    def spread() -> bool:
        leases = holders(imap_database, users).values()
        return sorted(held_by(h, first) for h in leases) == [False, True]

    wait_for(spread, 20, message="one mailbox per replica")
    # Kill the holder of the first user's mailbox, then mail that user.
    victim, survivor = (
        (first, second)
        if held_by(holders(imap_database, users)[users[0].name], first)
        else (second, first)
    )
    victim.kill()
    append_mails(users[0], [build_mail(1, "after-kill")])
    wait_for(
        lambda: (
            all(held_by(h, survivor) for h in holders(imap_database, users).values())
            and len(holders(imap_database, users)) == 2
        ),
        20,
        message="the survivor holding both leases",
    )
    broker.wait_depth("inbox.messages", 1, timeout=15)
    assert published_ids(broker) == [message_id(1, "after-kill")]
    assert survivor.terminate() == 0
