"""WhatsApp Cloud API replies (channels.md 3.1): a text message quoting the customer's."""

from __future__ import annotations

from notifier.clients.http import ApiClient
from notifier.delivery_errors import Delivered
from notifier.provider_errors import graph_error


class WhatsAppClient(ApiClient):
    """Send replies from each phone number with its token."""

    provider = "WhatsApp"

    def rate_key(self, reply: dict) -> str:
        """Throughput limits apply per phone number."""
        return f"whatsapp:{reply['inbox']}"

    def send(self, reply: dict) -> Delivered:
        """Send one text reply; `in_reply_to` (a wamid) is quoted as its context."""
        body: dict = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": reply["recipient"]["external_id"],
            "type": "text",
            "text": {"preview_url": False, "body": reply["text"]},
            # Echoed in status webhooks, so a receipt names the reply it is about.
            "biz_opaque_callback_data": f"switchboard:reply:{reply['reply_id']}",
        }
        if reply.get("in_reply_to"):
            body["context"] = {"message_id": reply["in_reply_to"]}
        token = self.tokens.for_account("whatsapp", reply["inbox"])
        answer = self.api.post(
            f"{self.base_url}/{reply['inbox']}/messages",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        if not answer.ok or not isinstance(answer.body, dict) or "error" in answer.body:
            raise graph_error(answer.status, answer.body, answer.headers, self.now(), "WhatsApp")
        messages = answer.body.get("messages") or [{}]
        wamid = messages[0].get("id") if isinstance(messages[0], dict) else None
        return Delivered(wamid)
