"""WhatsApp Cloud API deliveries: messages and statuses, each its own event."""

from __future__ import annotations

import hashlib

import pytest

from tests.integration.social_ingest.conftest import WHATSAPP_IMAGE, WHATSAPP_MEDIA_ID
from tests.simulators import whatsapp as sim
from tests.simulators.delivery import Delivery, redelivered
from tests.simulators.meta import signature_headers

CUSTOMER, NAME = "16505551234", "Sheena Nelson"
T0 = 1_749_416_383


@pytest.fixture
def url(service) -> str:
    return f"{service}/webhooks/whatsapp/main"


def test_messages_and_statuses_in_one_delivery(http, url, bus, blobs):
    body = sim.envelope(
        sim.change(
            contacts=[(CUSTOMER, NAME)],
            messages=[
                sim.text_message(CUSTOMER, "wamid.A", "Does it come in another color?", T0),
                sim.media_message(
                    CUSTOMER,
                    "wamid.B",
                    WHATSAPP_MEDIA_ID,
                    T0 + 1,
                    mime_type="image/png",
                    caption="like this",
                ),
                sim.text_message(CUSTOMER, "wamid.C", "this one", T0 + 2, context_id="wamid.OUT"),
            ],
        ),
        sim.change(
            statuses=[
                sim.status("wamid.OUT", "delivered", T0 + 3, CUSTOMER),
                sim.status("wamid.OUT", "read", T0 + 4, CUSTOMER),
                sim.status(
                    "wamid.OUT2",
                    "failed",
                    T0 + 5,
                    CUSTOMER,
                    errors=[{"code": 131047, "title": "Re-engagement message"}],
                ),
            ]
        ),
    )
    response = sim.delivery(body).send(http, url)
    assert response.status_code == 200, response.text
    published = bus()
    text, image, reply = published.messages
    assert (text["channel"], text["inbox"], text["visibility"]) == (
        "whatsapp",
        sim.PHONE_NUMBER_ID,
        "private",
    )
    assert text["author"] == {
        "external_id": CUSTOMER,
        "handle": f"+{CUSTOMER}",
        "display_name": NAME,
        "email": None,
    }
    assert text["text"] == "Does it come in another color?"
    assert image["text"] == "like this"
    [file] = image["attachments"]
    assert file["sha256"] == hashlib.sha256(WHATSAPP_IMAGE).hexdigest()
    assert blobs.get(file["sha256"]) == WHATSAPP_IMAGE
    assert reply["thread"]["parent_id"] == "wamid.OUT"
    delivered, read, failed = published.statuses
    assert [s["status"] for s in (delivered, read, failed)] == ["delivered", "read", "failed"]
    assert delivered["external_ids"] == ["wamid.OUT"] and delivered["recipient_id"] == CUSTOMER
    assert failed["reason"] == "131047 Re-engagement message"


def test_a_redelivered_status_is_published_again(http, url, bus):
    body = sim.envelope(sim.change(statuses=[sim.status("wamid.X", "read", T0, CUSTOMER)]))
    for delivery in redelivered(sim.delivery(body)):
        assert delivery.send(http, url).status_code == 200
    assert [s["external_ids"] for s in bus().statuses] == [["wamid.X"], ["wamid.X"]]


def test_a_number_nobody_configured_is_parked_not_published(http, url, bus):
    body = sim.envelope(
        sim.change(
            messages=[sim.text_message(CUSTOMER, "wamid.Z", "hi", T0)], phone_number_id="999"
        )
    )
    assert sim.delivery(body).send(http, url).status_code == 200
    published = bus()
    assert published.messages == []
    assert published.rejected[0]["reason"] == "no whatsapp number '999' is configured"


def test_a_forged_delivery_gets_401(http, url, bus, archived):
    body = sim.envelope(sim.change(messages=[sim.text_message(CUSTOMER, "wamid.F", "hi", T0)]))
    forged = sim.delivery(body, app_secret="guessed")
    assert forged.send(http, url).status_code == 401
    unsigned = Delivery(forged.body, {"Content-Type": "application/json"})
    assert unsigned.send(http, url).status_code == 401
    assert bus().messages == [] and archived() == []


def test_page_events_are_not_whatsapp_events(http, url, bus):
    body = {"object": "page", "entry": []}
    raw = sim.delivery(body).body
    response = Delivery(raw, signature_headers(raw)).send(http, url)
    assert response.status_code == 200
    assert bus().rejected[0]["reason"] == "not a WhatsApp delivery: object 'page'"
