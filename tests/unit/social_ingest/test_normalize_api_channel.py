"""The API channel: the documented schema, batches, sanitized HTML, attachments."""

from __future__ import annotations

from pathlib import Path

import pytest

from social_ingest.accounts import Accounts
from social_ingest.normalize import Normalized, api_channel
from tests.simulators import api_channel as sim
from tests.simulators.channels_md import find, json_blocks
from tests.simulators.delivery import encode


def run(body: object, accounts: Accounts, ctx: dict) -> Normalized:
    return api_channel.normalize(body, source=accounts.api_sources[sim.SOURCE], **ctx)


def test_full_message(accounts, ctx) -> None:
    payload = sim.message(
        "form-0001",
        "user-42",
        "Where is my order?",
        author={"id": "user-42", "name": "Jane Customer", "email": "jane@example.org"},
        subject="Order 5521",
        html='<p onclick="x()">Where is <b>my</b> order?<script>alert(1)</script></p>',
        sent_at="2024-06-10T14:53:54Z",
        thread={"root_id": "ticket-abc", "parent_id": "form-0000"},
        attachments=[
            {
                "url": "https://files.example.com/a.pdf",
                "filename": "a.pdf",
                "content_type": "application/pdf",
            }
        ],
        metadata={"page": "/checkout", "cart": 3},
    )
    result = run(sim.delivery(payload, timestamp=1).body, accounts, ctx)
    (message,) = result.messages
    assert (message["channel"], message["inbox"], message["external_id"]) == (
        "api",
        "webform",
        "form-0001",
    )
    assert message["author"] == {
        "external_id": "user-42",
        "handle": None,
        "display_name": "Jane Customer",
        "email": "jane@example.org",
    }
    assert message["html"] == "<p>Where is <b>my</b> order?</p>"
    assert message["sent_at"] == "2024-06-10T14:53:54+00:00"
    assert (
        message["thread"]["root_id"] == "ticket-abc"
        and message["thread"]["parent_id"] == "form-0000"
    )
    assert message["visibility"] == "private" and message["defects"] == []
    assert message["metadata"] == {"page": "/checkout", "cart": 3}
    (ref,) = result.media[0]
    assert (ref.url, ref.filename, ref.content_type) == (
        "https://files.example.com/a.pdf",
        "a.pdf",
        "application/pdf",
    )


def test_batch_keeps_valid_messages_and_reports_invalid_ones(accounts, ctx) -> None:
    body = {
        "messages": [
            sim.message("a", "u", "one"),
            {"id": "b", "text": "no author"},
            sim.message("c", "u", "three", colour="red"),
        ]
    }
    result = run(body, accounts, ctx)
    assert [m["external_id"] for m in result.messages] == ["a"]
    assert [s.where for s in result.skipped] == ["messages[1]", "messages[2]"]
    assert "author" in result.skipped[0].reason and "colour" in result.skipped[1].reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "malformed JSON"),
        ({"messages": []}, "messages"),
        ({"messages": [sim.message(str(i), "u", "x") for i in range(101)]}, "messages"),
        (sim.message("a", "u", "x", sent_at="2024-06-10T14:53:54"), "sent_at"),
        (sim.message("a", "u", "x", visibility="secret"), "visibility"),
        (sim.message("", "u", "x"), "id"),
        (sim.message("a", "u", "x", attachments=[{"url": "ftp://x/y"}]), "url"),
        (sim.message("a", "u", "x", metadata={"k": "v" * 5000}), "4096 bytes"),
    ],
)
def test_invalid_requests_are_skipped_with_the_field_errors(accounts, ctx, body, reason) -> None:
    result = run(body, accounts, ctx)
    assert not result.messages
    assert reason in result.skipped[0].reason


def test_the_documented_example_is_accepted(accounts, ctx) -> None:
    doc = Path(__file__).resolve().parents[3] / "services/social-ingest/README.md"
    example = find(json_blocks(doc), id="form-0001")
    result = run(encode(example), accounts, ctx)
    assert result.skipped == []
    assert result.messages[0]["author"]["display_name"] == "Jane Customer"
    assert [r.filename for r in result.media[0]] == ["receipt.pdf"]
