"""Scenario 3: duplicates everywhere end as one message each.

Every network's webhook is delivered three times (as networks retry after a timeout); one email
reaches two support mailboxes (two Dovecot users, two IMAP cursors) and the HTTP ingress too.
"""

from __future__ import annotations

import psycopg

from tests.e2e import webhooks
from tests.e2e.mail import customer_mail, post_mime
from tests.e2e.system import HELP, SUPPORT, System
from tests.integration.email_ingest.imap_harness import append_mails
from tests.support.waiting import wait_for


def stored(system: System, external_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Per external id: (messages stored, conversations they are in)."""
    with psycopg.connect(system.database_url) as connection:
        rows = connection.execute(
            "SELECT external_id, count(*), count(DISTINCT conversation_id) FROM inbox.messages"
            " WHERE external_id = ANY(%s) GROUP BY external_id",
            (external_ids,),
        ).fetchall()
    return {external_id: (messages, conversations) for external_id, messages, conversations in rows}


def wait_imported(system: System, address: str) -> None:
    """Wait until the IMAP poller's cursor covers every mail in the address's INBOX."""
    user = system.mailboxes[address]
    with user.client() as client:
        last_uid = client.select_folder("INBOX", readonly=True)[b"UIDNEXT"] - 1

    def covered() -> bool:
        with psycopg.connect(system.database_url) as connection:
            row = connection.execute(
                "SELECT last_uid FROM email_ingest.imap_cursors"
                " WHERE mailbox = %s AND folder = 'INBOX'",
                (user.name,),
            ).fetchone()
        return row is not None and row[0] >= last_uid

    wait_for(covered, 30, interval=0.1, message=f"{address} imported")


def test_every_duplicate_is_stored_once(system: System):
    inbound = [
        webhooks.messenger("7101" + webhooks.fresh_digits(12), "Hi from Messenger"),
        webhooks.page_comment(
            ("7102" + webhooks.fresh_digits(12), "Carl Comment"),
            webhooks.fresh_digits(15),
            webhooks.fresh_digits(15),
            "Nice post, but where is my order?",
        ),
        webhooks.whatsapp_text("1555" + webhooks.fresh_digits(7), "Hi from WhatsApp"),
        webhooks.x_dm(("7103" + webhooks.fresh_digits(8), "xavier_dm"), "Hi from an X DM"),
        webhooks.x_mention(("7104" + webhooks.fresh_digits(8), "mona_mention"), "help please"),
        webhooks.telegram_text(int("7105" + webhooks.fresh_digits(6)), "Hi from Telegram"),
        webhooks.api_message("user-" + webhooks.fresh_digits(8), "Hi from the web form"),
    ]
    for webhook in inbound:
        for _ in range(3):
            webhook.send(system)

    message = customer_mail(
        "Dora Duplicate <dora.e2e@customer.example>",
        f"{SUPPORT}, {HELP}",
        "Sent to both of your addresses",
        "Which one of you will answer?",
    )
    mail, message_id = message.as_bytes(), message["Message-ID"]
    append_mails(system.mailboxes[SUPPORT], [mail])
    append_mails(system.mailboxes[HELP], [mail])
    post_mime(system, mail, HELP)

    external_ids = [w.external_id for w in inbound] + [message_id]
    wait_for(
        lambda: len(stored(system, external_ids)) == len(external_ids),
        30,
        interval=0.1,
        message="every message stored",
    )
    # Both IMAP copies published (each mailbox's cursor past its copy), then nothing left to
    # store: only now may a duplicate that slipped through show up as a second row.
    for address in (SUPPORT, HELP):
        wait_imported(system, address)
    system.wait_drained("inbox.messages")
    assert stored(system, external_ids) == {external_id: (1, 1) for external_id in external_ids}
    assert system.dead_letters() == {}
