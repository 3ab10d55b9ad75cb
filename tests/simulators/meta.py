"""Meta webhooks (Messenger, Facebook Page feed, Instagram) as channels.md section 1 shows them.

Builders return plain dicts in the field order of Meta's examples; `delivery()` serialises
them with ASCII escapes (as Meta does) and signs them with `X-Hub-Signature-256` and the
legacy `X-Hub-Signature`. WhatsApp bodies (same envelope and signature) are in whatsapp.py.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import requests

from tests.simulators.delivery import Delivery, encode

# channels.md section 1.2 test vector.
APP_SECRET = "test_app_secret"
APP_ID = "1517776481860111"
VERIFY_TOKEN = "meatyhamhock"


def signature_headers(body: bytes, app_secret: str = APP_SECRET) -> dict[str, str]:
    """Return the headers Meta signs a body with (lower-case hex HMACs of the raw bytes)."""
    key = app_secret.encode()
    return {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
        "X-Hub-Signature": "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest(),
    }


def delivery(payload: dict, app_secret: str = APP_SECRET) -> Delivery:
    """Serialise and sign a webhook body as Meta sends it."""
    body = encode(payload)
    return Delivery(body, signature_headers(body, app_secret))


def handshake(
    verify_token: str = VERIFY_TOKEN, challenge: str = "1158201444", mode: str = "subscribe"
) -> Delivery:
    """The GET Meta sends when the webhook is configured."""
    query = {"hub.mode": mode, "hub.challenge": challenge, "hub.verify_token": verify_token}
    return Delivery(b"", {}, query=query, method="GET")


def subscribe(session: requests.Session, url: str, verify_token: str = VERIFY_TOKEN) -> bool:
    """Verify a callback URL as Meta does: 200 with exactly the challenge as the body."""
    request = handshake(verify_token, challenge=str(secrets.randbelow(10**10)))
    response = request.send(session, url)
    return response.status_code == 200 and response.text == request.query["hub.challenge"]


def envelope(object_: str, *entries: dict) -> dict:
    """`{"object": ..., "entry": [...]}`: several entries batch in one delivery."""
    return {"object": object_, "entry": list(entries)}


def entry(
    entry_id: str,
    time: int,
    *,
    messaging: list[dict] | None = None,
    changes: list[dict] | None = None,
    standby: list[dict] | None = None,
) -> dict:
    """One entry: the account id and its batched `messaging`/`standby` or `changes` items."""
    item: dict[str, Any] = {"id": entry_id, "time": time}
    for key, value in (("messaging", messaging), ("standby", standby), ("changes", changes)):
        if value is not None:
            item[key] = value
    return item


def event(sender: str, recipient: str, timestamp: int, **kind: dict) -> dict:
    """A messaging event: `message`, `delivery`, `read` or `postback` as the keyword."""
    return {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": timestamp,
        **kind,
    }


def text_message(
    psid: str,
    page_id: str,
    mid: str,
    text: str,
    timestamp: int,
    *,
    reply_to_mid: str | None = None,
    quick_reply: str | None = None,
) -> dict:
    """A customer's text message (Messenger, or Instagram with IGSID and IG account id)."""
    message: dict[str, Any] = {"mid": mid, "text": text}
    if quick_reply is not None:
        message["quick_reply"] = {"payload": quick_reply}
    if reply_to_mid is not None:
        message["reply_to"] = {"mid": reply_to_mid, "is_self_reply": False}
    return event(psid, page_id, timestamp, message=message)


def attachment_message(
    psid: str, page_id: str, mid: str, url: str, timestamp: int, kind: str = "image"
) -> dict:
    """A customer's message carrying a file (the CDN URL expires: fetch it at ingest)."""
    attachment = {"type": kind, "payload": {"url": url}}
    return event(psid, page_id, timestamp, message={"mid": mid, "attachments": [attachment]})


def echo(
    page_id: str,
    psid: str,
    mid: str,
    text: str,
    timestamp: int,
    *,
    app_id: int | None = int(APP_ID),
    metadata: str | None = None,
) -> dict:
    """The page's own message seen again: sender is the page, `is_echo`, the sending app."""
    message: dict[str, Any] = {"is_echo": True}
    if app_id is not None:
        message["app_id"] = app_id
    if metadata is not None:
        message["metadata"] = metadata
    message.update({"mid": mid, "text": text})
    return event(page_id, psid, timestamp, message=message)


def delivery_receipt(
    psid: str, page_id: str, watermark: int, timestamp: int, mids: list[str] | None = None
) -> dict:
    """Messenger `delivery`: everything sent to `psid` before `watermark` was delivered."""
    receipt: dict[str, Any] = {"watermark": watermark}
    if mids is not None:
        receipt = {"mids": mids, **receipt}
    return event(psid, page_id, timestamp, delivery=receipt)


def read_receipt(psid: str, page_id: str, watermark: int, timestamp: int) -> dict:
    """Messenger `read`: everything sent to `psid` before `watermark` was read."""
    return event(psid, page_id, timestamp, read={"watermark": watermark})


def instagram_read(igsid: str, ig_id: str, mid: str, timestamp: int) -> dict:
    """Instagram `read` (messaging_seen): names the message read."""
    return event(igsid, ig_id, timestamp, read={"mid": mid})


def feed_comment(
    page_id: str,
    post: str,
    comment: str,
    author: tuple[str, str] | None,
    message: str,
    created_time: int,
    *,
    parent_id: str | None = None,
    verb: str = "add",
) -> dict:
    """A Page `feed` comment change; ids are `<page>_<post>` and `<post>_<comment>`.

    Without `parent_id` the comment is top-level and its parent is the post itself.
    `author` is (id, name), or None when Meta leaves `from` out.
    """
    post_id = f"{page_id}_{post}"
    value: dict[str, Any] = {} if author is None else {"from": {"id": author[0], "name": author[1]}}
    value["post"] = {
        "status_type": "mobile_status_update",
        "is_published": True,
        "updated_time": "2025-03-22T18:20:04+0000",
        "promotion_status": "inactive",
        "id": post_id,
    }
    value.update(
        {
            "message": message,
            "post_id": post_id,
            "comment_id": f"{post}_{comment}",
            "created_time": created_time,
            "item": "comment",
            "parent_id": parent_id or post_id,
            "verb": verb,
        }
    )
    return {"field": "feed", "value": value}


def instagram_comment(
    comment_id: str,
    text: str,
    author: tuple[str, str],
    media_id: str,
    *,
    parent_id: str | None = None,
    field: str = "comments",
    self_ig_scoped_id: str = "2105722729836161",
) -> dict:
    """An Instagram `comments` change; a reply adds `parent_id`. `author` is (IGSID, username)."""
    value: dict[str, Any] = {
        "from": {"id": author[0], "username": author[1], "self_ig_scoped_id": self_ig_scoped_id},
        "media": {"id": media_id, "media_product_type": "FEED"},
        "id": comment_id,
        "text": text,
    }
    if parent_id is not None:
        value["parent_id"] = parent_id
    return {"field": field, "value": value}
