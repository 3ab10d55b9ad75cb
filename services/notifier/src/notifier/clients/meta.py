"""Graph API replies (channels.md 1.8): Messenger and Instagram DMs, Page and Instagram comment
replies, and private replies to a comment.

    messenger, instagram_dm          POST /{account}/messages     recipient.id, messaging_type
    facebook_comment  public         POST /{comment}/comments     message
    facebook_comment  private        POST /{page}/messages        recipient.comment_id
    instagram_comment public         POST /{comment}/replies      ?message=
    instagram_comment private        POST /{ig account}/messages  recipient.comment_id
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from notifier import reply_window
from notifier.accounts import Tokens
from notifier.clients.http import Answer, ApiClient, Timeouts
from notifier.delivery_errors import Delivered, PermanentFailure, WindowClosed
from notifier.provider_errors import graph_error

log = logging.getLogger(__name__)

CHANNELS = ("messenger", "facebook_comment", "instagram_dm", "instagram_comment")
_PRODUCTS = {
    "messenger": "Messenger",
    "facebook_comment": "Facebook",
    "instagram_dm": "Instagram",
    "instagram_comment": "Instagram",
}


class GraphClient(ApiClient):
    """Send replies through the Graph API with each account's token."""

    def __init__(
        self,
        base_url: str,
        tokens: Tokens,
        timeouts: Timeouts,
        human_agent_allowed: bool = True,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(base_url, tokens, timeouts, now)
        self.human_agent_allowed = human_agent_allowed

    provider = "the Graph API"

    def rate_key(self, reply: dict) -> str:
        """Meta throttles per app and Page: hold back one account's replies together."""
        return f"meta:{reply['inbox']}"

    def send(self, reply: dict) -> Delivered:
        """Send one reply on its Meta channel."""
        channel = reply["channel"]
        if channel in ("messenger", "instagram_dm"):
            return self._direct_message(reply)
        comment = _required(reply, "in_reply_to", "the comment being answered")
        if reply["visibility"] == "private":
            return self._private_reply(reply, comment)
        if channel == "facebook_comment":
            answer = self._post(reply, f"{comment}/comments", json={"message": reply["text"]})
        else:
            # Instagram takes the text in the query string (IG Comment Replies reference).
            answer = self._post(reply, f"{comment}/replies", params={"message": reply["text"]})
        return Delivered(_id(answer, "id"))

    def _direct_message(self, reply: dict) -> Delivered:
        human_agent = reply_window.may_tag_human_agent(
            reply.get("automatic", False), self.human_agent_allowed
        )
        last = _parse_time(reply.get("metadata", {}).get("last_customer_message_at"))
        kind, tag = reply_window.messaging_type(last, self.now(), human_agent)
        try:
            return self._send_message(reply, kind, tag)
        except WindowClosed:
            if tag is not None or not human_agent:
                raise
            # The provider knows the window better than we do; a refused send was not
            # delivered, so trying again at once with the tag cannot duplicate it.
            log.info(
                "24-hour window closed for reply %s; retrying with HUMAN_AGENT", reply["reply_id"]
            )
            return self._send_message(reply, *reply_window.HUMAN_AGENT)

    def _send_message(self, reply: dict, kind: str, tag: str | None) -> Delivered:
        body: dict = {
            "recipient": {"id": reply["recipient"]["external_id"]},
            "messaging_type": kind,
            "message": {"text": reply["text"]},
            # Echoed back in the message_echoes webhook: the inbox recognises its own reply.
            "metadata": f"switchboard:reply:{reply['reply_id']}",
        }
        if tag:
            body["tag"] = tag
        answer = self._post(reply, f"{reply['inbox']}/messages", json=body)
        return Delivered(_id(answer, "message_id"))

    def _private_reply(self, reply: dict, comment: str) -> Delivered:
        body = {"recipient": {"comment_id": comment}, "message": {"text": reply["text"]}}
        answer = self._post(reply, f"{reply['inbox']}/messages", json=body)
        return Delivered(_id(answer, "message_id"))

    def _post(self, reply: dict, path: str, **kwargs) -> Answer:
        token = self.tokens.for_account("meta", reply["inbox"])
        answer = self.api.post(
            f"{self.base_url}/{path}", headers={"Authorization": f"Bearer {token}"}, **kwargs
        )
        if not answer.ok or not isinstance(answer.body, dict) or "error" in answer.body:
            raise graph_error(
                answer.status, answer.body, answer.headers, self.now(), _PRODUCTS[reply["channel"]]
            )
        return answer


def _id(answer: Answer, key: str) -> str | None:
    """The new object's id; an accepted answer without one is still a delivery."""
    value = answer.body.get(key)
    return None if value is None else str(value)


def _required(reply: dict, key: str, what: str) -> str:
    value = reply.get(key)
    if not value:
        raise PermanentFailure(f"the reply does not say {what} ({key} is empty)")
    return str(value)


def _parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
