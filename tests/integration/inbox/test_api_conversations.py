"""The conversation API: list filters and paging, detail, assign, status, snooze, merge, split."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from inbox.outbox_relay import OutboxRelay
from tests.integration.inbox.api_support import conversation_of, make_agent, receive
from tests.support.builders import message_received


def customer(n: int) -> dict:
    return {"external_id": f"c{n}@example.net", "email": f"c{n}@example.net"}


@pytest.fixture
def ann(pool):
    return make_agent(pool, "ann@example.com")


@pytest.fixture
def seeded(pool):
    start = datetime.now(UTC) - timedelta(hours=1)
    receive(
        pool,
        *[
            message_received(
                author=customer(n),
                external_id=f"<m{n}@example.net>",
                subject=f"Order {n}",
                text=f"parcel number {n} is late" if n % 2 else f"invoice {n} is wrong",
                sent_at=start + timedelta(minutes=n),
            )
            for n in range(7)
        ],
    )


def ids(response) -> list[str]:
    return [item["id"] for item in response.get_json()["items"]]


def test_keyset_pages_cover_every_conversation_once_newest_first(client, ann, seeded):
    seen, cursor = [], None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = ann.get(client, "/api/v1/conversations", query_string=query).get_json()
        seen.extend(item["subject"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Order {n}" for n in reversed(range(7))]


def test_filters_and_full_text_search(client, pool, db, ann, seeded):
    target = conversation_of(db, "<m3@example.net>")
    assert (
        ann.send(
            client,
            "PUT",
            f"/api/v1/conversations/{target}/assignment",
            {"assignee_id": ann.agent["id"]},
        ).status_code
        == 200
    )
    assert ids(ann.get(client, "/api/v1/conversations?assignee=me")) == [target]
    assert len(ids(ann.get(client, "/api/v1/conversations?assignee=unassigned"))) == 6
    ann.send(client, "PUT", f"/api/v1/conversations/{target}/labels", {"labels": ["vip", " "]})
    assert ids(ann.get(client, "/api/v1/conversations?label=vip")) == [target]
    assert len(ids(ann.get(client, "/api/v1/conversations?q=parcel"))) == 3
    assert len(ids(ann.get(client, "/api/v1/conversations?q=invoice&channel=email"))) == 4
    assert ids(ann.get(client, "/api/v1/conversations?channel=telegram")) == []
    bad = ann.get(client, "/api/v1/conversations?cursor=garbage")
    assert bad.status_code == 400


def test_detail_shows_messages_with_their_threading_reasons(client, db, ann, seeded):
    conversation = conversation_of(db, "<m1@example.net>")
    detail = ann.get(client, f"/api/v1/conversations/{conversation}").get_json()
    (message,) = detail["messages"]
    assert message["thread_reason"].startswith("new conversation")
    assert detail["contact_email"] == "c1@example.net"


def test_status_changes_and_a_snooze_that_reopens_by_itself(
    client, pool, db, ann, seeded, inbox_settings
):
    conversation = conversation_of(db, "<m1@example.net>")
    path = f"/api/v1/conversations/{conversation}/status"
    assert ann.send(client, "PUT", path, {"status": "snoozed"}).status_code == 422
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    snoozed = ann.send(client, "PUT", path, {"status": "snoozed", "snoozed_until": until})
    assert snoozed.get_json()["status"] == "snoozed"
    assert len(ids(ann.get(client, "/api/v1/conversations?status=snoozed"))) == 1
    db.execute("UPDATE inbox.conversations SET snoozed_until = now() - interval '1 second'")
    relay = OutboxRelay(inbox_settings.database.url, publisher=None, batch_size=10, poll_seconds=1)
    with psycopg.connect(inbox_settings.database.url) as connection:
        assert relay.reopen_due_snoozes(connection) == 1
    assert ann.get(client, f"/api/v1/conversations/{conversation}").get_json()["status"] == "open"
    resolved = ann.send(client, "PUT", path, {"status": "resolved"}).get_json()
    assert resolved["resolved_at"] is not None


def test_merge_then_split(client, pool, db, ann):
    receive(pool, message_received(author=customer(1), external_id="<x1@example.net>", subject="A"))
    receive(pool, message_received(author=customer(1), external_id="<x2@example.net>", subject="B"))
    receive(pool, message_received(author=customer(2), external_id="<x3@example.net>", subject="C"))
    first, second, other = (conversation_of(db, f"<x{n}@example.net>") for n in (1, 2, 3))
    refused = ann.send(client, "POST", f"/api/v1/conversations/{first}/merge", {"source_id": other})
    assert refused.status_code == 422
    merged = ann.send(client, "POST", f"/api/v1/conversations/{first}/merge", {"source_id": second})
    assert merged.status_code == 200
    detail = ann.get(client, f"/api/v1/conversations/{first}").get_json()
    assert len(detail["messages"]) == 2
    assert ann.get(client, f"/api/v1/conversations/{second}").status_code == 200
    assert second not in ids(ann.get(client, "/api/v1/conversations"))
    moved = detail["messages"][1]["id"]
    split = ann.send(
        client, "POST", f"/api/v1/conversations/{first}/split", {"message_ids": [moved]}
    )
    assert split.status_code == 201
    new = split.get_json()
    assert new["split_from"] == first
    assert len(ann.get(client, f"/api/v1/conversations/{first}").get_json()["messages"]) == 1
    foreign = ann.send(
        client, "POST", f"/api/v1/conversations/{first}/split", {"message_ids": [moved]}
    )
    assert foreign.status_code == 422


def test_round_robin_assignment_per_inbox(client, pool, db):
    admin = make_agent(pool, "root@example.com", role="admin")
    ann, bea = make_agent(pool, "ann@example.com"), make_agent(pool, "bea@example.com")
    receive(pool, message_received(author=customer(0), external_id="<r0@example.net>"))
    inbox = admin.get(client, "/api/v1/inboxes").get_json()[0]["id"]
    changed = admin.send(
        client,
        "PATCH",
        f"/api/v1/inboxes/{inbox}",
        {"auto_assign": True, "member_ids": [ann.agent["id"], bea.agent["id"]]},
    )
    assert changed.status_code == 200
    receive(
        pool,
        *[
            message_received(author=customer(n), external_id=f"<r{n}@example.net>")
            for n in (1, 2, 3)
        ],
    )
    assignees = [
        db.execute(
            "SELECT assignee_id FROM inbox.conversations WHERE id = %s",
            (conversation_of(db, f"<r{n}@example.net>"),),
        ).fetchone()[0]
        for n in (1, 2, 3)
    ]
    assert assignees[0] != assignees[1]
    assert assignees[0] == assignees[2]
    assert {str(a) for a in assignees} == {str(ann.agent["id"]), str(bea.agent["id"])}
