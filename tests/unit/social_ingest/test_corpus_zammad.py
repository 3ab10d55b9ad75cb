"""Zammad's real X Account Activity events and Telegram updates normalize as expected."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

from social_ingest.normalize import telegram, x


class RubyYamlLoader(yaml.SafeLoader):
    """Loads Ruby's `to_yaml` output (HashWithIndifferentAccess tags) as plain data."""


RubyYamlLoader.add_multi_constructor(
    "!ruby/hash:", lambda loader, _, node: loader.construct_mapping(node, deep=True)
)
RubyYamlLoader.add_constructor(
    "!binary", lambda loader, node: base64.b64decode(loader.construct_scalar(node))
)

SCRUFFY = "2975699229"
PENN = "1205290247124217856"

# file: (kind, author id, text) for messages; (kind, ids, recipient) for statuses; (kind, reason).
X_EXPECTED = {
    "direct_message-incoming": ("dm", PENN, "Yes, you are!"),
    "direct_message-incoming_2": ("dm", PENN, "and I'm a hungry, hungry hippo!"),
    "direct_message-incoming_with_media": ("dm", PENN, ""),
    "direct_message-incoming_with_url": (
        "dm",
        PENN,
        "Did you know about this? https://en.wikipedia.org/wiki/Frankenstein#Composition",
    ),
    "direct_message-outgoing": ("dm echo", SCRUFFY, "I'm a banana!"),
    "tweet_create-outgoing": ("mention echo", SCRUFFY, "Bleep bloop."),
    "tweet_create-response": ("mention", PENN, "@ScruffyMcG This is only a test."),
    "tweet_create-user_mention": (
        "mention",
        PENN,
        "@ScruffyMcG This is a test of Twitter API webhooks.",
    ),
    "tweet_create-user_mention_multiple": (
        "mention",
        PENN,
        "@ScruffyMcG @MrThorstenEckel This is a test of Twitter API webhooks.",
    ),
    "tweet_create-user_mention_outgoing": (
        "mention echo",
        SCRUFFY,
        "@ScruffyMcG Who do you think you are?",
    ),
    "tweet_create-user_mention_with_media": ("mention", PENN, "@ScruffyMcG"),
    "tweet_create-user_mention_with_url": ("mention", PENN, "@ScruffyMcG https://zammad.org/"),
    "tweet_create-user_mention_extended": (
        "mention",
        PENN,
        "@ScruffyMcG\n This is a test of Zammad's handling of extended tweets. When Twitter "
        "sends tweet data (as JSON) to webhook endpoints, tweets exceeding 140 characters are "
        "truncated (for backwards compatibility). The full tweet body is passed in an "
        '"extended_tweet" property.',
    ),
    "direct_message_mark_read": ("status", ["1206724203514228741"], PENN),
    "direct_message_indicate_typing": (
        "skip",
        "direct_message_indicate_typing_events are not ingested",
    ),
    "favorited": ("skip", "favorite_events are not ingested"),
    "follow": ("skip", "follow_events are not ingested"),
    "follow-unfollow": ("skip", "follow_events are not ingested"),
    "tweet_create-retweet": ("skip", "a retweet"),
}


def x_files(corpus_dir: Path) -> list[Path]:
    return sorted((corpus_dir / "zammad/social/twitter/webhook_events").glob("*.yml"))


def test_every_x_event_file_has_an_expectation(corpus_dir) -> None:
    assert {p.stem for p in x_files(corpus_dir)} == set(X_EXPECTED)


@pytest.mark.parametrize("name", sorted(X_EXPECTED))
def test_zammad_x_events(corpus_dir, accounts, ctx, name) -> None:
    event = yaml.load(
        (corpus_dir / f"zammad/social/twitter/webhook_events/{name}.yml").read_bytes(),
        Loader=RubyYamlLoader,  # noqa: S506 (a SafeLoader subclass)
    )
    result = x.normalize(
        json.dumps(event).encode(), accounts=accounts, app=accounts.x_apps["main"], **ctx
    )
    kind, *expected = X_EXPECTED[name]
    if kind == "skip":
        assert not result.messages and not result.statuses
        assert expected[0] in result.skipped[0].reason
        return
    if kind == "status":
        (status,) = result.statuses
        assert (status["external_ids"], status["recipient_id"], status["status"]) == (
            expected[0],
            expected[1],
            "read",
        )
        return
    assert result.skipped == []
    (message,) = result.messages
    assert message["channel"] == ("x_dm" if kind.startswith("dm") else "x_mention")
    assert message["inbox"] == SCRUFFY
    assert (message["author"]["external_id"], message["text"]) == tuple(expected)
    assert message["flags"]["echo"] is kind.endswith("echo")
    if message["flags"]["echo"] and message["channel"] == "x_dm":
        assert message["recipient"]["external_id"] == PENN
        assert message["recipient"]["handle"] == "pennbrooke1"
    if name.endswith("with_media"):
        (ref,) = result.media[0]
        assert ref.url.startswith("https://video.twimg.com/") and ref.content_type == "video/mp4"
    if kind == "mention":
        assert message["author"]["handle"] == "pennbrooke1"


PRIVATE = ("111111", "Testusername", "Test Firstname Test Lastname")
PRIVATE2 = ("222222", "Testusername2", "Test Firstname2 Test Lastname2")
CHANNEL = ("123456789", None, "Bot Channel")
# file: (author, text, visibility, media file ids)
TELEGRAM_EXPECTED = {
    "private/document": (PRIVATE, "", "private", ["documentfileid"]),
    "private/end": (PRIVATE, "/end", "private", []),
    "private/photo": (PRIVATE, "caption 123<b>abc</b>", "private", ["photofileid3"]),
    "private/start": (PRIVATE, "/start", "private", []),
    "private/start2": (PRIVATE2, "/start", "private", []),
    "private/sticker": (PRIVATE, "😄", "private", ["stickerfileid"]),
    "private/text": (PRIVATE, "Hello, I need your Help", "private", []),
    "private/text2": (PRIVATE2, "Can you help me with my feature?", "private", []),
    "private/video": (PRIVATE, "", "private", ["videofileid"]),
    "private/voice": (PRIVATE, "", "private", ["voicefileid"]),
    "channel/document": (CHANNEL, "", "public", ["documentfileid"]),
    "channel/end": (CHANNEL, "/end", "public", []),
    "channel/photo": (CHANNEL, "", "public", ["photofileid3"]),
    "channel/start": (CHANNEL, "/start", "public", []),
    "channel/sticker": (CHANNEL, "😄", "public", ["stickerfileid"]),
    "channel/text": (("123456789", None, "ZBotChannel"), "Hello, I need your Help", "public", []),
    "channel/video": (CHANNEL, "caption", "public", ["videofileid"]),
    "channel/voice": (CHANNEL, "", "public", ["voicefileid"]),
}


def test_every_telegram_file_has_an_expectation(corpus_dir) -> None:
    files = (corpus_dir / "zammad/social/telegram").glob("*/*.json")
    found = {f"{p.parent.name}/{p.stem}" for p in files}
    assert found == set(TELEGRAM_EXPECTED)


@pytest.mark.parametrize("name", sorted(TELEGRAM_EXPECTED))
def test_zammad_telegram_updates(corpus_dir, accounts, ctx, name) -> None:
    raw = (corpus_dir / f"zammad/social/telegram/{name}.json").read_bytes()
    result = telegram.normalize(raw, bot=accounts.telegram_bots["7000000001"], **ctx)
    (author_id, handle, display), text, visibility, files = TELEGRAM_EXPECTED[name]
    assert result.skipped == []
    (message,) = result.messages
    assert message["author"] == {
        "external_id": author_id,
        "handle": handle,
        "display_name": display,
        "email": None,
    }
    assert (message["text"], message["visibility"]) == (text, visibility)
    assert [ref.media_id for ref in result.media.get(0, [])] == files
    update = json.loads(raw)
    post = update.get("message") or update.get("channel_post")
    assert message["external_id"] == f"{post['chat']['id']}:{post['message_id']}"
