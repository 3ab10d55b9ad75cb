"""WhatsApp Cloud API deliveries: messages, media, replies and statuses."""

from __future__ import annotations

import pytest

from social_ingest.accounts import Accounts
from social_ingest.normalize import Normalized, meta, whatsapp
from tests.simulators import whatsapp as sim
from tests.simulators.channels_md import json_blocks

WA_ID = "16505551234"
T = 1_749_416_383


def run(body: object, accounts: Accounts, ctx: dict) -> Normalized:
    return whatsapp.normalize(body, accounts=accounts, app=accounts.meta_apps["main"], **ctx)


def test_channels_md_message_and_status(channels_md, accounts, ctx) -> None:
    bodies = [
        d
        for _, d in json_blocks(channels_md)
        if isinstance(d, dict) and d.get("object") == "whatsapp_business_account"
    ]
    inbound, delivered = (
        meta.normalize(b, accounts=accounts, app=accounts.meta_apps["main"], **ctx) for b in bodies
    )
    (message,) = inbound.messages
    assert (message["channel"], message["inbox"]) == ("whatsapp", sim.PHONE_NUMBER_ID)
    assert (
        message["external_id"] == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
    )
    assert message["author"]["external_id"] == WA_ID
    assert message["author"]["display_name"] == "Sheena Nelson"
    assert message["text"] == "Does it come in another color?"
    assert message["metadata"]["phone_number_id"] == sim.PHONE_NUMBER_ID
    (status,) = delivered.statuses
    assert status["status"] == "delivered"
    assert status["external_ids"] == ["wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MUE1RkE2QzY0MDQ2QzdEQzYA"]
    assert status["occurred_at"] == "2025-06-18T16:22:53+00:00"
    # The builders produce the same bodies.
    built_message = sim.envelope(
        sim.change(
            contacts=[(WA_ID, "Sheena Nelson")],
            messages=[
                sim.text_message(WA_ID, message["external_id"], "Does it come in another color?", T)
            ],
        )
    )
    built_status = sim.envelope(
        sim.change(statuses=[sim.status(status["external_ids"][0], "delivered", 1750263773, WA_ID)])
    )
    assert [built_message, built_status] == bodies


def test_batch_of_messages_media_replies_and_statuses(accounts, ctx) -> None:
    change = sim.change(
        contacts=[(WA_ID, "Sheena"), ("4470000", "Tom")],
        messages=[
            sim.text_message(WA_ID, "wamid.1", "hi", T),
            sim.text_message("4470000", "wamid.2", "re: that", T + 1, context_id="wamid.0"),
            sim.media_message(
                WA_ID,
                "wamid.3",
                "media-9",
                T + 2,
                kind="document",
                mime_type="application/pdf",
                caption="invoice",
                filename="inv.pdf",
            ),
            {
                "from": WA_ID,
                "id": "wamid.4",
                "timestamp": str(T),
                "type": "reaction",
                "reaction": {"message_id": "wamid.x", "emoji": "👍"},
            },
        ],
        statuses=[
            sim.status("wamid.out1", "sent", T, WA_ID),
            sim.status("wamid.out1", "read", T + 5, WA_ID),
            sim.status(
                "wamid.out2",
                "failed",
                T + 6,
                WA_ID,
                errors=[
                    {
                        "code": 131047,
                        "title": "Re-engagement message",
                        "error_data": {"details": "more than 24 hours"},
                    }
                ],
            ),
        ],
    )
    result = run(sim.delivery(sim.envelope(change)).body, accounts, ctx)
    _, reply, document = result.messages
    assert reply["author"]["display_name"] == "Tom"
    assert (
        reply["thread"]["parent_id"] == "wamid.0"
        and reply["metadata"]["context_message_id"] == "wamid.0"
    )
    assert document["text"] == "invoice"
    (ref,) = result.media[2]
    assert (ref.kind, ref.media_id, ref.content_type, ref.filename) == (
        "whatsapp_media",
        "media-9",
        "application/pdf",
        "inv.pdf",
    )
    assert [s["status"] for s in result.statuses] == ["sent", "read", "failed"]
    assert result.statuses[2]["reason"] == "131047 Re-engagement message: more than 24 hours"
    assert [s.reason for s in result.skipped] == ["whatsapp reaction: a reaction to a message"]


@pytest.mark.parametrize(
    ("message", "text"),
    [
        (
            {
                "type": "location",
                "location": {"latitude": 1.5, "longitude": 2, "name": "Bay Bridge"},
            },
            "Location: Bay Bridge (1.5, 2)",
        ),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": "b1", "title": "Yes"},
                },
            },
            "Yes",
        ),
        ({"type": "button", "button": {"text": "Stop", "payload": "STOP"}}, "Stop"),
        (
            {
                "type": "contacts",
                "contacts": [{"name": {"formatted_name": "Ann"}, "phones": [{"phone": "+1 555"}]}],
            },
            "Shared contacts:\nAnn: +1 555",
        ),
        (
            {
                "type": "unsupported",
                "errors": [{"code": 131051, "title": "Message type is currently not supported."}],
            },
            "",
        ),
    ],
)
def test_message_types_have_readable_text(accounts, ctx, message, text) -> None:
    item = {"from": WA_ID, "id": "wamid.t", "timestamp": str(T), **message}
    (normalized,) = run(sim.envelope(sim.change(messages=[item])), accounts, ctx).messages
    assert normalized["text"] == text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            sim.envelope(sim.change(messages=[], phone_number_id="1")),
            "no whatsapp number '1' is configured",
        ),
        (
            sim.envelope({"field": "account_update", "value": {}}),
            "unsupported WhatsApp change field",
        ),
        (sim.envelope(sim.change()), "without messages, statuses or errors"),
        (
            sim.envelope(sim.change(statuses=[sim.status("w", "deleted", T, WA_ID)])),
            "status 'deleted' is not tracked",
        ),
        ({"object": "page"}, "not a WhatsApp delivery"),
    ],
)
def test_skips(accounts, ctx, body, reason) -> None:
    result = run(body, accounts, ctx)
    assert not result.messages and not result.statuses
    assert reason in result.skipped[0].reason
