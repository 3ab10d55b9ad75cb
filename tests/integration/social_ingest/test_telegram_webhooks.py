"""Telegram updates: the secret token header, one update per request, files by getFile."""

from __future__ import annotations

import hashlib

import pytest

from tests.integration.social_ingest.conftest import TELEGRAM_FILE_ID, TELEGRAM_PHOTO
from tests.simulators import telegram as sim
from tests.simulators.delivery import out_of_order, redelivered

SENDER, CHAT = sim.private_chat(52147321, "Jane", "janec")
T0 = 1_718_031_234


@pytest.fixture
def url(service) -> str:
    return f"{service}/webhooks/telegram/{sim.BOT_ID}"


def test_a_private_message_and_a_reply(http, url, bus):
    first = sim.message_update(872340001, 1187, SENDER, CHAT, T0, text="Hi, my parcel is late")
    reply = sim.message_update(
        872340002,
        1188,
        SENDER,
        CHAT,
        T0 + 5,
        text="any news?",
        reply_to={"message_id": 1187, "chat": CHAT, "date": T0},
    )
    for update in (first, reply):
        assert sim.delivery(update).send(http, url).status_code == 200
    one, two = bus().messages
    assert (one["channel"], one["inbox"], one["visibility"]) == ("telegram", sim.BOT_ID, "private")
    assert one["external_id"] == "52147321:1187"
    assert one["author"] == {
        "external_id": "52147321",
        "handle": "janec",
        "display_name": "Jane",
        "email": None,
    }
    assert one["text"] == "Hi, my parcel is late"
    assert two["thread"]["parent_id"] == "52147321:1187"


def test_a_photo_is_fetched_with_get_file(http, url, bus, blobs):
    photo = [{"file_id": TELEGRAM_FILE_ID, "file_unique_id": "u1", "width": 90, "height": 90}]
    update = sim.message_update(872340010, 1190, SENDER, CHAT, T0, photo=photo, caption="broken")
    assert sim.delivery(update).send(http, url).status_code == 200
    [message] = bus().messages
    assert message["text"] == "broken"
    [file] = message["attachments"]
    assert file["sha256"] == hashlib.sha256(TELEGRAM_PHOTO).hexdigest()
    assert file["filename"] == "file_3.jpg"
    assert blobs.get(file["sha256"]) == TELEGRAM_PHOTO


def test_updates_out_of_order_and_repeated(http, url, bus):
    updates = [
        sim.delivery(sim.message_update(872340100 + i, 1200 + i, SENDER, CHAT, T0 + i, text=str(i)))
        for i in range(4)
    ]
    for delivery in out_of_order(updates) + redelivered(updates[2]):
        assert delivery.send(http, url).status_code == 200
    # The first delivery and two retries of update 2: the inbox deduplicates on chat:message.
    ids = sorted(m["metadata"]["message_id"] for m in bus().messages)
    assert ids == [1200, 1201, 1202, 1202, 1202, 1203]


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", sim.SECRET_TOKEN + "x"])
def test_a_missing_or_wrong_secret_token_gets_401(http, url, bus, archived, secret):
    update = sim.message_update(872340200, 1300, SENDER, CHAT, T0, text="hi")
    assert sim.delivery(update, secret_token=secret).send(http, url).status_code == 401
    assert bus().messages == [] and archived() == []


def test_an_unknown_bot_gets_404(http, service):
    update = sim.message_update(872340300, 1400, SENDER, CHAT, T0, text="hi")
    assert sim.delivery(update).send(http, f"{service}/webhooks/telegram/123").status_code == 404


def test_an_edit_is_left_out_and_an_unknown_kind_parked(http, url, bus):
    edit = {"update_id": 872340400, "edited_message": {"message_id": 1187, "chat": CHAT}}
    member = {"update_id": 872340401, "my_chat_member": {"chat": CHAT}}
    for update in (edit, member):
        assert sim.delivery(update).send(http, url).status_code == 200
    published = bus()
    assert published.messages == []
    [parked] = published.rejected
    assert parked["reason"] == "telegram update kind not ingested: my_chat_member"
