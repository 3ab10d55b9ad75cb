"""The inbound path against PostgreSQL: dedup, contacts, threading, echoes, bounces, outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import ConnectionPool

from inbox.handlers.message_received import MessageReceivedHandler
from tests.integration.inbox.conftest import consumed, count
from tests.support.builders import message_received

CUSTOMER = {"external_id": "ada@example.net", "email": "ada@example.net", "display_name": "Ada"}
STRANGER = {"external_id": "eve@evil.example", "email": "eve@evil.example"}


@pytest.fixture
def handler(pool: ConnectionPool) -> MessageReceivedHandler:
    return MessageReceivedHandler(pool)


def email(**overrides) -> dict:
    return message_received(author=CUSTOMER, **overrides)


def dm(**overrides) -> dict:
    fields = {
        "channel": "messenger",
        "inbox": "page-1",
        "external_id": f"m_{uuid.uuid4().hex}",
        "author": {"external_id": "psid-1", "display_name": "Bob"},
        "subject": None,
    }
    fields.update(overrides)
    return message_received(**fields)


def message(db: psycopg.Connection, external_id: str) -> dict:
    row = db.execute(
        "SELECT conversation_id, thread_reason, direction, delivery_status"
        " FROM inbox.messages WHERE external_id = %s",
        (external_id,),
    ).fetchone()
    return dict(zip(("conversation", "reason", "direction", "delivery"), row, strict=True))


def test_redelivery_and_the_same_email_to_two_addresses_store_one_message(db, handler):
    first = email(inbox="support@example.com")
    handler.handle_batch([consumed(first)])
    handler.handle_batch([consumed(first)])  # a broker redelivery
    handler.handle_batch([consumed({**first, "inbox": "sales@example.com"})])  # second address
    handler.handle_batch([consumed(first), consumed(first)])  # twice in one batch
    assert count(db, "messages") == 1
    assert count(db, "conversations") == 1
    assert count(db, "contacts") == 1


def test_social_retries_of_the_provider_store_one_message(db, handler):
    payload = dm(external_id="m_1")
    for _ in range(3):
        handler.handle_batch([consumed(payload)])
    assert count(db, "messages") == 1


def test_an_email_identity_is_the_lower_cased_address(db, handler):
    handler.handle_batch([consumed(email())])
    shouting = {"external_id": "ADA@Example.NET", "email": "ADA@Example.NET"}
    handler.handle_batch([consumed(message_received(author=shouting))])
    assert count(db, "contacts") == 1
    assert db.execute("SELECT value FROM inbox.contact_identities").fetchone()[0] == (
        "ada@example.net"
    )


def test_a_reply_threads_by_in_reply_to_and_says_why(db, handler):
    first = email(external_id="<a1@example.net>")
    reply = email(external_id="<a2@example.net>", thread={"in_reply_to": "<a1@example.net>"})
    handler.handle_batch([consumed(first)])
    handler.handle_batch([consumed(reply)])
    assert (
        message(db, "<a2@example.net>")["conversation"]
        == message(db, "<a1@example.net>")["conversation"]
    )
    assert "In-Reply-To <a1@example.net>" in message(db, "<a2@example.net>")["reason"]


def test_a_reply_in_the_same_batch_threads_with_its_original(db, handler):
    now = datetime.now(UTC)
    first = email(external_id="<b1@example.net>", sent_at=now)
    reply = email(
        external_id="<b2@example.net>",
        sent_at=now + timedelta(seconds=1),
        thread={"references": ["<b1@example.net>"]},
    )
    handler.handle_batch([consumed(reply), consumed(first)])
    assert count(db, "conversations") == 1


def test_a_copied_colleague_stays_in_the_thread(db, handler):
    first = email(
        external_id="<c1@example.net>",
        recipients={
            "cc": [{"email": "grace@example.net"}],
            "to": [{"email": "support@example.com"}],
        },
    )
    colleague = message_received(
        author={"external_id": "grace@example.net", "email": "grace@example.net"},
        external_id="<c2@example.net>",
        thread={"in_reply_to": "<c1@example.net>"},
    )
    handler.handle_batch([consumed(first)])
    handler.handle_batch([consumed(colleague)])
    assert count(db, "conversations") == 1
    assert count(db, "contacts") == 2


def test_a_stranger_quoting_a_token_or_a_message_id_gets_a_conversation_of_their_own(db, handler):
    handler.handle_batch([consumed(email(external_id="<d1@example.net>"))])
    token = db.execute("SELECT token FROM inbox.conversations").fetchone()[0]
    forged = message_received(
        author=STRANGER,
        external_id="<d2@evil.example>",
        subject=f"Re: your order [#{token}]",
        thread={"in_reply_to": "<d1@example.net>"},
        recipients={"to": [{"email": f"support+{token}@example.com"}]},
    )
    handler.handle_batch([consumed(forged)])
    assert count(db, "conversations") == 2
    reason = message(db, "<d2@evil.example>")["reason"]
    assert reason.startswith("new conversation")
    assert "not a participant" in reason


def test_the_customer_threads_by_subject_token_and_by_plus_address(db, handler):
    handler.handle_batch([consumed(email(external_id="<e1@example.net>"))])
    token = db.execute("SELECT token FROM inbox.conversations").fetchone()[0]
    by_subject = email(external_id="<e2@example.net>", subject=f"Re: hello [#{token.upper()}]")
    by_address = email(
        external_id="<e3@example.net>",
        recipients={"to": [{"email": f"support+{token}@example.com"}]},
    )
    handler.handle_batch([consumed(by_subject)])
    handler.handle_batch([consumed(by_address)])
    assert count(db, "conversations") == 1
    assert "in the subject" in message(db, "<e2@example.net>")["reason"]
    assert f"address support+{token}@example.com" in message(db, "<e3@example.net>")["reason"]


def test_the_same_subject_alone_never_threads(db, handler):
    handler.handle_batch([consumed(email(subject="Invoice"))])
    handler.handle_batch([consumed(email(subject="Invoice"))])
    assert count(db, "conversations") == 2


def test_a_reply_to_a_resolved_conversation_reopens_it_but_an_auto_reply_does_not(db, handler):
    handler.handle_batch([consumed(email(external_id="<f1@example.net>"))])
    db.execute("UPDATE inbox.conversations SET status = 'resolved', resolved_at = now()")
    auto = email(
        external_id="<f2@example.net>",
        thread={"in_reply_to": "<f1@example.net>"},
        flags={"auto_submitted": True},
    )
    handler.handle_batch([consumed(auto)])
    assert db.execute("SELECT status FROM inbox.conversations").fetchone()[0] == "resolved"
    reply = email(external_id="<f3@example.net>", thread={"in_reply_to": "<f1@example.net>"})
    handler.handle_batch([consumed(reply)])
    assert db.execute("SELECT status FROM inbox.conversations").fetchone()[0] == "open"
    assert "reopened" in message(db, "<f3@example.net>")["reason"]


def test_private_social_messages_share_the_open_conversation_until_it_is_resolved(db, handler):
    handler.handle_batch([consumed(dm(external_id="m_a")), consumed(dm(external_id="m_b"))])
    assert count(db, "conversations") == 1
    db.execute("UPDATE inbox.conversations SET status = 'resolved'")
    handler.handle_batch([consumed(dm(external_id="m_c"))])
    assert count(db, "conversations") == 2
    assert "no open Messenger conversation" in message(db, "m_c")["reason"]


def test_public_comments_make_one_conversation_per_contact_and_post(db, handler):
    def comment(external_id: str, post: str, author: str) -> dict:
        return dm(
            channel="facebook_comment",
            visibility="public",
            external_id=external_id,
            author={"external_id": author},
            thread={"root_id": post, "parent_id": post},
        )

    handler.handle_batch(
        [
            consumed(comment("c1", "post-1", "u1")),
            consumed(comment("c2", "post-1", "u1")),
            consumed(comment("c3", "post-2", "u1")),
            consumed(comment("c4", "post-1", "u2")),
        ]
    )
    assert count(db, "conversations") == 3
    context = db.execute(
        "SELECT context FROM inbox.conversations c JOIN inbox.messages m"
        " ON m.conversation_id = c.id WHERE m.external_id = 'c3'"
    ).fetchone()[0]
    assert context["post_id"] == "post-2"


def _outbound(db: psycopg.Connection, conversation: str, **fields) -> str:
    columns = {
        "id": str(uuid.uuid4()),
        "conversation_id": conversation,
        "inbox_id": db.execute("SELECT inbox_id FROM inbox.conversations").fetchone()[0],
        "channel": "messenger",
        "direction": "outbound",
        "visibility": "private",
        "text": "On its way",
        "delivery_status": "queued",
        **fields,
    }
    query = sql.SQL("INSERT INTO inbox.messages ({}) VALUES ({})").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )
    db.execute(query, list(columns.values()))
    return columns["id"]


def test_an_echo_confirms_our_reply_instead_of_becoming_a_message(db, handler):
    handler.handle_batch([consumed(dm(external_id="m_in"))])
    conversation = message(db, "m_in")["conversation"]
    reply = _outbound(db, conversation, provider_ids=["m_out"])
    echo = dm(
        external_id="m_out",
        author={"external_id": "page-1"},
        recipient={"external_id": "psid-1"},
        flags={"echo": True},
    )
    handler.handle_batch([consumed(echo)])
    assert count(db, "messages") == 2
    status = db.execute("SELECT delivery_status FROM inbox.messages WHERE id = %s", (reply,))
    assert status.fetchone()[0] == "sent"


def test_the_echo_of_our_public_comment_reply_confirms_it_instead_of_becoming_a_message(
    db, handler
):
    # The page's own comment comes back from the feed webhook without a recipient (found by
    # the e2e scenario: it used to be stored as a new customer message from the page).
    handler.handle_batch([consumed(dm(channel="facebook_comment", external_id="post_c1"))])
    conversation = message(db, "post_c1")["conversation"]
    reply = _outbound(
        db,
        conversation,
        channel="facebook_comment",
        visibility="public",
        provider_ids=["post_c2"],
    )
    echo = dm(
        channel="facebook_comment",
        visibility="public",
        external_id="post_c2",
        author={"external_id": "page-1"},
        recipient=None,
        flags={"echo": True},
    )
    handler.handle_batch([consumed(echo)])
    assert count(db, "messages") == 2
    status = db.execute("SELECT delivery_status FROM inbox.messages WHERE id = %s", (reply,))
    assert status.fetchone()[0] == "sent"


def test_an_echo_of_a_message_sent_elsewhere_is_stored_as_outbound(db, handler):
    handler.handle_batch([consumed(dm(external_id="m_in"))])
    echo = dm(
        external_id="m_native",
        author={"external_id": "page-1"},
        recipient={"external_id": "psid-1"},
        flags={"echo": True},
    )
    handler.handle_batch([consumed(echo)])
    stored = message(db, "m_native")
    assert stored["direction"] == "outbound"
    assert stored["conversation"] == message(db, "m_in")["conversation"]


def test_a_bounce_marks_the_referenced_reply_failed(db, handler):
    handler.handle_batch([consumed(email(external_id="<g1@example.net>"))])
    conversation = message(db, "<g1@example.net>")["conversation"]
    reply = _outbound(db, conversation, channel="email", email_message_id="<r1@inbox.example.com>")
    bounce = message_received(
        author={"external_id": "mailer-daemon@example.net", "email": "mailer-daemon@example.net"},
        flags={"bounce": True, "auto_submitted": True},
        bounce={"original_message_id": "<r1@inbox.example.com>", "diagnostic": "550 no such user"},
    )
    handler.handle_batch([consumed(bounce)])
    status, reason = db.execute(
        "SELECT delivery_status, delivery_reason FROM inbox.messages WHERE id = %s", (reply,)
    ).fetchone()
    assert (status, reason) == ("failed", "bounced: 550 no such user")
    assert count(db, "conversations") == 1


def test_every_stored_message_writes_one_outbox_row_and_a_rollback_writes_none(db, handler):
    handler.handle_batch([consumed(email(external_id="<h1@example.net>"))])
    handler.handle_batch(
        [
            consumed(
                email(external_id="<h2@example.net>", thread={"in_reply_to": "<h1@example.net>"})
            )
        ]
    )
    changes = [
        row[0]["change"]
        for row in db.execute("SELECT payload FROM inbox.outbox ORDER BY id").fetchall()
    ]
    assert changes == ["created", "message_added"]
    broken = email(external_id="<h3@example.net>", raw_sha256="not-a-sha")
    with pytest.raises(Exception):  # noqa: B017 - any database error rolls the batch back
        handler.handle_batch(
            [consumed(email(external_id="<h4@example.net>")), _unvalidated(broken)]
        )
    assert count(db, "outbox") == 2
    assert count(db, "messages") == 2


def _unvalidated(payload: dict):
    event = consumed(email())
    return type(event)(**{**event.__dict__, "payload": {**event.payload, "text": None}})


def test_nul_characters_from_a_channel_are_dropped_not_fatal(db, handler):
    handler.handle_batch([consumed(email(external_id="<nul@example.net>", text="a\x00b"))])
    stored = db.execute("SELECT text FROM inbox.messages").fetchone()[0]
    assert stored == "ab"
