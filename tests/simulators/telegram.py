"""Telegram Bot API webhooks (channels.md section 3.2): one update per request."""

from __future__ import annotations

from typing import Any

from tests.simulators.delivery import Delivery, encode

BOT_ID = "7000000001"
BOT_TOKEN = f"{BOT_ID}:AAH-test-token"
SECRET_TOKEN = "test_secret_token-1"


def delivery(update: dict, secret_token: str | None = SECRET_TOKEN) -> Delivery:
    """Serialise an update with the `X-Telegram-Bot-Api-Secret-Token` set by setWebhook."""
    headers = {"Content-Type": "application/json"}
    if secret_token is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
    return Delivery(encode(update), headers)


def private_chat(user_id: int, first_name: str, username: str | None = None) -> tuple[dict, dict]:
    """The `from` user and the private `chat` of a one-to-one conversation with the bot."""
    sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    chat: dict[str, Any] = {"id": user_id, "first_name": first_name}
    if username is not None:
        sender["username"] = username
        chat["username"] = username
    sender["language_code"] = "en"
    chat["type"] = "private"
    return sender, chat


def message_update(
    update_id: int,
    message_id: int,
    sender: dict | None,
    chat: dict,
    date: int,
    *,
    text: str | None = None,
    kind: str = "message",
    reply_to: dict | None = None,
    **extra: Any,
) -> dict:
    """An update carrying a `message` (or `channel_post`: no `from`)."""
    message: dict[str, Any] = {"message_id": message_id}
    if sender is not None:
        message["from"] = sender
    message.update({"chat": chat, "date": date})
    if text is not None:
        message["text"] = text
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    message.update(extra)
    return {"update_id": update_id, kind: message}
