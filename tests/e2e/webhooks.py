"""Signed webhooks of every network as the e2e scenarios send them, each with fresh ids.

Each builder returns an `Inbound`: the social-ingest path it is posted to, the signed request,
and the `external_id` the stored message will carry.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import requests

from tests.e2e.system import PAGE_ID, X_USER_ID, System
from tests.simulators import api_channel, meta, telegram, whatsapp, x
from tests.simulators.delivery import Delivery


@dataclass(frozen=True)
class Inbound:
    """One webhook request and the message it becomes."""

    path: str
    delivery: Delivery
    external_id: str

    def send(self, system: System) -> requests.Response:
        """Post it to social-ingest; fail unless it is accepted."""
        response = self.delivery.send(system.session, system.url("social-ingest") + self.path)
        assert response.status_code == 200, f"{self.path}: {response.status_code} {response.text}"
        return response


def now_ms() -> int:
    return int(time.time() * 1000)


def fresh_digits(length: int = 12) -> str:
    """A numeric id no other test uses."""
    return str(uuid.uuid4().int)[:length]


def messenger(psid: str, text: str) -> Inbound:
    """A customer's Messenger DM to our page."""
    mid = "m_" + uuid.uuid4().hex
    event = meta.text_message(psid, PAGE_ID, mid, text, now_ms())
    body = meta.envelope("page", meta.entry(PAGE_ID, now_ms(), messaging=[event]))
    return Inbound("/webhooks/meta/main", meta.delivery(body), mid)


def messenger_echo(psid: str, mid: str, text: str) -> Inbound:
    """Our page's own Send API message, seen again by the webhook (sent by our app)."""
    event = meta.echo(PAGE_ID, psid, mid, text, now_ms())
    body = meta.envelope("page", meta.entry(PAGE_ID, now_ms(), messaging=[event]))
    return Inbound("/webhooks/meta/main", meta.delivery(body), mid)


def page_comment(author: tuple[str, str], post: str, comment: str, text: str, **kw) -> Inbound:
    """A comment on our page's post (`author` is (id, name); the page itself for our own)."""
    change = meta.feed_comment(PAGE_ID, post, comment, author, text, int(time.time()), **kw)
    body = meta.envelope("page", meta.entry(PAGE_ID, now_ms(), changes=[change]))
    return Inbound("/webhooks/meta/main", meta.delivery(body), f"{post}_{comment}")


def whatsapp_text(wa_id: str, text: str) -> Inbound:
    wamid = "wamid." + uuid.uuid4().hex
    message = whatsapp.text_message(wa_id, wamid, text, int(time.time()))
    body = whatsapp.envelope(whatsapp.change(messages=[message], contacts=[(wa_id, "Wanda")]))
    return Inbound("/webhooks/whatsapp/main", whatsapp.delivery(body), wamid)


def x_dm(sender: tuple[str, str], text: str) -> Inbound:
    """A DM to our X account from `sender` (id, screen name)."""
    event_id = fresh_digits(18)
    event = x.direct_message(event_id, sender[0], X_USER_ID, text, now_ms())
    users = {
        sender[0]: x.dm_user(sender[0], sender[1], sender[1].title()),
        X_USER_ID: x.dm_user(X_USER_ID, "TwitterDev", "Twitter Dev"),
    }
    body = x.envelope(direct_message_events=[event], users=users)
    return Inbound("/webhooks/x/main", x.delivery(body), event_id)


def x_mention(sender: tuple[str, str], text: str) -> Inbound:
    tweet_id = fresh_digits(18)
    author = x.user(sender[0], sender[1], sender[1].title())
    tweet = x.tweet(
        tweet_id, author, f"@TwitterDev {text}", now_ms(), mentions=[(X_USER_ID, "TwitterDev", "X")]
    )
    body = x.envelope(tweet_create_events=[tweet])
    return Inbound("/webhooks/x/main", x.delivery(body), tweet_id)


def telegram_text(user_id: int, text: str) -> Inbound:
    sender, chat = telegram.private_chat(user_id, "Tom")
    message_id = int(fresh_digits(6))
    update = telegram.message_update(
        int(fresh_digits(9)), message_id, sender, chat, int(time.time()), text=text
    )
    return Inbound(
        f"/webhooks/telegram/{telegram.BOT_ID}",
        telegram.delivery(update),
        f"{user_id}:{message_id}",
    )


def api_message(author_id: str, text: str) -> Inbound:
    message_id = f"form-{uuid.uuid4().hex[:12]}"
    payload = api_channel.message(message_id, author_id, text)
    return Inbound(
        f"/webhooks/api/{api_channel.SOURCE}",
        api_channel.delivery(payload, int(time.time())),
        message_id,
    )
