"""X API v2 replies (channels.md 2.4, 2.5): a post replying to the customer's, or a DM.

Every answer carries `x-rate-limit-remaining` and `x-rate-limit-reset`: when the quota is spent
the client says so with the delivery, so the next reply waits for the reset instead of
collecting a 429.
"""

from __future__ import annotations

from datetime import UTC, datetime

from notifier.clients.http import Answer, ApiClient
from notifier.delivery_errors import Delivered, PermanentFailure
from notifier.provider_errors import x_error


class XClient(ApiClient):
    """Post replies and DMs with each account's user-context token."""

    provider = "X"

    def rate_key(self, reply: dict) -> str:
        """X counts posts and DMs per user and endpoint."""
        return f"x:{reply['inbox']}:{reply['channel']}"

    def send(self, reply: dict) -> Delivered:
        """Reply to a post (`x_mention`) or in a DM conversation (`x_dm`)."""
        if reply["channel"] == "x_dm":
            participant = reply["recipient"]["external_id"]
            answer = self._post(
                reply, f"/2/dm_conversations/with/{participant}/messages", {"text": reply["text"]}
            )
            return self._delivered(answer, "dm_event_id")
        tweet = reply.get("in_reply_to")
        if not tweet:
            raise PermanentFailure("the reply does not say which post it answers")
        body = {"text": reply["text"], "reply": {"in_reply_to_tweet_id": str(tweet)}}
        return self._delivered(self._post(reply, "/2/tweets", body), "id")

    def _post(self, reply: dict, path: str, body: dict) -> Answer:
        token = self.tokens.for_account("x", reply["inbox"])
        answer = self.api.post(
            self.base_url + path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        data = answer.body.get("data") if isinstance(answer.body, dict) else None
        if not answer.ok or not isinstance(data, dict):
            raise x_error(answer.status, answer.body, answer.headers, self.now())
        return answer

    def _delivered(self, answer: Answer, key: str) -> Delivered:
        remaining = _lower(answer.headers).get("x-rate-limit-remaining")
        reset = _lower(answer.headers).get("x-rate-limit-reset")
        quota_reset = None
        if remaining == "0" and reset and reset.isdigit():
            quota_reset = datetime.fromtimestamp(int(reset), UTC)
        value = answer.body["data"].get(key)
        return Delivered(None if value is None else str(value), quota_reset=quota_reset)


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
