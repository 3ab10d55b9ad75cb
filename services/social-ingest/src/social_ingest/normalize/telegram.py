"""Telegram Bot API updates (one per webhook request): messages, channel posts, button taps.

external_id is `<chat_id>:<message_id>`, not the update id: Telegram numbers messages per chat,
so the pair is unique for the bot; it is the same whether the message arrives by webhook or
by getUpdates, and it is what a reply quotes (`reply_parameters.message_id` in that chat).
update_id would dedup webhook retries too, but after a week without updates Telegram picks
the next update id at random, so an old id can come back for another message.
"""

from __future__ import annotations

from datetime import datetime

from social_ingest.accounts import TelegramBot
from social_ingest.normalize.payload import as_id, first_time, message, obj, party, text_of
from social_ingest.normalize.result import Body, Context, MediaRef, Normalized, start

_MESSAGE_KINDS = ("message", "channel_post", "business_message")
_EDIT_KINDS = ("edited_message", "edited_channel_post", "edited_business_message")
# File fields of a Message, with the content type to assume when Telegram gives none.
_FILE_KINDS = {
    "document": None,
    "audio": "audio/mpeg",
    "voice": "audio/ogg",
    "video": "video/mp4",
    "video_note": "video/mp4",
    "animation": "video/mp4",
    "sticker": "image/webp",
}


def normalize(
    body: Body,
    *,
    bot: TelegramBot,
    received_at: datetime,
    raw_sha256: str,
) -> Normalized:
    """Normalize one Telegram update sent to `bot`'s webhook."""
    result, data, ctx = start(body, received_at, raw_sha256)
    if data is None:
        return result
    where = f"update {data.get('update_id')}"
    with result.guard(where):
        for kind in _MESSAGE_KINDS:
            if isinstance(data.get(kind), dict):
                _message(data[kind], kind, data.get("update_id"), where, bot, ctx, result)
                return result
        if isinstance(data.get("callback_query"), dict):
            _callback(data["callback_query"], data.get("update_id"), where, bot, ctx, result)
        elif any(kind in data for kind in _EDIT_KINDS):
            result.ignore("an edit of a message already ingested", where)
        else:
            kinds = sorted(k for k in data if k != "update_id") or ["nothing"]
            result.skip(f"telegram update kind not ingested: {', '.join(kinds)}", where)
    return result


def _message(
    msg: dict,
    kind: str,
    update_id: object,
    where: str,
    bot: TelegramBot,
    ctx: Context,
    result: Normalized,
) -> None:
    chat = obj(msg.get("chat"))
    chat_id, message_id = as_id(chat.get("id")), as_id(msg.get("message_id"))
    if not chat_id or not message_id:
        result.skip("telegram message without chat.id and message_id", where)
        return
    # Channel posts have no `from`: the channel (or the chat a post was signed as) speaks.
    author = _party(obj(msg.get("from")) or obj(msg.get("sender_chat")) or chat)
    text = text_of(msg.get("text")) or text_of(msg.get("caption")) or _describe(msg)
    reply = obj(msg.get("reply_to_message"))
    reply_id = as_id(reply.get("message_id"))
    command = None
    for entity in msg.get("entities") or []:
        if obj(entity).get("type") == "bot_command" and obj(entity).get("offset") == 0:
            command = text[: obj(entity).get("length") or len(text)]
    result.add_message(
        message(
            ctx,
            channel="telegram",
            inbox=bot.bot_id,
            external_id=f"{chat_id}:{message_id}",
            # A private chat is a DM; groups and channels are read by all their members.
            visibility="private" if chat.get("type") == "private" else "public",
            author=author,
            text=text,
            sent_at=first_time(msg.get("date")),
            parent_id=f"{chat_id}:{reply_id}" if reply_id else None,
            metadata={
                "chat_id": chat.get("id"),
                "chat_type": text_of(chat.get("type")),
                "message_id": msg.get("message_id"),
                "message_thread_id": msg.get("message_thread_id"),
                "update_id": update_id,
                "update_kind": kind,
                "bot_command": command,
                "business_connection_id": text_of(msg.get("business_connection_id")),
            },
        ),
        _media(msg),
        where,
    )


def _callback(
    query: dict,
    update_id: object,
    where: str,
    bot: TelegramBot,
    ctx: Context,
    result: Normalized,
) -> None:
    """A tap on an inline keyboard button: the customer's answer is the button's data."""
    user = obj(query.get("from"))
    msg = obj(query.get("message"))
    chat = obj(msg.get("chat"))
    chat_id = chat.get("id", user.get("id"))
    query_id = as_id(query.get("id"))
    if not query_id or not as_id(user.get("id")):
        result.skip("callback_query without id and from.id", where)
        return
    message_id = as_id(msg.get("message_id"))
    result.add_message(
        message(
            ctx,
            channel="telegram",
            inbox=bot.bot_id,
            external_id=f"callback:{query_id}",
            visibility="private" if chat.get("type", "private") == "private" else "public",
            author=_party(user),
            text=text_of(query.get("data")) or "",
            sent_at=None,
            parent_id=f"{chat_id}:{message_id}" if message_id else None,
            metadata={
                "chat_id": chat_id,
                "chat_type": text_of(chat.get("type")),
                "message_id": msg.get("message_id"),
                "callback_query_id": query_id,
                "update_id": update_id,
                "update_kind": "callback_query",
            },
        ),
        where=where,
    )


def _party(who: dict) -> dict:
    """A user (first and last name) or a chat (its title) as a party."""
    names = [text_of(who.get("first_name")), text_of(who.get("last_name"))]
    display = text_of(who.get("title")) or " ".join(n for n in names if n) or None
    return party(as_id(who.get("id")) or "unknown", text_of(who.get("username")), display)


def _describe(msg: dict) -> str:
    """Text for messages that have none: places, contacts, stickers, polls."""
    venue, location, contact = (
        obj(msg.get("venue")),
        obj(msg.get("location")),
        obj(msg.get("contact")),
    )
    if venue:
        return ", ".join(
            p for p in ("Venue: " + (venue.get("title") or ""), venue.get("address")) if p
        )
    if location:
        return f"Location: {location.get('latitude')}, {location.get('longitude')}"
    if contact:
        name = " ".join(n for n in (contact.get("first_name"), contact.get("last_name")) if n)
        return " ".join(p for p in ("Contact:", name, contact.get("phone_number")) if p)
    if msg.get("sticker"):
        return text_of(obj(msg["sticker"]).get("emoji")) or ""
    if msg.get("poll"):
        return "Poll: " + (text_of(obj(msg["poll"]).get("question")) or "")
    return ""


def _media(msg: dict) -> list[MediaRef]:
    """Files by file_id (fetched later with getFile); of a photo, the largest size only."""
    refs = []
    sizes = [p for p in msg.get("photo") or [] if isinstance(p, dict) and p.get("file_id")]
    if sizes:
        best = max(sizes, key=lambda p: (p.get("width") or 0) * (p.get("height") or 0))
        refs.append(_file(best, "image/jpeg"))
    for kind, default_type in _FILE_KINDS.items():
        item = obj(msg.get(kind))
        if item.get("file_id"):
            refs.append(_file(item, _sticker_type(item) if kind == "sticker" else default_type))
    return refs


def _sticker_type(sticker: dict) -> str:
    if sticker.get("is_animated"):
        return "application/x-tgsticker"
    return "video/webm" if sticker.get("is_video") else "image/webp"


def _file(item: dict, default_type: str | None) -> MediaRef:
    return MediaRef(
        url=None,
        kind="telegram_file",
        media_id=item["file_id"],
        content_type=text_of(item.get("mime_type")) or default_type,
        filename=text_of(item.get("file_name")),
        size=item.get("file_size") if isinstance(item.get("file_size"), int) else None,
    )
