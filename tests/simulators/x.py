"""X Account Activity API webhooks (channels.md section 2): CRC, signature, tweets and DMs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import Any

import requests

from tests.simulators.delivery import Delivery, encode

# channels.md section 2.1/2.2 test vectors.
CONSUMER_SECRET = "test_consumer_secret"
BRAND_ID = "2244994945"
BRAND_SCREEN_NAME = "TwitterDev"
APP_ID = "13090192"


def sign(data: bytes, consumer_secret: str = CONSUMER_SECRET) -> str:
    """`sha256=<base64 HMAC-SHA256>`: the CRC response token and the body signature."""
    digest = hmac.new(consumer_secret.encode(), data, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def crc(challenge: str = "challenge_string") -> Delivery:
    """The GET X sends on registration and hourly: answer within 3 s."""
    return Delivery(b"", {}, query={"crc_token": challenge}, method="GET")


def crc_check(session: requests.Session, url: str, consumer_secret: str = CONSUMER_SECRET) -> bool:
    """Validate a webhook as X does: the right `response_token`, answered within 3 seconds."""
    challenge = secrets.token_urlsafe(24)
    response = crc(challenge).send(session, url, timeout=3.0)
    expected = {"response_token": sign(challenge.encode(), consumer_secret)}
    return response.status_code == 200 and response.json() == expected


def delivery(payload: dict, consumer_secret: str = CONSUMER_SECRET) -> Delivery:
    """Serialise and sign an event POST."""
    body = encode(payload)
    return Delivery(
        body,
        {
            "Content-Type": "application/json",
            "x-twitter-webhooks-signature": sign(body, consumer_secret),
        },
    )


def envelope(for_user_id: str = BRAND_ID, **events: Any) -> dict:
    """`{"for_user_id": ..., "<kind>_events": [...], "users": ..., "apps": ...}`."""
    return {"for_user_id": for_user_id, **events}


def user(user_id: str, screen_name: str, name: str) -> dict:
    """A v1.1 user object as tweets embed it."""
    return {
        "id": int(user_id),
        "id_str": user_id,
        "name": name,
        "screen_name": screen_name,
        "protected": False,
        "verified": False,
    }


def tweet(
    tweet_id: str,
    author: dict,
    text: str,
    timestamp_ms: int,
    *,
    in_reply_to: tuple[str, str, str] | None = None,
    mentions: list[tuple[str, str, str]] = (),
) -> dict:
    """A v1.1 tweet; `in_reply_to` is (tweet id, user id, screen name) of the replied tweet.

    `mentions` are (user id, screen name, name); a plain mention has no `in_reply_to_*`.
    """
    created = datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime(
        "%a %b %d %H:%M:%S +0000 %Y"
    )
    reply_status, reply_user, reply_name = in_reply_to or (None, None, None)
    offset = 0
    user_mentions = []
    for user_id, screen_name, name in mentions:
        end = offset + len(screen_name) + 1
        user_mentions.append(
            {
                "screen_name": screen_name,
                "name": name,
                "id": int(user_id),
                "id_str": user_id,
                "indices": [offset, end],
            }
        )
        offset = end + 1
    return {
        "created_at": created,
        "id": int(tweet_id),
        "id_str": tweet_id,
        "text": text,
        "truncated": False,
        "in_reply_to_status_id": int(reply_status) if reply_status else None,
        "in_reply_to_status_id_str": reply_status,
        "in_reply_to_user_id": int(reply_user) if reply_user else None,
        "in_reply_to_user_id_str": reply_user,
        "in_reply_to_screen_name": reply_name,
        "user": author,
        "is_quote_status": False,
        "entities": {"hashtags": [], "symbols": [], "urls": [], "user_mentions": user_mentions},
        "favorited": False,
        "retweeted": False,
        "lang": "en",
        "timestamp_ms": str(timestamp_ms),
    }


def direct_message(
    event_id: str,
    sender_id: str,
    recipient_id: str,
    text: str,
    created_ms: int,
    *,
    source_app_id: str | None = None,
) -> dict:
    """A `message_create` DM event; `source_app_id` is set when an app sent it."""
    create: dict[str, Any] = {"target": {"recipient_id": recipient_id}, "sender_id": sender_id}
    if source_app_id is not None:
        create["source_app_id"] = source_app_id
    create["message_data"] = {
        "text": text,
        "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
    }
    return {
        "type": "message_create",
        "id": event_id,
        "created_timestamp": str(created_ms),
        "message_create": create,
    }


def dm_user(user_id: str, screen_name: str, name: str) -> dict:
    """A hydrated user of a DM delivery's `users` map."""
    return {"id": user_id, "name": name, "screen_name": screen_name, "protected": False}


def mark_read(sender_id: str, recipient_id: str, last_read_event_id: str, created_ms: int) -> dict:
    """A `direct_message_mark_read_events` item: `sender_id` read up to the event."""
    return {
        "created_timestamp": str(created_ms),
        "sender_id": sender_id,
        "target": {"recipient_id": recipient_id},
        "last_read_event_id": last_read_event_id,
    }
