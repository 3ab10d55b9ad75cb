"""X Account Activity deliveries: mentions, replies, own tweets, DMs, DM echoes, read receipts."""

from __future__ import annotations

import pytest

from social_ingest.accounts import Accounts
from social_ingest.normalize import Normalized, x
from tests.simulators import x as sim
from tests.simulators.channels_md import find, json_blocks
from tests.simulators.delivery import encode

CUSTOMER = sim.user("3001969357", "furiouscamper", "Jordan Brinks")
BRAND = sim.user(sim.BRAND_ID, sim.BRAND_SCREEN_NAME, "Twitter Dev")
MENTION = (sim.BRAND_ID, sim.BRAND_SCREEN_NAME, "Twitter Dev")
T = 1_600_454_175_000


def run(body: object, accounts: Accounts, ctx: dict) -> Normalized:
    return x.normalize(body, accounts=accounts, app=accounts.x_apps["main"], **ctx)


def test_channels_md_example_7_mention_reply(channels_md, accounts, ctx) -> None:
    example = find(json_blocks(channels_md), "Example 7")
    (message,) = run(encode(example), accounts, ctx).messages
    assert message["channel"] == "x_mention" and message["visibility"] == "public"
    assert message["inbox"] == "2244994945"
    assert message["external_id"] == "1307025659294674945"
    assert message["author"] == {
        "external_id": "3001969357",
        "handle": "furiouscamper",
        "display_name": "Jordan Brinks",
        "email": None,
    }
    assert message["text"] == "@TwitterDev my order never arrived, can you help?"
    assert message["thread"]["parent_id"] == "1304102743196356610"
    assert message["sent_at"] == "2020-09-18T18:36:15+00:00"
    assert message["metadata"]["mentions_us"] is True


def test_channels_md_example_8_direct_message(channels_md, accounts, ctx) -> None:
    example = find(json_blocks(channels_md), "Example 8")
    (message,) = run(encode(example), accounts, ctx).messages
    assert (message["channel"], message["visibility"]) == ("x_dm", "private")
    assert message["inbox"] == "4337869213"
    assert message["external_id"] == "954491830116155396"
    assert message["author"]["handle"] == "furiouscamper"
    assert message["text"] == "Hello World!"
    assert message["flags"]["echo"] is False
    assert message["metadata"]["dm_conversation_id"] == "3001969357-4337869213"


def test_builder_reproduces_channels_md_example_7(channels_md) -> None:
    example = find(json_blocks(channels_md), "Example 7")
    built = sim.tweet(
        "1307025659294674945",
        CUSTOMER,
        "@TwitterDev my order never arrived, can you help?",
        1600454175000,
        in_reply_to=("1304102743196356610", sim.BRAND_ID, sim.BRAND_SCREEN_NAME),
        mentions=[MENTION],
    )
    event = example["tweet_create_events"][0]
    # The builder leaves out the decorative fields (source, display_text_range).
    assert {k: v for k, v in event.items() if k in built} == built


def test_mentions_replies_and_own_tweets(accounts, ctx) -> None:
    events = [
        sim.tweet("10", CUSTOMER, "@TwitterDev hi", T, mentions=[MENTION]),
        sim.tweet(
            "11",
            CUSTOMER,
            "@TwitterDev again",
            T + 1,
            in_reply_to=("10", "3001969357", "furiouscamper"),
            mentions=[MENTION],
        ),
        sim.tweet(
            "12",
            BRAND,
            "@furiouscamper on it",
            T + 2,
            in_reply_to=("11", "3001969357", "furiouscamper"),
        ),
        {
            **sim.tweet("13", CUSTOMER, "RT @TwitterDev: news", T + 3),
            "retweeted_status": {"id_str": "1"},
        },
    ]
    result = run(sim.delivery(sim.envelope(tweet_create_events=events)).body, accounts, ctx)
    mention, reply, own = result.messages
    assert mention["thread"]["root_id"] == "10" and mention["thread"]["parent_id"] is None
    assert reply["thread"] == {
        "in_reply_to": None,
        "references": [],
        "root_id": None,
        "parent_id": "10",
    }
    assert reply["metadata"]["in_reply_to_tweet_id"] == "10"
    assert own["flags"]["echo"] is True
    assert own["recipient"] == {
        "external_id": "3001969357",
        "handle": "furiouscamper",
        "display_name": None,
        "email": None,
    }
    assert [s.reason for s in result.skipped] == ["a retweet: nothing was said to answer"]


def test_direct_messages_and_echoes(accounts, ctx) -> None:
    users = {
        "3001969357": sim.dm_user("3001969357", "furiouscamper", "Jordan Brinks"),
        sim.BRAND_ID: sim.dm_user(sim.BRAND_ID, sim.BRAND_SCREEN_NAME, "Twitter Dev"),
    }
    events = [
        sim.direct_message("100", "3001969357", sim.BRAND_ID, "where is it?", T),
        sim.direct_message(
            "101", sim.BRAND_ID, "3001969357", "on its way", T + 1, source_app_id=sim.APP_ID
        ),
        sim.direct_message(
            "102", sim.BRAND_ID, "3001969357", "typed in X", T + 2, source_app_id="3033300"
        ),
    ]
    body = sim.envelope(direct_message_events=events, users=users)
    inbound, ours, foreign = run(body, accounts, ctx).messages
    assert (
        inbound["flags"]["echo"] is False and inbound["author"]["display_name"] == "Jordan Brinks"
    )
    for echo, source in ((ours, "switchboard"), (foreign, "other")):
        assert echo["flags"]["echo"] is True
        assert echo["author"]["external_id"] == sim.BRAND_ID
        assert echo["recipient"]["external_id"] == "3001969357"
        assert echo["recipient"]["handle"] == "furiouscamper"
        assert echo["metadata"]["echo_source"] == source
        assert echo["metadata"]["participant_id"] == "3001969357"


def test_mark_read_becomes_a_status(accounts, ctx) -> None:
    events = [
        sim.mark_read("3001969357", sim.BRAND_ID, "101", T),
        sim.mark_read(sim.BRAND_ID, "3001969357", "100", T),
    ]
    result = run(sim.envelope(direct_message_mark_read_events=events), accounts, ctx)
    (read,) = result.statuses
    assert (read["channel"], read["status"], read["external_ids"], read["recipient_id"]) == (
        "x_dm",
        "read",
        ["101"],
        "3001969357",
    )
    assert len(result.skipped) == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "malformed JSON"),
        ({"for_user_id": "42", "tweet_create_events": []}, "no X account '42' is configured"),
        (sim.envelope(favorite_events=[{"id": "1"}]), "X favorite_events are not ingested"),
        (sim.envelope(follow_events=[{"type": "follow"}]), "X follow_events are not ingested"),
        (sim.envelope(), "without any *_events"),
        (
            sim.envelope(direct_message_events=[{"type": "message_delete", "id": "1"}]),
            "'message_delete' is not ingested",
        ),
        (sim.envelope(tweet_create_events=[{"text": "no ids"}]), "tweet without id_str"),
    ],
)
def test_skips(accounts, ctx, body, reason) -> None:
    result = run(body, accounts, ctx)
    assert not result.messages
    assert reason in result.skipped[0].reason
