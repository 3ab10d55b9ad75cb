"""WhatsApp Cloud API deliveries: `messages` and `statuses` of the `messages` field."""

from __future__ import annotations

from datetime import datetime

from social_ingest.accounts import Accounts, MetaApp, WhatsAppNumber
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
from social_ingest.normalize.result import Body, Context, MediaRef, Normalized, each, start

_MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
# Events that travel as `messages[]` but are not something a person wrote to us.
_NOT_MESSAGES = {
    "reaction": "a reaction to a message",
    "request_welcome": "the customer opened the chat for the first time",
    "system": "a system notice (e.g. the customer changed number)",
}
_STATUSES = {"sent", "delivered", "read", "failed"}


def normalize(
    body: Body,
    *,
    accounts: Accounts,
    app: MetaApp,
    received_at: datetime,
    raw_sha256: str,
) -> Normalized:
    """Normalize one WhatsApp Cloud API delivery: a message per message, a status per status."""
    result, data, ctx = start(body, received_at, raw_sha256)
    if data is None:
        return result
    if data.get("object") != "whatsapp_business_account":
        result.skip(f"not a WhatsApp delivery: object {data.get('object')!r}", "object")
        return result

    def entry(item: dict, where: str) -> None:
        waba_id = as_id(item.get("id"))
        each(
            item.get("changes"),
            f"{where}.changes",
            result,
            lambda change, path: _change(change, path, waba_id, accounts, app, ctx, result),
        )

    each(data.get("entry"), "entry", result, entry)
    return result


def _change(
    change: dict,
    where: str,
    waba_id: str | None,
    accounts: Accounts,
    app: MetaApp,
    ctx: Context,
    result: Normalized,
) -> None:
    value = obj(change.get("value"))
    # Cloud API always names the field; payloads relayed by BSPs sometimes drop it.
    if change.get("field", "messages") != "messages":
        result.skip(f"unsupported WhatsApp change field {change.get('field')!r}", where)
        return
    number_id = as_id(obj(value.get("metadata")).get("phone_number_id"))
    number = accounts.whatsapp_numbers.get(number_id or "")
    if number is None:
        result.skip(f"no whatsapp number {number_id!r} is configured", where)
        return
    if number.app != app.name:
        result.skip(f"whatsapp number {number_id} belongs to app {number.app!r}", where)
        return
    names = {
        as_id(c.get("wa_id")): text_of(obj(c.get("profile")).get("name"))
        for c in value.get("contacts") or []
        if isinstance(c, dict)
    }
    for i, error in enumerate(value.get("errors") or []):
        result.skip(f"whatsapp error: {_error_text(error)}", f"{where}.value.errors[{i}]")
    if "messages" in value:
        each(
            value["messages"],
            f"{where}.value.messages",
            result,
            lambda msg, path: _message(msg, path, number, waba_id, names, ctx, result),
        )
    if "statuses" in value:
        each(
            value["statuses"],
            f"{where}.value.statuses",
            result,
            lambda st, path: _status(st, path, number, ctx, result),
        )
    if not {"messages", "statuses", "errors"} & set(value):
        result.skip("change without messages, statuses or errors", where)


def _message(
    msg: dict,
    where: str,
    number: WhatsAppNumber,
    waba_id: str | None,
    names: dict,
    ctx: Context,
    result: Normalized,
) -> None:
    wa_id = as_id(msg.get("from"))
    kind = text_of(msg.get("type")) or "unknown"
    if not wa_id:
        result.skip("whatsapp message without from", where)
        return
    if kind in _NOT_MESSAGES:
        result.ignore(f"whatsapp {kind}: {_NOT_MESSAGES[kind]}", where)
        return
    text, media, extra = _content(msg, kind)
    defects = [f"whatsapp error: {_error_text(e)}" for e in msg.get("errors") or []]
    if text is None:
        text = ""
        defects.append(f"unsupported message type {kind!r}")
    sent_at = first_time(msg.get("timestamp"))
    wamid = as_id(msg.get("id"))
    if not wamid:
        wamid = derived_id("whatsapp", number.phone_number_id, wa_id, msg.get("timestamp"), text)
        defects.append("no message id: external_id derived from sender, time and text")
    context = obj(msg.get("context"))
    result.add_message(
        message(
            ctx,
            channel="whatsapp",
            inbox=number.phone_number_id,
            external_id=wamid,
            visibility="private",
            author=party(wa_id, handle=f"+{wa_id}", display_name=names.get(wa_id)),
            text=text,
            sent_at=sent_at,
            parent_id=as_id(context.get("id")),
            metadata={
                "phone_number_id": number.phone_number_id,
                "display_phone_number": number.display_phone_number,
                "waba_id": waba_id,
                "wa_id": wa_id,
                "message_type": kind,
                "context_message_id": as_id(context.get("id")),
                "forwarded": True if context.get("forwarded") else None,
                "referral": obj(msg.get("referral")) or None,
                **extra,
            },
            defects=defects,
        ),
        media,
        where,
    )


def _content(msg: dict, kind: str) -> tuple[str | None, list[MediaRef], dict]:
    """Return the text an agent reads, the files to fetch, and metadata for a reply."""
    part = obj(msg.get(kind))
    if kind == "text":
        return text_of(part.get("body")) or "", [], {}
    if kind in _MEDIA_TYPES:
        ref = MediaRef(
            url=None,
            kind="whatsapp_media",
            media_id=as_id(part.get("id")),
            content_type=text_of(part.get("mime_type")),
            filename=text_of(part.get("filename")),
        )
        return text_of(part.get("caption")) or "", [ref] if ref.media_id else [], {}
    if kind == "location":
        place = ", ".join(p for p in (text_of(part.get("name")), text_of(part.get("address"))) if p)
        where = f"{part.get('latitude')}, {part.get('longitude')}"
        return f"Location: {place} ({where})" if place else f"Location: {where}", [], {}
    if kind == "contacts":
        return _contacts(msg.get("contacts")), [], {}
    if kind == "interactive":
        reply = obj(part.get("button_reply")) or obj(part.get("list_reply"))
        title = text_of(reply.get("title")) or text_of(obj(part.get("nfm_reply")).get("body"))
        return title or "", [], {"interactive_reply_id": as_id(reply.get("id"))}
    if kind == "button":
        return text_of(part.get("text")) or "", [], {"button_payload": text_of(part.get("payload"))}
    return None, [], {}


def _contacts(cards: object) -> str:
    lines = []
    for card in cards if isinstance(cards, list) else []:
        name = text_of(obj(obj(card).get("name")).get("formatted_name")) or "contact"
        phones = [text_of(obj(p).get("phone")) for p in obj(card).get("phones") or []]
        lines.append(" ".join([f"{name}:", *[p for p in phones if p]]))
    return "Shared contacts:\n" + "\n".join(lines) if lines else "Shared contacts"


def _status(st: dict, where: str, number: WhatsAppNumber, ctx: Context, result: Normalized) -> None:
    state = st.get("status")
    if state not in _STATUSES:
        result.ignore(f"whatsapp status {state!r} is not tracked", where)
        return
    errors = st.get("errors") or []
    result.add_status(
        status(
            ctx,
            channel="whatsapp",
            inbox=number.phone_number_id,
            status=state,
            occurred_at=first_time(st.get("timestamp")),
            external_ids=[as_id(st.get("id")) or ""],
            recipient_id=as_id(st.get("recipient_id")),
            reason="; ".join(_error_text(e) for e in errors) or None,
        ),
        where,
    )


def _error_text(error: object) -> str:
    error = obj(error)
    details = text_of(obj(error.get("error_data")).get("details")) or text_of(error.get("details"))
    text = f"{error.get('code')} {error.get('title') or error.get('message') or ''}".strip()
    return f"{text}: {details}" if details else text
