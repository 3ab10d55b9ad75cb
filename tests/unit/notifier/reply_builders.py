"""`reply.requested/1` payloads for each channel the notifier sends on, as the inbox makes them."""

from __future__ import annotations

import uuid
from typing import Any

from switchboard_shared.schemas import REPLY_REQUESTED
from tests.support.builders import reply_requested

# Account ids the simulators are configured with (channels.md examples).
PAGE_ID = "682498302938465"
IG_ID = "17841405309211844"
PHONE_NUMBER_ID = "106540352242922"
X_USER_ID = "2244994945"
BOT_ID = "7000000001"
BOT_TOKEN = f"{BOT_ID}:AAH-test-bot-token"


def loaded(payload: dict) -> dict:
    """The payload as a handler receives it: validated and loaded through the JSON schema."""
    return REPLY_REQUESTED.load(REPLY_REQUESTED.validate(payload))


def email_reply(**overrides: Any) -> dict:
    """An agent's email reply to a customer's message in a thread of two."""
    conversation = str(uuid.uuid4())
    payload = reply_requested(
        channel="email",
        inbox="support@acme.example",
        conversation_id=conversation,
        recipient={"external_id": "jane@example.org", "email": "jane@example.org"},
        subject="[#8812] Where is my order?",
        text="Hi Jane,\n\nyour order shipped today.\n\nGrace",
        html="<p>Hi Jane,</p><p>your order <b>shipped</b> today.</p><p>Grace</p>",
        in_reply_to="<CAF=abc123@mail.gmail.com>",
        agent={"id": "agent-7", "display_name": "Grace Hopper"},
        email={
            "message_id": f"<conv-{conversation}.reply-{uuid.uuid4().hex[:8]}@mail.acme.example>",
            "in_reply_to": "<CAF=abc123@mail.gmail.com>",
            "references": ["<CAF=first@mail.gmail.com>", "<conv-8812.msg-3@mail.acme.example>"],
            "sender": {"email": "support@acme.example", "display_name": "Acme Support"},
            "reply_to": {"email": f"reply+{conversation}@in.acme.example"},
            "to": [{"email": "jane@example.org", "display_name": "Jane Customer"}],
            "cc": [{"email": "ops@example.org", "display_name": None}],
        },
    )
    payload.update(overrides)
    return payload


_SOCIAL: dict[str, dict[str, Any]] = {
    "messenger": {"inbox": PAGE_ID, "recipient": {"external_id": "1254459154682919"}},
    "instagram_dm": {"inbox": IG_ID, "recipient": {"external_id": "6513927395316798"}},
    "facebook_comment": {
        "inbox": PAGE_ID,
        "visibility": "public",
        "recipient": {"external_id": "7012345678901234"},
        "in_reply_to": "122131676912594941_1213590066982748",
    },
    "instagram_comment": {
        "inbox": IG_ID,
        "visibility": "public",
        "recipient": {"external_id": "6513927395316798"},
        "in_reply_to": "17919697626119712",
    },
    "whatsapp": {
        "inbox": PHONE_NUMBER_ID,
        "recipient": {"external_id": "16505551234"},
        "in_reply_to": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
    },
    "x_mention": {
        "inbox": X_USER_ID,
        "visibility": "public",
        "recipient": {"external_id": "3001969357", "handle": "furiouscamper"},
        "in_reply_to": "1307025659294674945",
    },
    "x_dm": {"inbox": X_USER_ID, "recipient": {"external_id": "3001969357"}},
    "telegram": {
        "inbox": BOT_ID,
        "recipient": {"external_id": "52147321"},
        "in_reply_to": "52147321:1187",
        "metadata": {"chat_id": 52147321},
    },
}
SOCIAL_CHANNELS = tuple(_SOCIAL)


def social_reply(channel: str, **overrides: Any) -> dict:
    """An agent's reply on a social channel, addressed as channels.md's examples are."""
    fields = {"visibility": "private", **_SOCIAL[channel]}
    payload = reply_requested(
        channel=channel,
        text="Sorry about that, it ships tomorrow.",
        agent={"id": "agent-7", "display_name": "Grace Hopper"},
        **fields,
    )
    payload.update(overrides)
    return payload
