"""Replies (409 on collisions, email headers that thread back), notes, canned responses."""

from __future__ import annotations

import psycopg
import pytest

from inbox.handlers.message_received import MessageReceivedHandler
from switchboard_shared.schemas import REPLY_REQUESTED
from tests.integration.inbox.api_support import (
    conversation_of,
    make_agent,
    message_id_of,
    receive,
)
from tests.integration.inbox.conftest import consumed
from tests.support.builders import message_received

ADA = {"external_id": "ada@example.net", "email": "ada@example.net", "display_name": "Ada Lovelace"}


@pytest.fixture
def ann(pool):
    return make_agent(pool, "ann@example.com")


@pytest.fixture
def thread(pool, db):
    receive(
        pool,
        message_received(
            author=ADA,
            external_id="<q1@example.net>",
            subject="Broken parcel",
            recipients={
                "to": [{"email": "support@example.com"}],
                "cc": [{"email": "bob@example.net"}],
            },
        ),
    )
    return conversation_of(db, "<q1@example.net>")


def requested(db: psycopg.Connection) -> list[dict]:
    rows = db.execute(
        "SELECT payload FROM inbox.outbox WHERE event_type = %s ORDER BY id",
        (REPLY_REQUESTED.header,),
    ).fetchall()
    return [row[0] for row in rows]


def test_an_email_reply_gets_headers_that_thread_the_answer_back(client, pool, db, ann, thread):
    answered = message_id_of(db, "<q1@example.net>")
    response = ann.send(
        client,
        "POST",
        f"/api/v1/conversations/{thread}/replies",
        {"text": "Sorry! A new one is on its way.", "answers_message_id": answered},
    )
    assert response.status_code == 201
    reply = response.get_json()
    assert reply["delivery_status"] == "queued"
    (payload,) = requested(db)
    REPLY_REQUESTED.validate(payload)
    token = db.execute("SELECT token FROM inbox.conversations").fetchone()[0]
    envelope = payload["email"]
    assert envelope["message_id"] == f"<{reply['id']}@inbox.example.com>"
    assert envelope["in_reply_to"] == "<q1@example.net>"
    assert envelope["references"] == ["<q1@example.net>"]
    assert envelope["reply_to"]["email"] == f"support+{token}@example.com"
    assert [a["email"] for a in envelope["cc"]] == ["bob@example.net"]
    assert payload["subject"] == f"Re: Broken parcel [#{token}]"
    # The customer's answer to our reply joins the same conversation.
    answer = message_received(
        author=ADA, external_id="<q2@example.net>", thread={"in_reply_to": envelope["message_id"]}
    )
    MessageReceivedHandler(pool).handle_batch([consumed(answer)])
    assert conversation_of(db, "<q2@example.net>") == thread


def test_a_reply_to_an_outdated_message_gets_409_with_what_is_new(client, pool, db, ann, thread):
    answered = message_id_of(db, "<q1@example.net>")
    receive(
        pool,
        message_received(
            author=ADA,
            external_id="<q3@example.net>",
            thread={"in_reply_to": "<q1@example.net>"},
            text="Also, hurry",
        ),
    )
    path = f"/api/v1/conversations/{thread}/replies"
    body = {"text": "On its way", "answers_message_id": answered}
    collision = ann.send(client, "POST", path, body)
    assert collision.status_code == 409
    new = collision.get_json()["errors"]["new_messages"]
    assert [m["text"] for m in new] == ["Also, hurry"]
    assert requested(db) == []
    assert ann.send(client, "POST", path, {**body, "confirm": True}).status_code == 201


def test_another_agents_reply_meanwhile_is_a_collision_too(client, pool, db, ann, thread):
    bea = make_agent(pool, "bea@example.com")
    answered = message_id_of(db, "<q1@example.net>")
    path = f"/api/v1/conversations/{thread}/replies"
    assert (
        bea.send(client, "POST", path, {"text": "Hi", "answers_message_id": answered}).status_code
        == 201
    )
    assert (
        ann.send(
            client, "POST", path, {"text": "Hello", "answers_message_id": answered}
        ).status_code
        == 409
    )


def test_notes_stay_internal(client, db, ann, thread):
    note = ann.send(
        client, "POST", f"/api/v1/conversations/{thread}/notes", {"text": "VIP customer"}
    )
    assert note.status_code == 201
    assert note.get_json()["direction"] == "note"
    assert requested(db) == []


def test_a_private_reply_to_a_public_comment(client, pool, db, ann):
    comment = message_received(
        channel="facebook_comment",
        inbox="page-1",
        visibility="public",
        external_id="cm_1",
        author={"external_id": "fb-7", "display_name": "Cy"},
        subject=None,
        thread={"root_id": "post-1", "parent_id": "post-1"},
    )
    receive(pool, comment)
    conversation = conversation_of(db, "cm_1")
    response = ann.send(
        client,
        "POST",
        f"/api/v1/conversations/{conversation}/replies",
        {"text": "Sent you a DM", "visibility": "private"},
    )
    assert response.status_code == 201
    (payload,) = requested(db)
    assert (payload["visibility"], payload["in_reply_to"], payload["recipient"]["external_id"]) == (
        "private",
        "cm_1",
        "fb-7",
    )


def test_canned_responses_fill_in_names(client, pool, db, ann, thread):
    created = ann.send(
        client,
        "POST",
        "/api/v1/canned-responses",
        {
            "shortcut": "thanks",
            "title": "Thanks",
            "body": "Hi {{customer.first_name}}, thanks! {{agent.name}} {{unknown}}",
        },
    )
    assert created.status_code == 201
    rendered = ann.get(
        client,
        f"/api/v1/canned-responses/{created.get_json()['id']}/render",
        query_string={"conversation_id": thread},
    )
    assert rendered.get_json()["text"] == "Hi Ada, thanks! Ann {{unknown}}"


def test_contacts_merge_into_one_timeline_and_the_merge_can_be_undone(
    client, pool, db, ann, thread
):
    receive(
        pool,
        message_received(
            channel="telegram",
            inbox="bot-1",
            external_id="t_1",
            author={"external_id": "tg-5", "display_name": "Ada L"},
            subject=None,
        ),
    )
    email_contact = db.execute(
        "SELECT contact_id FROM inbox.conversations WHERE id = %s", (thread,)
    ).fetchone()[0]
    telegram_contact = db.execute(
        "SELECT contact_id FROM inbox.conversations WHERE channel = 'telegram'"
    ).fetchone()[0]
    merge = ann.send(
        client,
        "POST",
        f"/api/v1/contacts/{email_contact}/merge",
        {"source_id": str(telegram_contact)},
    )
    assert merge.status_code == 201
    timeline = ann.get(client, f"/api/v1/contacts/{email_contact}/timeline").get_json()
    assert {m["channel"] for m in timeline["items"]} == {"email", "telegram"}
    profile = ann.get(client, f"/api/v1/contacts/{email_contact}").get_json()
    assert {i["kind"] for i in profile["identities"]} == {"email", "telegram"}
    # A new Telegram message now lands with the merged contact.
    receive(
        pool,
        message_received(
            channel="telegram",
            inbox="bot-1",
            external_id="t_2",
            author={"external_id": "tg-5"},
            subject=None,
        ),
    )
    assert (
        len(ann.get(client, f"/api/v1/contacts/{email_contact}/timeline").get_json()["items"]) == 3
    )
    undo = ann.send(client, "POST", f"/api/v1/contact-merges/{merge.get_json()['id']}/undo")
    assert undo.status_code == 200
    assert (
        ann.send(
            client, "POST", f"/api/v1/contact-merges/{merge.get_json()['id']}/undo"
        ).status_code
        == 409
    )
    back = ann.get(client, f"/api/v1/contacts/{telegram_contact}").get_json()
    assert [i["kind"] for i in back["identities"]] == ["telegram"]
    assert back["merged_into"] is None
    edited = ann.send(
        client, "PATCH", f"/api/v1/contacts/{email_contact}", {"notes": "Prefers email"}
    )
    assert edited.get_json()["notes"] == "Prefers email"
    assert ann.get(client, "/api/v1/contacts", query_string={"q": "tg-5"}).get_json()["items"][0][
        "id"
    ] == str(telegram_contact)
