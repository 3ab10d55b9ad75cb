"""X Account Activity deliveries: the CRC, mentions and replies, DMs and our own echoes."""

from __future__ import annotations

import pytest

from tests.simulators import x as sim
from tests.simulators.delivery import Delivery, out_of_order, redelivered

BRAND = sim.BRAND_ID
CUSTOMER = sim.user("3001969357", "furiouscamper", "Jordan Brinks")
BRAND_USER = sim.user(BRAND, sim.BRAND_SCREEN_NAME, "Twitter Dev")
T0 = 1_600_454_175_000


@pytest.fixture
def url(service) -> str:
    return f"{service}/webhooks/x/main"


def test_the_crc_is_answered_with_the_signed_token(http, url):
    assert sim.crc_check(http, url)
    response = sim.crc("challenge_string").send(http, url)
    # channels.md 2.1 test vector.
    assert response.json() == {
        "response_token": "sha256=583uAmerwtjpykYEAEm+CEIRm6dOywK4QKRr0ha/Pd4="
    }
    assert Delivery(b"", {}, method="GET").send(http, url).status_code == 400


def test_mentions_replies_and_our_own_tweets(http, url, bus):
    mention = (BRAND, sim.BRAND_SCREEN_NAME, "Twitter Dev")
    body = sim.envelope(
        user_has_blocked="false",
        tweet_create_events=[
            sim.tweet("1001", CUSTOMER, "@TwitterDev where is my order?", T0, mentions=[mention]),
            sim.tweet(
                "1002",
                CUSTOMER,
                "@TwitterDev still waiting",
                T0 + 1000,
                in_reply_to=("900", BRAND, sim.BRAND_SCREEN_NAME),
                mentions=[mention],
            ),
            sim.tweet(
                "1003",
                BRAND_USER,
                "@furiouscamper sorry, we sent a DM",
                T0 + 2000,
                in_reply_to=("1002", CUSTOMER["id_str"], "furiouscamper"),
            ),
        ],
    )
    assert sim.delivery(body).send(http, url).status_code == 200
    plain, reply, ours = bus().messages
    assert {m["channel"] for m in (plain, reply, ours)} == {"x_mention"}
    assert {m["visibility"] for m in (plain, reply, ours)} == {"public"}
    assert plain["author"] == {
        "external_id": "3001969357",
        "handle": "furiouscamper",
        "display_name": "Jordan Brinks",
        "email": None,
    }
    assert plain["thread"]["parent_id"] is None and plain["thread"]["root_id"] == "1001"
    assert reply["thread"]["parent_id"] == "900"
    assert reply["metadata"]["mentions_us"] is True
    assert ours["flags"]["echo"] and not plain["flags"]["echo"]
    assert ours["recipient"]["external_id"] == "3001969357"


def test_direct_messages_and_our_apps_echo(http, url, bus):
    customer = CUSTOMER["id_str"]
    body = sim.envelope(
        direct_message_events=[
            sim.direct_message("5001", customer, BRAND, "Hello World!", T0),
            sim.direct_message(
                "5002", BRAND, customer, "Hi Jordan", T0 + 1, source_app_id=sim.APP_ID
            ),
        ],
        users={
            customer: sim.dm_user(customer, "furiouscamper", "Jordan Brinks"),
            BRAND: sim.dm_user(BRAND, sim.BRAND_SCREEN_NAME, "Twitter Dev"),
        },
    )
    assert sim.delivery(body).send(http, url).status_code == 200
    inbound, echo = bus().messages
    assert (inbound["channel"], inbound["visibility"], inbound["text"]) == (
        "x_dm",
        "private",
        "Hello World!",
    )
    assert inbound["author"]["handle"] == "furiouscamper"
    assert not inbound["flags"]["echo"]
    assert echo["flags"]["echo"] and echo["metadata"]["echo_source"] == "switchboard"
    # One-to-one conversation ids name the lower user id first.
    assert echo["metadata"]["dm_conversation_id"] == f"{BRAND}-{customer}"


def test_redeliveries_and_reordering(http, url, bus):
    deliveries = [
        sim.delivery(
            sim.envelope(
                direct_message_events=[
                    sim.direct_message(f"60{i}", CUSTOMER["id_str"], BRAND, str(i), T0 + i)
                ]
            )
        )
        for i in range(4)
    ]
    for delivery in out_of_order(deliveries) + redelivered(deliveries[0]):
        assert delivery.send(http, url).status_code == 200
    ids = [m["external_id"] for m in bus().messages]
    assert sorted(ids) == ["600", "600", "600", "601", "602", "603"]


def test_a_forged_signature_gets_401(http, url, bus, archived):
    body = sim.envelope(tweet_create_events=[])
    for forged in (
        sim.delivery(body, consumer_secret="guess"),
        Delivery(sim.delivery(body).body, {"Content-Type": "application/json"}),
        # Meta's hex form of the right HMAC is not X's base64 form.
        Delivery(
            sim.delivery(body).body,
            {"x-twitter-webhooks-signature": sim.sign(b"other body")},
        ),
    ):
        assert forged.send(http, url).status_code == 401
    assert bus().messages == [] and archived() == []


def test_events_we_do_not_ingest_are_answered_and_not_parked(http, url, bus):
    body = sim.envelope(favorite_events=[{"id": "1"}])
    response = sim.delivery(body).send(http, url)
    assert response.status_code == 200
    assert response.json()["skipped"] == [
        {"where": "favorite_events", "reason": "X favorite_events are not ingested"}
    ]
    assert bus().rejected == []
