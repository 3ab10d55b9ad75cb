"""Chatwoot's X and Telegram payloads normalize as expected (see test_corpus_chatwoot_meta.py)."""

from __future__ import annotations

import json

import pytest

from social_ingest.normalize import telegram, x

# --- X ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "channel", "author", "text", "media"),
    [
        (
            "tweet_create_event.json",
            "x_mention",
            ("2", "surveyjoyHQ", "SurveyJoy"),
            "@chatwootapp Testing a sample tweet with Twitter client",
            0,
        ),
        ("twitter_dm_image_event.json", "x_dm", ("2", None, "person 1"), "Blue Bird", 1),
        ("twitter_message_create_event.json", "x_dm", ("2", None, "person 1"), "Blue Bird", 0),
    ],
)
def test_x(chatwoot, accounts, ctx, path, channel, author, text, media) -> None:
    (item,) = chatwoot(f"factories/twitter/{path}")
    result = x.normalize(
        json.dumps(item["payload"]).encode(), accounts=accounts, app=accounts.x_apps["main"], **ctx
    )
    (message,) = result.messages
    assert (message["channel"], message["inbox"], message["text"]) == (channel, "1", text)
    assert (
        message["author"]["external_id"],
        message["author"]["handle"],
        message["author"]["display_name"],
    ) == author
    assert message["flags"]["echo"] is False
    assert len(result.media.get(0, [])) == media


# --- Telegram ---------------------------------------------------------------------------------

TELEGRAM = {
    48: "test",
    61: "test",
    76: "test",
    150: "",
    174: "",
    193: "👍",
    218: "",
    240: "",
    269: "",
    288: "",
    309: "",
    328: "Location: 37.7893768, -122.3895553",
    344: "Venue: San Francisco",
    370: "Option 1",
    399: "Contact: +918660944581",
    428: "test",
    454: "test",
    473: "test",
}


@pytest.mark.parametrize("line", sorted(TELEGRAM))
def test_telegram(chatwoot, fill, accounts, ctx, line) -> None:
    all_items = chatwoot("services/telegram/incoming_message_service_spec.json")
    values = {"message_params": all_items[0]["payload"]}
    (item,) = [i for i in all_items if i.get("line") == line]
    result = telegram.normalize(
        json.dumps(fill(item["payload"], values)).encode(),
        bot=accounts.telegram_bots["7000000001"],
        **ctx,
    )
    (message,) = result.messages
    assert message["text"] == TELEGRAM[line]
    assert (
        message["author"]["handle"] == "sojan" and message["author"]["display_name"] == "Sojan Jose"
    )
    assert message["visibility"] == ("public" if line == 76 else "private")
    has_file = line in (150, 174, 193, 218, 240, 269, 288, 309)
    assert len(result.media.get(0, [])) == (1 if has_file else 0)
