"""Meta deliveries (Messenger, Page feed, Instagram) through the running service to the bus."""

from __future__ import annotations

import hashlib

import pytest

from tests.integration.social_ingest.conftest import JPEG
from tests.simulators import meta as sim
from tests.simulators.delivery import Delivery, encode, out_of_order, redelivered

PAGE, PSID = "682498302938465", "1254459154682919"
OTHER_PAGE = "448242228374517"
IG, IGSID = "17841405309211844", "6513927395316798"
T0 = 1_718_031_234_000


def one_message(mid: str, text: str, timestamp: int = T0) -> dict:
    """A delivery of one customer's text message to PAGE."""
    message = sim.text_message(PSID, PAGE, mid, text, timestamp)
    return sim.envelope("page", sim.entry(PAGE, timestamp, messaging=[message]))


@pytest.fixture
def url(service) -> str:
    return f"{service}/webhooks/meta/main"


def test_the_handshake_answers_the_bare_challenge(http, url, service):
    assert sim.subscribe(http, url)
    assert sim.subscribe(http, f"{service}/webhooks/whatsapp/main")
    response = sim.handshake(challenge="1158201444").send(http, url)
    assert (response.status_code, response.text) == (200, "1158201444")
    assert response.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "request_",
    [
        sim.handshake(verify_token="wrong"),
        sim.handshake(verify_token=""),
        sim.handshake(mode="unsubscribe"),
        sim.handshake(challenge="<script>alert(1)</script>"),
        # A handshake replayed against the other app: its token is not this app's.
        sim.handshake(verify_token="other_token"),
    ],
)
def test_a_handshake_with_a_wrong_token_or_mode_gets_403(http, url, bus, archived, request_):
    assert sim.subscribe(http, url)  # the right token works before and after
    response = request_.send(http, url)
    assert response.status_code == 403
    assert "1158201444" not in response.text
    assert sim.subscribe(http, url)
    assert bus().messages == [] and archived() == []


def test_an_unknown_app_gets_404(http, service):
    assert sim.handshake().send(http, f"{service}/webhooks/meta/nope").status_code == 404
    delivery = sim.delivery(sim.envelope("page"))
    assert delivery.send(http, f"{service}/webhooks/meta/nope").status_code == 404


def test_a_messenger_batch_becomes_one_confirmed_event_per_item(http, url, bus, blobs, cdn):
    body = sim.envelope(
        "page",
        sim.entry(
            PAGE,
            T0,
            messaging=[
                sim.text_message(PSID, PAGE, "m_1", "h\u00e9llo, where is my order?", T0),
                sim.text_message(PSID, PAGE, "m_2", "this one", T0 + 1, reply_to_mid="m_1"),
                sim.attachment_message(PSID, PAGE, "m_3", f"{cdn.base}/photo.jpg", T0 + 2),
                sim.echo(PAGE, PSID, "m_4", "Thanks, an agent will look at it.", T0 + 3),
                sim.echo(PAGE, PSID, "m_5", "Typed in Business Suite", T0 + 4, app_id=None),
                sim.delivery_receipt(PSID, PAGE, T0 + 3, T0 + 5, mids=["m_4"]),
                sim.read_receipt(PSID, PAGE, T0 + 4, T0 + 6),
            ],
        ),
        sim.entry(OTHER_PAGE, T0, messaging=[sim.text_message("77", OTHER_PAGE, "m_6", "hi", T0)]),
    )
    delivery = sim.delivery(body)
    response = delivery.send(http, url)
    assert response.status_code == 200, response.text
    published = bus()
    messages = published.by_id()
    assert list(messages) == ["m_1", "m_2", "m_3", "m_4", "m_5", "m_6"]
    assert response.json()["messages"] == list(messages)
    # Each event is its own AMQP message; one delivery shares one trace id.
    assert {h["schema"] for h in published.headers} == {"message.received/1", "delivery.status/1"}
    assert len({h["event_id"] for h in published.headers}) == 8
    assert len({h["trace_id"] for h in published.headers}) == 1

    first = messages["m_1"]
    assert (first["channel"], first["inbox"], first["visibility"]) == ("messenger", PAGE, "private")
    assert first["author"]["external_id"] == PSID
    assert first["text"] == "h\u00e9llo, where is my order?"
    assert first["sent_at"].startswith("2024-06-10T14:53:54")
    # The raw body is archived byte for byte before anything is published.
    assert first["raw_sha256"] == hashlib.sha256(delivery.body).hexdigest()
    assert blobs.get(first["raw_sha256"]) == delivery.body
    assert messages["m_2"]["thread"]["parent_id"] == "m_1"
    [photo] = messages["m_3"]["attachments"]
    assert photo["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert (photo["content_type"], photo["size"]) == ("image/jpeg", len(JPEG))
    assert blobs.get(photo["sha256"]) == JPEG
    ours, foreign = messages["m_4"], messages["m_5"]
    assert ours["flags"]["echo"] and foreign["flags"]["echo"]
    assert ours["author"]["external_id"] == PAGE and ours["recipient"]["external_id"] == PSID
    assert ours["metadata"]["echo_source"] == "switchboard"
    assert foreign["metadata"]["echo_source"] == "other"
    assert not first["flags"]["echo"]
    assert messages["m_6"]["inbox"] == OTHER_PAGE

    delivered, read = published.statuses
    assert (delivered["status"], delivered["external_ids"]) == ("delivered", ["m_4"])
    assert (read["status"], read["recipient_id"]) == ("read", PSID)
    assert read["watermark"] is not None
    assert published.rejected == []


def test_page_feed_comments_are_public_and_threaded_under_their_post(http, url, bus):
    page = OTHER_PAGE
    author = ("7012345678901234", "Jane Customer")
    body = sim.envelope(
        "page",
        sim.entry(
            page,
            1742667607,
            changes=[
                sim.feed_comment(page, "1221", "111", author, "Still in blue?", 1742667604),
                sim.feed_comment(
                    page, "1221", "112", author, "And red?", 1742667605, parent_id="1221_111"
                ),
                sim.feed_comment(
                    page,
                    "1221",
                    "113",
                    (page, "Acme"),
                    "Yes, both!",
                    1742667606,
                    parent_id="1221_111",
                ),
            ],
        ),
    )
    assert sim.delivery(body).send(http, url).status_code == 200
    top, reply, ours = bus().messages
    assert {m["channel"] for m in (top, reply, ours)} == {"facebook_comment"}
    assert {m["visibility"] for m in (top, reply, ours)} == {"public"}
    assert top["thread"] == {**top["thread"], "root_id": f"{page}_1221", "parent_id": None}
    assert (top["author"]["external_id"], top["author"]["display_name"]) == author
    assert reply["thread"]["root_id"] == f"{page}_1221"
    assert reply["thread"]["parent_id"] == "1221_111"
    assert ours["flags"]["echo"] and not top["flags"]["echo"] and not reply["flags"]["echo"]


def test_instagram_dms_echoes_comments_and_receipts(http, url, bus):
    author = (IGSID, "jane.customer")
    body = sim.envelope(
        "instagram",
        sim.entry(
            IG,
            T0,
            messaging=[
                sim.text_message(IGSID, IG, "ig_1", "Hi, where is my order #5521?", T0),
                sim.echo(IG, IGSID, "ig_2", "Let me check.", T0 + 1),
                sim.instagram_read(IGSID, IG, "ig_2", T0 + 2),
            ],
        ),
        sim.entry(
            IG,
            T0 // 1000,
            changes=[
                sim.instagram_comment("1791", "Ship to Canada?", author, "1817"),
                sim.instagram_comment("1792", "And Mexico?", author, "1817", parent_id="1791"),
            ],
        ),
    )
    assert sim.delivery(body).send(http, url).status_code == 200
    published = bus()
    dm, echo, comment, reply = published.messages
    assert (dm["channel"], dm["visibility"], dm["author"]["external_id"]) == (
        "instagram_dm",
        "private",
        IGSID,
    )
    assert echo["flags"]["echo"] and echo["recipient"]["external_id"] == IGSID
    assert (comment["channel"], comment["visibility"]) == ("instagram_comment", "public")
    assert comment["author"]["handle"] == "jane.customer"
    assert comment["thread"]["root_id"] == "1817" and comment["thread"]["parent_id"] is None
    assert reply["thread"]["parent_id"] == "1791"
    [seen] = published.statuses
    assert (seen["channel"], seen["status"], seen["external_ids"]) == (
        "instagram_dm",
        "read",
        ["ig_2"],
    )


def test_a_redelivery_is_accepted_again_and_archived_once(http, url, bus, archived):
    delivery = sim.delivery(one_message("m_r", "x"))
    for again in redelivered(delivery, 3):
        assert again.send(http, url).status_code == 200
    # Published each time (the inbox deduplicates on channel, inbox and mid).
    assert [m["external_id"] for m in bus().messages] == ["m_r"] * 3
    assert len(archived()) == 1


def test_deliveries_out_of_order_each_keep_their_own_time(http, url, bus):
    deliveries = [sim.delivery(one_message(f"m_{i}", str(i), T0 + i * 60_000)) for i in range(5)]
    for delivery in out_of_order(deliveries):
        assert delivery.send(http, url).status_code == 200
    messages = bus().messages
    assert [m["external_id"] for m in messages] != [f"m_{i}" for i in range(5)]
    assert sorted(messages, key=lambda m: m["sent_at"]) == sorted(
        messages, key=lambda m: m["external_id"]
    )
    assert len({m["sent_at"] for m in messages}) == 5


def _forgeries() -> list[Delivery]:
    body = encode(one_message("m_f", "x"))
    genuine = sim.signature_headers(body)
    return [
        Delivery(body, sim.signature_headers(body, "not_the_app_secret")),
        # Signed by the other configured app: its secret does not speak for this one.
        Delivery(body, sim.signature_headers(body, "other_secret")),
        Delivery(body, {k: v for k, v in genuine.items() if k != "X-Hub-Signature-256"}),
        Delivery(body + b" ", genuine),
        Delivery(body.replace(b'"x"', b'"y"'), genuine),
        Delivery(body, {**genuine, "X-Hub-Signature-256": genuine["X-Hub-Signature"]}),
        Delivery(body, {**genuine, "X-Hub-Signature-256": "sha256="}),
    ]


@pytest.mark.parametrize("forged", _forgeries())
def test_a_forged_or_unsigned_delivery_gets_401_and_nothing_happens(
    http, url, bus, archived, forged
):
    response = forged.send(http, url)
    assert response.status_code == 401
    assert response.json()["error"]
    published = bus()
    assert (published.messages, published.statuses, published.rejected) == ([], [], [])
    assert archived() == []


def test_broken_json_is_archived_parked_and_answered_200(http, url, bus, blobs):
    body = b'{"object":"page","entry":[{"id":"682498302938465",'
    response = Delivery(body, sim.signature_headers(body)).send(http, url)
    assert response.status_code == 200
    published = bus()
    assert published.messages == [] and published.statuses == []
    [parked] = published.rejected
    assert parked["source"] == "social-ingest/meta"
    assert parked["reason"].startswith("malformed JSON")
    assert blobs.get(parked["raw_sha256"]) == body


def test_unknown_kinds_are_parked_and_left_out_kinds_only_logged(http, url, bus):
    unknown = sim.delivery({"object": "user", "entry": [{"id": "1", "changes": []}]})
    assert unknown.send(http, url).status_code == 200
    like = sim.delivery(
        sim.envelope(
            "page",
            sim.entry(
                OTHER_PAGE,
                T0,
                changes=[{"field": "feed", "value": {"item": "reaction", "verb": "add"}}],
            ),
        )
    )
    response = like.send(http, url)
    assert response.status_code == 200
    assert response.json()["skipped"] == [
        {"where": "entry[0].changes[0].value", "reason": "feed item 'reaction' is not a comment"}
    ]
    published = bus()
    assert published.messages == []
    [parked] = published.rejected
    assert parked["reason"] == "unsupported Meta object 'user'"


def test_an_oversized_body_gets_413_and_nothing_happens(http, url, bus, archived):
    text = "x" * 70_000
    delivery = sim.delivery(one_message("m_big", text))
    response = delivery.send(http, url)
    assert response.status_code == 413
    assert response.json()["limit_bytes"] == 64 * 1024
    assert bus().messages == [] and archived() == []


def test_media_only_from_allowed_hosts_and_within_the_size_limit(http, url, bus, cdn, elsewhere):
    elsewhere.hits.clear()
    body = sim.envelope(
        "page",
        sim.entry(
            PAGE,
            T0,
            messaging=[
                sim.attachment_message(PSID, PAGE, "m_a", f"{elsewhere.base}/photo.jpg", T0),
                sim.attachment_message(PSID, PAGE, "m_b", f"{cdn.base}/huge.bin", T0, "video"),
            ],
        ),
    )
    assert sim.delivery(body).send(http, url).status_code == 200
    stranger, huge = bus().messages
    [refused] = stranger["attachments"]
    assert refused["sha256"] is None
    assert "not an allowed media host" in refused["unavailable_reason"]
    assert elsewhere.hits == []  # not even one request to a host the payload chose
    [too_big] = huge["attachments"]
    assert too_big["sha256"] is None
    assert too_big["unavailable_reason"] == "larger than 100000 bytes"
