"""Meta deliveries: batches, redeliveries, echoes, receipts, comments, and what is skipped."""

from __future__ import annotations

import pytest

from social_ingest.accounts import Accounts
from social_ingest.normalize import Normalized, meta
from tests.simulators import meta as sim
from tests.simulators.delivery import out_of_order, redelivered

PAGE, PSID, IG, IGSID = (
    "682498302938465",
    "1254459154682919",
    "17841405309211844",
    "6513927395316798",
)
T = 1_700_000_000_000


def run(body: object, accounts: Accounts, ctx: dict, app: str = "main") -> Normalized:
    return meta.normalize(body, accounts=accounts, app=accounts.meta_apps[app], **ctx)


def messenger(*events: dict, page: str = PAGE) -> dict:
    return sim.envelope("page", sim.entry(page, T, messaging=list(events)))


def test_batch_becomes_one_payload_per_event(accounts, ctx) -> None:
    body = sim.envelope(
        "page",
        sim.entry(
            PAGE,
            T,
            messaging=[
                sim.text_message(PSID, PAGE, "m_1", "first", T),
                sim.attachment_message(
                    "222", PAGE, "m_2", "https://scontent.xx.fbcdn.net/a.jpg", T + 1, "video"
                ),
                sim.echo(PAGE, PSID, "m_3", "our reply", T + 2),
                sim.delivery_receipt(PSID, PAGE, T + 3, T + 4, mids=["m_3"]),
                sim.read_receipt(PSID, PAGE, T + 5, T + 6),
            ],
        ),
        sim.entry(
            "448242228374517",
            T,
            changes=[
                sim.feed_comment("448242228374517", "9", "1", ("77", "Ann"), "top", 1_700_000_000),
                sim.feed_comment(
                    "448242228374517",
                    "9",
                    "2",
                    ("78", "Bob"),
                    "reply",
                    1_700_000_001,
                    parent_id="9_1",
                ),
            ],
        ),
    )
    result = run(sim.delivery(body).body, accounts, ctx)
    assert [m["external_id"] for m in result.messages] == ["m_1", "m_2", "m_3", "9_1", "9_2"]
    assert [s["status"] for s in result.statuses] == ["delivered", "read"]
    assert list(result.media) == [1]
    assert result.skipped == []


def test_redelivery_and_reordering_normalize_to_the_same_payloads(accounts, ctx) -> None:
    deliveries = [
        sim.delivery(messenger(sim.text_message(PSID, PAGE, f"m_{i}", str(i), T + i)))
        for i in range(4)
    ]
    first = [m for d in deliveries for m in run(d.body, accounts, ctx).messages]
    again = [m for d in redelivered(deliveries[0]) for m in run(d.body, accounts, ctx).messages]
    assert again == [first[0], first[0]]
    shuffled = [m for d in out_of_order(deliveries) for m in run(d.body, accounts, ctx).messages]
    assert shuffled != first
    assert sorted(shuffled, key=lambda m: m["external_id"]) == first


@pytest.mark.parametrize(
    ("app_id", "source"),
    [(int(sim.APP_ID), "switchboard"), (263902037430900, "other"), (None, "other")],
)
def test_echoes_are_flagged_with_the_customer_as_recipient(accounts, ctx, app_id, source) -> None:
    (message,) = run(
        messenger(sim.echo(PAGE, PSID, "m_e", "hi", T, app_id=app_id)), accounts, ctx
    ).messages
    assert message["flags"]["echo"] is True
    assert message["author"]["external_id"] == PAGE
    assert message["recipient"]["external_id"] == PSID
    assert message["metadata"]["psid"] == PSID
    assert message["metadata"]["echo_source"] == source


def test_reply_to_and_standby(accounts, ctx) -> None:
    event = sim.text_message(PSID, PAGE, "m_2", "about that", T, reply_to_mid="m_1")
    body = sim.envelope("page", sim.entry(PAGE, T, standby=[event]))
    (message,) = run(body, accounts, ctx).messages
    assert message["thread"]["parent_id"] == "m_1"
    assert message["metadata"]["standby"] is True


def test_receipts_become_statuses(accounts, ctx) -> None:
    body = messenger(
        sim.delivery_receipt(PSID, PAGE, T, T + 1, mids=["m_a", "m_b"]),
        sim.read_receipt(PSID, PAGE, T + 2, T + 3),
    )
    delivered, read = run(body, accounts, ctx).statuses
    assert delivered["channel"] == "messenger" and delivered["inbox"] == PAGE
    assert delivered["external_ids"] == ["m_a", "m_b"]
    assert delivered["recipient_id"] == PSID
    assert delivered["watermark"] == "2023-11-14T22:13:20+00:00"
    assert read["status"] == "read" and read["external_ids"] == []
    ig = sim.envelope(
        "instagram", sim.entry(IG, T, messaging=[sim.instagram_read(IGSID, IG, "aWdf_1", T)])
    )
    (seen,) = run(ig, accounts, ctx).statuses
    assert (seen["channel"], seen["status"], seen["external_ids"]) == (
        "instagram_dm",
        "read",
        ["aWdf_1"],
    )


def test_feed_comments(accounts, ctx) -> None:
    page = "448242228374517"
    changes = [
        sim.feed_comment(page, "9", "1", ("77", "Ann"), "top-level", 1_700_000_000),
        sim.feed_comment(page, "9", "2", ("77", "Ann"), "a reply", 1_700_000_001, parent_id="9_1"),
        sim.feed_comment(
            page, "9", "3", (page, "Acme"), "thanks Ann", 1_700_000_002, parent_id="9_1"
        ),
        sim.feed_comment(page, "9", "4", None, "hidden author", 1_700_000_003),
        sim.feed_comment(page, "9", "1", ("77", "Ann"), "edited", 1_700_000_004, verb="edited"),
        {"field": "feed", "value": {"item": "reaction", "verb": "add", "post_id": f"{page}_9"}},
    ]
    result = run(
        sim.envelope("page", sim.entry(page, 1_700_000_005, changes=changes)), accounts, ctx
    )
    top, reply, own, anonymous = result.messages
    assert top["thread"] == {
        "in_reply_to": None,
        "references": [],
        "root_id": f"{page}_9",
        "parent_id": None,
    }
    assert reply["thread"]["parent_id"] == "9_1" and reply["thread"]["root_id"] == f"{page}_9"
    assert own["flags"]["echo"] is True and own["author"]["external_id"] == page
    assert anonymous["author"]["external_id"] == "anonymous:9_4"
    assert anonymous["defects"] == ["comment without 'from': the commenter is unknown"]
    assert [s.reason for s in result.skipped] == [
        "comment verb 'edited': only new comments are ingested",
        "feed item 'reaction' is not a comment",
    ]


def test_instagram_dms_echoes_and_comments(accounts, ctx) -> None:
    body = sim.envelope(
        "instagram",
        sim.entry(
            IG,
            T,
            messaging=[
                sim.text_message(IGSID, IG, "aWdf_1", "hello", T),
                sim.echo(IG, IGSID, "aWdf_2", "hi there", T + 1),
            ],
        ),
        sim.entry(
            IG,
            1_700_000_000,
            changes=[
                sim.instagram_comment("c1", "nice", (IGSID, "jane"), "media1"),
                sim.instagram_comment("c2", "reply", (IGSID, "jane"), "media1", parent_id="c1"),
                sim.instagram_comment("c3", "thanks!", (IG, "acme"), "media1", parent_id="c1"),
                sim.instagram_comment(
                    "c4", "live!", (IGSID, "jane"), "live1", field="live_comments"
                ),
            ],
        ),
    )
    dm, echo, top, reply, own, live = run(body, accounts, ctx).messages
    assert dm["channel"] == "instagram_dm" and dm["metadata"] == {"igsid": IGSID}
    assert echo["flags"]["echo"] and echo["recipient"]["external_id"] == IGSID
    assert echo["author"]["handle"] == "acme"
    assert top["thread"]["parent_id"] is None and top["metadata"]["reply_to_comment_id"] == "c1"
    assert reply["thread"] == {
        "in_reply_to": None,
        "references": [],
        "root_id": "media1",
        "parent_id": "c1",
    }
    assert reply["metadata"]["reply_to_comment_id"] == "c1"
    assert own["flags"]["echo"] is True
    assert live["metadata"]["live"] is True


def test_instagram_attachment_kinds(accounts, ctx) -> None:
    message = {
        "mid": "aWdf_9",
        "attachments": [
            {
                "type": "image",
                "payload": {"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1"},
            },
            {
                "type": "ig_story",
                "payload": {"story_media_url": "https://lookaside.fbsbx.com/s.mp4"},
            },
            {"type": "fallback", "payload": {"url": "https://example.org/shop"}, "title": "Shop"},
        ],
    }
    body = sim.envelope(
        "instagram", sim.entry(IG, T, messaging=[sim.event(IGSID, IG, T, message=message)])
    )
    result = run(body, accounts, ctx)
    assert [r.url for r in result.media[0]] == [
        "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1",
        "https://lookaside.fbsbx.com/s.mp4",
    ]
    assert result.messages[0]["metadata"]["links"] == ["https://example.org/shop"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"[1, 2]", "body is a JSON list"),
        (b"\xff\xfe", "malformed JSON"),
        ({"object": "user", "entry": []}, "unsupported Meta object 'user'"),
        ({"object": "page", "entry": "x"}, "expected a list"),
        ({"object": "page", "entry": [7]}, "expected an object"),
        (
            {"object": "page", "entry": [{"id": "123", "time": T}]},
            "no facebook page '123' is configured",
        ),
        (
            {"object": "page", "entry": [{"id": "555000555", "messaging": []}]},
            "belongs to app 'other'",
        ),
        ({"object": "page", "entry": [{"id": PAGE, "time": T}]}, "entry without messaging"),
        (
            messenger(sim.event(PSID, PAGE, T, reaction={"mid": "m_1", "action": "react"})),
            "unsupported page messaging event: reaction",
        ),
        (
            messenger(sim.event(PSID, PAGE, T, message={"mid": "m_1", "is_deleted": True})),
            "is_deleted",
        ),
        (messenger({"message": {"mid": "m"}}), "without sender.id"),
        (
            sim.envelope("page", sim.entry(PAGE, T, changes=[{"field": "ratings", "value": {}}])),
            "unsupported page change field 'ratings'",
        ),
        (
            sim.envelope(
                "instagram",
                sim.entry(IG, T, changes=[{"field": "mentions", "value": {"media_id": "1"}}]),
            ),
            "unsupported instagram change field 'mentions'",
        ),
    ],
)
def test_unknown_kinds_and_malformed_bodies_are_skipped(accounts, ctx, body, reason) -> None:
    result = run(body, accounts, ctx)
    assert result.messages == [] and result.statuses == []
    assert len(result.skipped) == 1
    assert reason in result.skipped[0].reason


def test_an_unforeseen_shape_skips_only_its_event(accounts, ctx) -> None:
    broken = sim.event(
        PSID, PAGE, T, message={"mid": "m_1", "attachments": "not-a-list", "reply_to": []}
    )
    weird = sim.event(PSID, PAGE, T, message={"mid": {"nested": 1}, "text": 5})
    body = messenger(broken, weird, sim.text_message(PSID, PAGE, "m_3", "fine", T))
    result = run(body, accounts, ctx)
    assert [m["external_id"] for m in result.messages][-1] == "m_3"
    assert all(m["external_id"] for m in result.messages)


def test_received_at_must_be_aware(accounts, ctx) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run(messenger(), accounts, {**ctx, "received_at": ctx["received_at"].replace(tzinfo=None)})
