"""Messenger and Instagram DM `messaging` events: messages, echoes, postbacks and receipts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from social_ingest.normalize.payload import (
    as_id,
    derived_id,
    first_time,
    message,
    obj,
    party,
    status,
    text_of,
)
from social_ingest.normalize.result import Context, MediaRef, Normalized

# Attachment types that carry no file: a link preview or a structured template. Their URL can
# point anywhere, so it is kept as a link for the agent and never fetched.
_LINK_TYPES = {"fallback", "template", "location", "appointment_booking"}
_ENVELOPE_KEYS = {"sender", "recipient", "timestamp"}


@dataclass(frozen=True)
class MetaInbox:
    """The account one `entry` belongs to, and what every event in it shares."""

    object: str  # "page" or "instagram"
    inbox_id: str  # page id or IG account id (the entry id)
    app_id: str  # our Meta app id, to recognise our own echoes
    ctx: Context
    entry_time: datetime | None
    handle: str | None = None  # the IG username of the account, for its own messages

    @property
    def dm_channel(self) -> str:
        """The bus channel of this account's private messages."""
        return "messenger" if self.object == "page" else "instagram_dm"

    def private_message(self, **fields: Any) -> dict:
        """A `message.received` payload of this account's private (DM) channel."""
        return message(
            self.ctx, channel=self.dm_channel, inbox=self.inbox_id, visibility="private", **fields
        )

    def public_message(self, channel: str, **fields: Any) -> dict:
        """A `message.received` payload of a public comment on this account."""
        return message(
            self.ctx, channel=channel, inbox=self.inbox_id, visibility="public", **fields
        )

    @property
    def customer_key(self) -> str:
        """The metadata key naming the customer a reply goes to (page- or IG-scoped id)."""
        return "psid" if self.object == "page" else "igsid"


def normalize_event(
    event: dict, where: str, inbox: MetaInbox, result: Normalized, standby: bool = False
) -> None:
    """Turn one `messaging`/`standby` event into a message, a status, or a skip."""
    sender = as_id(obj(event.get("sender")).get("id"))
    recipient = as_id(obj(event.get("recipient")).get("id"))
    sent_at = first_time(event.get("timestamp")) or inbox.entry_time
    if not sender or not recipient:
        result.skip("messaging event without sender.id and recipient.id", where)
    elif isinstance(event.get("message"), dict):
        _message(event["message"], sender, recipient, sent_at, where, inbox, result, standby)
    elif isinstance(event.get("postback"), dict):
        _postback(event["postback"], sender, sent_at, where, inbox, result)
    elif isinstance(event.get("delivery"), dict):
        _receipt("delivered", event["delivery"], sender, sent_at, where, inbox, result)
    elif isinstance(event.get("read"), dict):
        _receipt("read", event["read"], sender, sent_at, where, inbox, result)
    else:
        kinds = sorted(set(event) - _ENVELOPE_KEYS) or ["nothing"]
        result.skip(f"unsupported {inbox.object} messaging event: {', '.join(kinds)}", where)


def _message(
    msg: dict,
    sender: str,
    recipient: str,
    sent_at: datetime | None,
    where: str,
    inbox: MetaInbox,
    result: Normalized,
    standby: bool,
) -> None:
    if msg.get("is_deleted"):
        # An unsend: the schema has no deletion event; the archived body keeps the fact.
        result.ignore("message unsent by its author (is_deleted)", where)
        return
    # An echo is a message the account itself sent: the customer is its recipient.
    echo = bool(msg.get("is_echo"))
    customer = recipient if echo else sender
    text = text_of(msg.get("text")) or ""
    media, links = _attachments(msg.get("attachments"))
    reply_to = obj(msg.get("reply_to"))
    story = obj(reply_to.get("story"))
    defects = []
    if msg.get("is_unsupported"):
        defects.append("the network cannot show this message (is_unsupported)")
    mid = as_id(msg.get("mid"))
    if not mid:
        mid = derived_id(inbox.dm_channel, inbox.inbox_id, sender, sent_at, text)
        defects.append("no mid: external_id derived from sender, time and text")
    metadata = {
        inbox.customer_key: customer,
        "quick_reply_payload": obj(msg.get("quick_reply")).get("payload"),
        "reply_to_story_id": as_id(story.get("id")),
        "reply_to_story_url": text_of(story.get("url")),
        "links": links or None,
        # Another app holds thread control: ours only watches (and must not answer yet).
        "standby": True if standby else None,
    }
    if echo:
        app_id = as_id(msg.get("app_id"))
        # Our app's echo confirms a reply we sent; another app's (or none: Business Suite,
        # the Instagram app) is an agent's reply typed elsewhere, to import as outbound.
        metadata["echo_source"] = "switchboard" if app_id == inbox.app_id else "other"
        metadata["echo_app_id"] = app_id
        metadata["send_metadata"] = text_of(msg.get("metadata"))
    result.add_message(
        inbox.private_message(
            external_id=mid,
            author=party(sender, handle=inbox.handle if echo else None),
            recipient=party(customer) if echo else None,
            text=text,
            sent_at=sent_at,
            parent_id=as_id(reply_to.get("mid")),
            echo=echo,
            metadata=metadata,
            defects=defects,
        ),
        media,
        where,
    )


def _attachments(items: object) -> tuple[list[MediaRef], list[str]]:
    """Split attachments into files to fetch and links to show."""
    media: list[MediaRef] = []
    links: list[str] = []
    for att in items if isinstance(items, list) else []:
        att = obj(att)
        payload = obj(att.get("payload"))
        url = text_of(payload.get("url")) or text_of(payload.get("story_media_url"))
        kind = att.get("type")
        if kind in _LINK_TYPES:
            link = text_of(att.get("url")) or url
            if link:
                links.append(link)
        elif url:
            media.append(MediaRef(url=url, content_type=_CONTENT_HINT.get(kind)))
    return media, links


# A hint only: media.py prefers the Content-Type the CDN answers with.
_CONTENT_HINT = {"image": "image/jpeg", "video": "video/mp4", "audio": "audio/mpeg"}


def _postback(
    postback: dict,
    sender: str,
    sent_at: datetime | None,
    where: str,
    inbox: MetaInbox,
    result: Normalized,
) -> None:
    """A tap on a button we sent: the customer's answer is the button's title."""
    text = text_of(postback.get("title")) or text_of(postback.get("payload")) or ""
    mid = as_id(postback.get("mid"))
    defects = []
    if not mid:
        mid = derived_id(inbox.dm_channel, inbox.inbox_id, sender, sent_at, postback.get("payload"))
        defects.append("no mid: external_id derived from sender, time and payload")
    result.add_message(
        inbox.private_message(
            external_id=mid,
            author=party(sender),
            text=text,
            sent_at=sent_at,
            metadata={inbox.customer_key: sender, "postback_payload": postback.get("payload")},
            defects=defects,
        ),
        where=where,
    )


def _receipt(
    kind: str,
    receipt: dict,
    customer: str,
    sent_at: datetime | None,
    where: str,
    inbox: MetaInbox,
    result: Normalized,
) -> None:
    """Messenger `delivery`/`read` (mids and/or a watermark) and Instagram `read` (a mid)."""
    mids = [m for m in (as_id(x) for x in receipt.get("mids") or []) if m]
    if as_id(receipt.get("mid")):
        mids.append(as_id(receipt["mid"]))
    watermark = first_time(receipt.get("watermark"))
    result.add_status(
        status(
            inbox.ctx,
            channel=inbox.dm_channel,
            inbox=inbox.inbox_id,
            status=kind,
            occurred_at=sent_at or watermark,
            external_ids=mids,
            recipient_id=customer,
            watermark=watermark,
        ),
        where,
    )
