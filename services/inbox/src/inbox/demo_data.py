"""Demo conversations for `make run`: a few customers on several channels.

The events carry fixed provider ids, so seeding again is harmless: the worker deduplicates.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from switchboard_shared.schemas import MESSAGE_RECEIVED, Event

SUPPORT = "support@switchboard.local"
_CONVERSATIONS = [
    (
        "email",
        {"external_id": "ada@example.net", "email": "ada@example.net", "display_name": "Ada"},
        "My order #1042 has not arrived",
        [
            "Hello, my order #1042 was due on Monday and has not arrived. Can you check?",
            "Any news? The tracking page still says 'label created'.",
        ],
    ),
    (
        "email",
        {"external_id": "grace@example.org", "email": "grace@example.org", "display_name": "Grace"},
        "Invoice address",
        ["Could you change the billing address on my last invoice to our new office?"],
    ),
    (
        "messenger",
        {"external_id": "psid-demo-7", "display_name": "Linus"},
        None,
        ["Hi! Do you ship to Norway?", "And how long does it usually take?"],
    ),
    (
        "telegram",
        {"external_id": "tg-demo-3", "handle": "margaret", "display_name": "Margaret"},
        None,
        ["The app crashes when I open my order history."],
    ),
]
_INBOXES = {"email": SUPPORT, "messenger": "page-demo", "telegram": "bot-demo"}


def demo_events(now: datetime | None = None) -> list[Event]:
    """message.received events for the demo conversations, oldest first."""
    start = (now or datetime.now(UTC)) - timedelta(hours=3)
    events = []
    for number, (channel, author, subject, texts) in enumerate(_CONVERSATIONS):
        previous = None
        for index, text in enumerate(texts):
            sent = start + timedelta(minutes=40 * number + 15 * index)
            external_id = f"demo-{number}-{index}"
            if channel == "email":
                external_id = f"<demo-{number}-{index}@example.net>"
            payload = {
                "channel": channel,
                "inbox": _INBOXES[channel],
                "external_id": external_id,
                "visibility": "private",
                "author": author,
                "subject": subject if index == 0 else subject and f"Re: {subject}",
                "text": text,
                "sent_at": sent,
                "received_at": sent,
                "raw_sha256": hashlib.sha256(external_id.encode()).hexdigest(),
                "recipients": {"to": [{"email": SUPPORT}]} if channel == "email" else {},
                "thread": {"in_reply_to": previous, "references": [previous] if previous else []},
                "metadata": {"chat_id": author["external_id"]} if channel == "telegram" else {},
            }
            previous = external_id if channel == "email" else None
            events.append(Event(MESSAGE_RECEIVED, payload))
    return events
