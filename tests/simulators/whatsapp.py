"""WhatsApp Cloud API webhooks (channels.md section 3.1): messages and statuses.

Same envelope, handshake and `X-Hub-Signature-256` as the rest of Meta (see meta.py).
"""

from __future__ import annotations

from typing import Any

from tests.simulators.delivery import Delivery
from tests.simulators.meta import APP_SECRET
from tests.simulators.meta import delivery as meta_delivery

WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_PHONE_NUMBER = "15550783881"


def envelope(*changes: dict, waba_id: str = WABA_ID) -> dict:
    """One entry for the business account with its `changes` (each a `messages` field)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": list(changes)}],
    }


def change(
    *,
    messages: list[dict] | None = None,
    statuses: list[dict] | None = None,
    contacts: list[tuple[str, str]] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
    display_phone_number: str = DISPLAY_PHONE_NUMBER,
) -> dict:
    """A `messages` field change: inbound messages (with contacts) and/or statuses."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": display_phone_number,
            "phone_number_id": phone_number_id,
        },
    }
    if contacts is not None:
        value["contacts"] = [
            {"profile": {"name": name}, "wa_id": wa_id} for wa_id, name in contacts
        ]
    if messages is not None:
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return {"field": "messages", "value": value}


def text_message(
    wa_id: str, wamid: str, body: str, timestamp: int, *, context_id: str | None = None
) -> dict:
    """An inbound text; `context_id` makes it a reply quoting that message."""
    message: dict[str, Any] = {"from": wa_id, "id": wamid, "timestamp": str(timestamp)}
    if context_id is not None:
        message["context"] = {"from": DISPLAY_PHONE_NUMBER, "id": context_id}
    message.update({"type": "text", "text": {"body": body}})
    return message


def media_message(
    wa_id: str,
    wamid: str,
    media_id: str,
    timestamp: int,
    *,
    kind: str = "image",
    mime_type: str = "image/jpeg",
    caption: str | None = None,
    filename: str | None = None,
) -> dict:
    """An inbound image/document/...: the file is fetched later by its media id."""
    media: dict[str, Any] = {"id": media_id, "mime_type": mime_type, "sha256": "0" * 44}
    if caption is not None:
        media["caption"] = caption
    if filename is not None:
        media["filename"] = filename
    return {"from": wa_id, "id": wamid, "timestamp": str(timestamp), "type": kind, kind: media}


def status(
    wamid: str,
    state: str,
    timestamp: int,
    recipient_id: str,
    *,
    errors: list[dict] | None = None,
) -> dict:
    """A status of a message we sent: sent, delivered, read or failed (with `errors`)."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": state,
        "timestamp": str(timestamp),
        "recipient_id": recipient_id,
    }
    if state != "failed":
        item["conversation"] = {
            "id": "6ceb9d929c4f4c1c7b6d5b4f3f1b9e8a",
            "origin": {"type": "service"},
        }
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    if errors is not None:
        item["errors"] = errors
    return item


def delivery(payload: dict, app_secret: str = APP_SECRET) -> Delivery:
    """Serialise and sign as Meta does."""
    return meta_delivery(payload, app_secret)
