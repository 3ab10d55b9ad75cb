"""Telegram Bot API replies (channels.md 3.2): sendMessage replying to the customer's message.

Telegram numbers messages per chat, so ids are `<chat_id>:<message_id>` both ways, as
social-ingest writes them: `in_reply_to` names the customer's message, and the delivered id
is the bot's message in the same form.
"""

from __future__ import annotations

from notifier.clients.http import ApiClient
from notifier.delivery_errors import Delivered, PermanentFailure
from notifier.provider_errors import telegram_error


class TelegramClient(ApiClient):
    """Send replies with each bot's token."""

    provider = "Telegram"

    def rate_key(self, reply: dict) -> str:
        """Telegram throttles per bot."""
        return f"telegram:{reply['inbox']}"

    def send(self, reply: dict) -> Delivered:
        """sendMessage to the chat, as a reply to the customer's message when it is known."""
        chat_id, message_id = _target(reply)
        body: dict = {"chat_id": chat_id, "text": reply["text"]}
        if message_id is not None:
            # Still sent if the customer deleted their message meanwhile.
            body["reply_parameters"] = {
                "message_id": message_id,
                "allow_sending_without_reply": True,
            }
        token = self.tokens.for_account("telegram", reply["inbox"])
        answer = self.api.post(f"{self.base_url}/bot{token}/sendMessage", json=body)
        body = answer.body if isinstance(answer.body, dict) else {}
        if not answer.ok or body.get("ok") is not True:
            raise telegram_error(answer.status, answer.body, self.now())
        result = body.get("result") or {}
        sent_chat = (result.get("chat") or {}).get("id", chat_id)
        sent_id = result.get("message_id")
        return Delivered(None if sent_id is None else f"{sent_chat}:{sent_id}")


def _target(reply: dict) -> tuple[int | str, int | None]:
    """The chat to write to and the customer's message to reply to."""
    chat: object = reply.get("metadata", {}).get("chat_id")
    message_id: int | None = None
    answered = str(reply.get("in_reply_to") or "")
    if ":" in answered:
        answered_chat, _, answered_id = answered.rpartition(":")
        chat = chat if chat not in (None, "") else answered_chat
        answered = answered_id
    if answered.lstrip("-").isdigit():
        message_id = int(answered)
    if chat in (None, ""):
        chat = reply["recipient"]["external_id"]
    chat_text = str(chat)
    if not chat_text.lstrip("-").isdigit() and not chat_text.startswith("@"):
        raise PermanentFailure(f"{chat_text!r} is not a Telegram chat id")
    return (int(chat_text) if chat_text.lstrip("-").isdigit() else chat_text), message_id
