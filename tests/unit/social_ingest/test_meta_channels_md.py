"""Meta deliveries (Messenger, Page feed, Instagram) as channels.md section 1 shows them."""

from __future__ import annotations

import pytest

from social_ingest.accounts import Accounts
from social_ingest.normalize import Normalized, meta
from tests.simulators import meta as sim
from tests.simulators.channels_md import find, json_blocks
from tests.simulators.delivery import encode

PAGE, PSID = "682498302938465", "1254459154682919"
IG, IGSID = "17841405309211844", "6513927395316798"


def run(body: object, accounts: Accounts, ctx: dict) -> Normalized:
    return meta.normalize(body, accounts=accounts, app=accounts.meta_apps["main"], **ctx)


@pytest.mark.parametrize(
    ("label", "channel", "inbox", "external_id", "author", "text", "echo"),
    [
        (
            "Example 1",
            "messenger",
            PAGE,
            "mid.1457764197618:41d102a3e1ae206a38",
            PSID,
            "hello, world!",
            False,
        ),
        ("Example 2", "messenger", PAGE, "mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c", PSID, "", False),
        (
            "Example 3",
            "messenger",
            PAGE,
            "mid.1457764197618:41d102a3e1ae206a38",
            PAGE,
            "Thanks, an agent will look at your order.",
            True,
        ),
        (
            "Example 4",
            "facebook_comment",
            "448242228374517",
            "122131676912594941_1213590066982748",
            "7012345678901234",
            "Is this still available in blue?",
            False,
        ),
        (
            "Example 5",
            "instagram_dm",
            IG,
            "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1MzA5MjExODQ0OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1OTA1OTU2MzgzNjY0Nzk2OToz",
            IGSID,
            "Hi, where is my order #5521?",
            False,
        ),
        (
            "Example 6",
            "instagram_comment",
            IG,
            "17919697626119712",
            IGSID,
            "Does this ship to Canada?",
            False,
        ),
    ],
)
def test_channels_md_examples(
    channels_md, accounts, ctx, label, channel, inbox, external_id, author, text, echo
) -> None:
    example = find(json_blocks(channels_md), label)
    result = run(encode(example), accounts, ctx)
    assert result.skipped == []
    (message,) = result.messages
    assert (message["channel"], message["inbox"], message["external_id"]) == (
        channel,
        inbox,
        external_id,
    )
    assert message["author"]["external_id"] == author
    assert message["text"] == text
    assert message["flags"]["echo"] is echo
    assert message["raw_sha256"] == ctx["raw_sha256"]
    assert message["received_at"] == ctx["received_at"].isoformat()


def test_channels_md_example_details(channels_md, accounts, ctx) -> None:
    blocks = json_blocks(channels_md)
    (attachment,) = run(find(blocks, "Example 2"), accounts, ctx).media[0]
    assert attachment.url == "https://scontent.xx.fbcdn.net/v/t1.15752-9/example.jpg"
    (echo,) = run(find(blocks, "Example 3"), accounts, ctx).messages
    assert echo["recipient"]["external_id"] == PSID
    assert echo["metadata"]["echo_source"] == "switchboard"
    assert echo["metadata"]["send_metadata"] == "<DEVELOPER_DEFINED_METADATA_STRING>"
    (comment,) = run(find(blocks, "Example 4"), accounts, ctx).messages
    assert comment["visibility"] == "public"
    assert comment["author"]["display_name"] == "Jane Customer"
    assert comment["thread"]["root_id"] == "448242228374517_122131676912594941"
    assert comment["thread"]["parent_id"] == "122131676912594941_542072878449250"
    assert comment["sent_at"] == "2025-03-22T18:20:04+00:00"
    (ig_comment,) = run(find(blocks, "Example 6"), accounts, ctx).messages
    assert ig_comment["author"]["handle"] == "jane.customer"
    assert ig_comment["thread"] == {
        "in_reply_to": None,
        "references": [],
        "root_id": "18172143295349192",
        "parent_id": None,
    }


def test_builders_reproduce_channels_md_examples(channels_md) -> None:
    blocks = json_blocks(channels_md)
    built = {
        "Example 1": sim.envelope(
            "page",
            sim.entry(
                PAGE,
                1458692752478,
                messaging=[
                    sim.text_message(
                        PSID,
                        PAGE,
                        "mid.1457764197618:41d102a3e1ae206a38",
                        "hello, world!",
                        1458692752478,
                        quick_reply="<DEVELOPER_DEFINED_PAYLOAD>",
                    )
                ],
            ),
        ),
        "Example 2": sim.envelope(
            "page",
            sim.entry(
                PAGE,
                1518479195594,
                messaging=[
                    sim.attachment_message(
                        PSID,
                        PAGE,
                        "mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c",
                        "https://scontent.xx.fbcdn.net/v/t1.15752-9/example.jpg",
                        1518479195308,
                    )
                ],
            ),
        ),
        "Example 3": sim.envelope(
            "page",
            sim.entry(
                PAGE,
                1457764198000,
                messaging=[
                    sim.echo(
                        PAGE,
                        PSID,
                        "mid.1457764197618:41d102a3e1ae206a38",
                        "Thanks, an agent will look at your order.",
                        1457764197627,
                        metadata="<DEVELOPER_DEFINED_METADATA_STRING>",
                    )
                ],
            ),
        ),
        "Example 4": sim.envelope(
            "page",
            sim.entry(
                "448242228374517",
                1742667607,
                changes=[
                    sim.feed_comment(
                        "448242228374517",
                        "122131676912594941",
                        "1213590066982748",
                        ("7012345678901234", "Jane Customer"),
                        "Is this still available in blue?",
                        1742667604,
                        parent_id="122131676912594941_542072878449250",
                    )
                ],
            ),
        ),
        "Example 5": sim.envelope(
            "instagram",
            sim.entry(
                IG,
                1569262486134,
                messaging=[
                    sim.text_message(
                        IGSID,
                        IG,
                        find(blocks, "Example 5")["entry"][0]["messaging"][0]["message"]["mid"],
                        "Hi, where is my order #5521?",
                        1569262485349,
                    )
                ],
            ),
        ),
        "Example 6": sim.envelope(
            "instagram",
            sim.entry(
                IG,
                1755779280,
                changes=[
                    sim.instagram_comment(
                        "17919697626119712",
                        "Does this ship to Canada?",
                        (IGSID, "jane.customer"),
                        "18172143295349192",
                    )
                ],
            ),
        ),
    }
    for label, payload in built.items():
        # Byte-equal, so field order and escaping are Meta's too.
        assert encode(payload) == encode(find(blocks, label)), label
