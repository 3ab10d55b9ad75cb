"""Chatwoot's Facebook, Instagram and WhatsApp payloads normalize as expected.

The collector turned Chatwoot's Ruby factories into JSON: `"<sender_id>"`-style strings are
placeholders Ruby filled in, and several items are fragments (a bare `messaging` event, a
360dialog `value`). The `fill` fixture puts values in; the `wrap_*` functions add the envelope the
network itself sends, so each test states exactly what it added.
"""

from __future__ import annotations

import json

import pytest

from social_ingest.normalize import meta

PAGE, IG, CUSTOMER = "117172741761305", "17841405309211844", "Sender-id-1a2b3c4d"
NUMBER, DISPLAY, WABA = "106540352242922", "15550783881", "102290129340398"
VALUES = {
    "sender_id": CUSTOMER,
    "ig_entry_id": IG,
    "wa_id": "2423423243",
    "from": "2423423243",
    "channel.phone_number": f"+{DISPLAY}",
    "whatsapp_channel.phone_number": f"+{DISPLAY}",
    "channel.phone_number.delete('+')": DISPLAY,
    "other_channel.phone_number.delete('+')": DISPLAY,
    "channel.provider_config['phone_number_id']": NUMBER,
    "other_channel.provider_config['phone_number_id']": NUMBER,
}


def run_meta(body: dict, accounts, ctx):
    return meta.normalize(
        json.dumps(body).encode(), accounts=accounts, app=accounts.meta_apps["main"], **ctx
    )


# --- Facebook Messenger: a bare `messaging` event, wrapped in the page envelope ---------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("incoming_fb_text_message", ("message", "3383290475046708", "facebook message")),
        ("mocked_message_text", ("message", CUSTOMER, "facebook message")),
        (
            "message_deliveries",
            ("delivered", "3383290475046708", "2022-03-29T19:20:33.369000+00:00"),
        ),
        ("message_reads", ("read", "3383290475046708", "2022-03-29T19:20:33.369000+00:00")),
    ],
)
def test_facebook(chatwoot, fill, accounts, ctx, name, expected) -> None:
    (item,) = [
        i
        for i in chatwoot("factories/facebook_message/incoming_fb_text_message.json")
        if i["name"] == name
    ]
    event = fill(item["payload"]["messaging"], VALUES)
    result = run_meta(
        {"object": "page", "entry": [{"id": PAGE, "time": 1648581633369, "messaging": [event]}]},
        accounts,
        ctx,
    )
    kind, author, text = expected
    if kind == "message":
        (message,) = result.messages
        assert (message["channel"], message["inbox"]) == ("messenger", PAGE)
        assert (message["author"]["external_id"], message["text"]) == (author, text)
    else:
        (status,) = result.statuses
        assert (status["status"], status["recipient_id"], status["watermark"]) == (
            kind,
            author,
            text,
        )


# --- Instagram: entries without `object`; the echo's sender is the account itself ----------

IG_EXPECTED = {
    "instagram_message_create_event": (
        "message",
        CUSTOMER,
        "This is the first message from the customer",
    ),
    "instagram_message_standby_event": (
        "message",
        CUSTOMER,
        "This is the first standby message from the customer, after 24 hours.",
    ),
    "instagram_story_reply_event": ("message", CUSTOMER, "This is the story reply"),
    "instagram_message_reply_event": ("message", CUSTOMER, "This is message with replyto mid"),
    "instagram_test_text_event": ("message", "12334", "random_text"),
    "instagram_message_attachment_event": ("message", CUSTOMER, ""),
    "instagram_shared_reel_event": ("message", CUSTOMER, ""),
    "instagram_story_mention_event": ("message", CUSTOMER, ""),
    "instagram_story_mention_event_with_echo": ("echo", IG, ""),
    "instagram_ig_story_event": ("message", CUSTOMER, ""),
    "instagram_ig_post_event": ("message", CUSTOMER, ""),
    "instagram_message_unsupported_event": ("message", CUSTOMER, ""),
    "messaging_seen_event": ("read", CUSTOMER, "message-id-1"),
    "instagram_message_unsend_event": ("skip", "is_deleted", None),
    # The App Dashboard's test event names account "0", which is nobody's.
    "instagram_test_event": ("skip", "no instagram account '0' is configured", None),
}


def test_every_instagram_item_has_an_expectation(chatwoot) -> None:
    names = {i["name"] for i in chatwoot("factories/instagram/instagram_message_create_event.json")}
    assert names == set(IG_EXPECTED)


@pytest.mark.parametrize("name", sorted(IG_EXPECTED))
def test_instagram(chatwoot, fill, accounts, ctx, name) -> None:
    (item,) = [
        i
        for i in chatwoot("factories/instagram/instagram_message_create_event.json")
        if i["name"] == name
    ]
    kind, author, text = IG_EXPECTED[name]
    values = {**VALUES, "sender_id": IG if kind == "echo" else CUSTOMER}
    result = run_meta({"object": "instagram", **fill(item["payload"], values)}, accounts, ctx)
    if kind == "skip":
        assert author in result.skipped[0].reason and not result.messages
    elif kind == "read":
        (status,) = result.statuses
        assert (status["channel"], status["recipient_id"], status["external_ids"]) == (
            "instagram_dm",
            author,
            [text],
        )
    else:
        assert result.skipped == []
        (message,) = result.messages
        assert (message["channel"], message["inbox"]) == ("instagram_dm", IG)
        assert (message["author"]["external_id"], message["text"]) == (author, text)
        assert message["flags"]["echo"] is (kind == "echo")
        assert len(result.media.get(0, [])) == (
            1 if "attachments" in json.dumps(item["payload"]) else 0
        )


def test_instagram_entries_under_messaging(chatwoot, accounts, ctx) -> None:
    (item,) = chatwoot("factories/instagram_message/incoming_messages.json")
    result = run_meta({"object": "instagram", "entry": item["payload"]["messaging"]}, accounts, ctx)
    (message,) = result.messages
    assert (message["inbox"], message["author"]["external_id"]) == (
        "instagram-message-id-123",
        "Sender-id-1",
    )
    assert message["text"] == "This is the first message from the customer"


# --- WhatsApp: Cloud API bodies, and 360dialog `value` fragments wrapped in one -------------


def wrap_value(value: dict) -> dict:
    """The Cloud API envelope around a `value` (360dialog relays only the value)."""
    metadata = {"display_phone_number": DISPLAY, "phone_number_id": NUMBER}
    change = {
        "field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": metadata, **value},
    }
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA, "changes": [change]}]}


SOJAN = ("2423423243", "Sojan Jose")
WHATSAPP_360 = {
    11: ("message", SOJAN, "Test"),
    85: ("message", SOJAN, ""),
    98: ("message", SOJAN, ""),
    117: ("message", SOJAN, "Test"),
    131: ("read", "2423423243", None),
    141: ("failed", "2423423243", "123 abc"),
    154: ("skip", "status 'deleted' is not tracked", None),
    167: ("message", SOJAN, "First Button"),
    189: ("message", SOJAN, "Yes this is a button"),
    211: ("message", SOJAN, "Check out my product!"),
    230: (
        "message",
        SOJAN,
        "Location: Bay Bridge, San Francisco, CA, USA (37.7893768, -122.3895553)",
    ),
    255: (
        "message",
        ("919446284490", None),
        "Shared contacts:\nApple Inc.: +911800\nChatwoot: +1 (415) 341-8386",
    ),
    398: (
        "message",
        ("919446284490", None),
        "Shared contacts:\nApple Inc.: +911800\nChatwoot: +1 (415) 341-8386",
    ),
    441: ("message", ("2423423243", "Jane Smith"), "Hello"),
    463: ("message", ("2423423243", "Jane Smith"), "Hello"),
    487: ("message", ("2423423243", "Alice Johnson"), "Hello"),
    509: ("message", ("2423423243", None), "Hello"),
}


@pytest.mark.parametrize("line", sorted(WHATSAPP_360))
def test_whatsapp_360dialog_values(chatwoot, fill, accounts, ctx, line) -> None:
    (item,) = [
        i
        for i in chatwoot("services/whatsapp/incoming_message_service_spec.json")
        if i["line"] == line
    ]
    result = run_meta(wrap_value(fill(item["payload"], VALUES)), accounts, ctx)
    kind, who, text = WHATSAPP_360[line]
    if kind == "skip":
        assert who in result.skipped[0].reason
    elif kind in ("read", "failed"):
        (status,) = result.statuses
        assert (status["status"], status["recipient_id"], status["reason"]) == (kind, who, text)
    else:
        (message,) = result.messages
        assert (message["channel"], message["inbox"]) == ("whatsapp", NUMBER)
        assert (message["author"]["external_id"], message["author"]["display_name"]) == who
        assert message["text"] == text
        if line in (85, 98):
            assert any("unsupported message type" in d for d in message["defects"])


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (7, "without messages, statuses or errors"),
        (45, "no whatsapp number None is configured"),
        (116, "without messages, statuses or errors"),
        (142, "whatsapp reaction"),
        (168, "whatsapp reaction"),
        (194, "whatsapp request_welcome"),
        (223, "no whatsapp number 'random phone number id' is configured"),
    ],
)
def test_whatsapp_event_job_bodies_are_skipped(chatwoot, fill, accounts, ctx, line, reason) -> None:
    (item,) = [
        i for i in chatwoot("jobs/webhooks/whatsapp_events_job_spec.json") if i["line"] == line
    ]
    result = run_meta(fill(item["payload"], VALUES), accounts, ctx)
    assert not result.messages and not result.statuses
    assert [reason in s.reason for s in result.skipped] == [True]


def test_whatsapp_cloud_bodies(chatwoot, fill, accounts, ctx) -> None:
    image, failed = chatwoot("services/whatsapp/incoming_message_whatsapp_cloud_service_spec.json")
    for item in (image, failed):
        body = fill(item["payload"], VALUES)
        # Chatwoot routes by a `phone_number` it adds; Cloud API deliveries carry the metadata.
        body["entry"][0]["changes"][0]["value"]["metadata"] = {"phone_number_id": NUMBER}
        result = run_meta(body, accounts, ctx)
        (message,) = result.messages
        assert (message["author"]["display_name"], message["text"]) == (
            "Sojan Jose",
            "Check out my product!",
        )
        assert message["external_id"].startswith("sha256:")  # these bodies carry no message id
        assert result.media[0][0].media_id == "b1c68f38-8734-4ad3-b4a1-ef0c10d683"
    assert any("Media download failed" in d for d in message["defects"])
