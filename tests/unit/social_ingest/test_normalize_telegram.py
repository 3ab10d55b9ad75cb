"""Telegram updates: private chats, groups, channel posts, files, button taps."""

from __future__ import annotations

import pytest

from social_ingest.accounts import Accounts
from social_ingest.normalize import Normalized, telegram
from tests.simulators import telegram as sim
from tests.simulators.channels_md import find, json_blocks


def run(body: object, accounts: Accounts, ctx: dict) -> Normalized:
    return telegram.normalize(body, bot=accounts.telegram_bots[sim.BOT_ID], **ctx)


def test_channels_md_update(channels_md, accounts, ctx) -> None:
    update = find(json_blocks(channels_md), update_id=872340001)
    sender, chat = sim.private_chat(52147321, "Jane", "janec")
    assert (
        sim.message_update(872340001, 1187, sender, chat, 1718031234, text="Hi, my parcel is late")
        == update
    )
    (message,) = run(sim.delivery(update).body, accounts, ctx).messages
    assert message["channel"] == "telegram" and message["inbox"] == sim.BOT_ID
    assert message["external_id"] == "52147321:1187"
    assert message["visibility"] == "private"
    assert message["author"] == {
        "external_id": "52147321",
        "handle": "janec",
        "display_name": "Jane",
        "email": None,
    }
    assert message["text"] == "Hi, my parcel is late"
    assert message["metadata"]["chat_id"] == 52147321 and message["metadata"]["message_id"] == 1187


def test_the_same_message_by_another_update_id_dedups(accounts, ctx) -> None:
    sender, chat = sim.private_chat(5, "Ann")
    first = run(
        sim.message_update(1, 9, sender, chat, 1718031234, text="hi"), accounts, ctx
    ).messages[0]
    again = run(
        sim.message_update(77, 9, sender, chat, 1718031234, text="hi"), accounts, ctx
    ).messages[0]
    assert first["external_id"] == again["external_id"] == "5:9"


def test_group_reply_and_files(accounts, ctx) -> None:
    sender, _ = sim.private_chat(5, "Ann", "ann")
    group = {"id": -100123, "title": "Buyers", "type": "supergroup"}
    update = sim.message_update(
        2,
        40,
        sender,
        group,
        1718031234,
        reply_to={"message_id": 39, "chat": group, "date": 1718031200},
        caption="broken on arrival",
        photo=[
            {"file_id": "small", "width": 90, "height": 90},
            {"file_id": "big", "width": 800, "height": 600, "file_size": 5000},
        ],
        document={"file_id": "doc1", "file_name": "receipt.pdf", "mime_type": "application/pdf"},
    )
    result = run(update, accounts, ctx)
    (message,) = result.messages
    assert message["visibility"] == "public"
    assert message["thread"]["parent_id"] == "-100123:39"
    assert message["text"] == "broken on arrival"
    photo, document = result.media[0]
    assert (photo.kind, photo.media_id, photo.size, photo.content_type) == (
        "telegram_file",
        "big",
        5000,
        "image/jpeg",
    )
    assert (document.media_id, document.filename) == ("doc1", "receipt.pdf")


def test_channel_post_and_callback(accounts, ctx) -> None:
    channel = {"id": -1001, "title": "News", "type": "channel", "username": "acmenews"}
    post = run(
        sim.message_update(3, 7, None, channel, 1718031234, text="hello", kind="channel_post"),
        accounts,
        ctx,
    )
    assert post.messages[0]["author"] == {
        "external_id": "-1001",
        "handle": "acmenews",
        "display_name": "News",
        "email": None,
    }
    sender, chat = sim.private_chat(5, "Ann")
    tap = {
        "update_id": 4,
        "callback_query": {
            "id": "cb1",
            "from": sender,
            "message": {"message_id": 8, "chat": chat, "date": 1},
            "data": "Option 1",
        },
    }
    (message,) = run(tap, accounts, ctx).messages
    assert message["external_id"] == "callback:cb1" and message["text"] == "Option 1"
    assert message["thread"]["parent_id"] == "5:8"
    assert message["metadata"]["callback_query_id"] == "cb1"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "malformed JSON"),
        ({"update_id": 5, "edited_message": {"message_id": 1}}, "an edit"),
        ({"update_id": 6, "my_chat_member": {}}, "not ingested: my_chat_member"),
        ({"update_id": 7, "message": {"message_id": 1, "chat": {}}}, "without chat.id"),
    ],
)
def test_skips(accounts, ctx, body, reason) -> None:
    result = run(body, accounts, ctx)
    assert not result.messages
    assert reason in result.skipped[0].reason
