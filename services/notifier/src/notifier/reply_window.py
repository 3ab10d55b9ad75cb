"""Messenger's and Instagram's reply windows: how a reply may be sent, given when the customer
last wrote (channels.md 1.8 (a)): inside 24 hours a plain response; up to 7 days a human agent's
reply with the HUMAN_AGENT tag where the app may use it; after that, not at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from notifier.delivery_errors import WindowClosed

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
RESPONSE = ("RESPONSE", None)
HUMAN_AGENT = ("MESSAGE_TAG", "HUMAN_AGENT")


def may_tag_human_agent(automatic: bool, allowed: bool) -> bool:
    """Only a person's reply may carry HUMAN_AGENT, and only if the app has the permission."""
    return allowed and not automatic


def messaging_type(
    last_customer_message_at: datetime | None, now: datetime, human_agent: bool
) -> tuple[str, str | None]:
    """(messaging_type, tag) for a reply; unknown last message: try a plain response first."""
    if last_customer_message_at is None or now - last_customer_message_at <= STANDARD_WINDOW:
        return RESPONSE
    if human_agent and now - last_customer_message_at <= HUMAN_AGENT_WINDOW:
        return HUMAN_AGENT
    limit = "7 days" if human_agent else "24 hours"
    raise WindowClosed(
        f"the customer last wrote more than {limit} ago "
        f"({last_customer_message_at:%Y-%m-%d %H:%M} UTC), so Meta no longer lets us answer: "
        "they must write again first"
    )
