"""Who a message is from and which message it is: dedup keys, contact identities, lock keys.

Pure functions over `message.received/1` payloads; no database or broker here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Channels whose user ids mean the same person across every inbox (account) of ours.
_GLOBAL_KINDS = {"x_mention": "x", "x_dm": "x", "whatsapp": "phone", "telegram": "telegram"}
# Channels sharing one id space per account: a page's Messenger and comment ids differ.
_SCOPED_KINDS = {
    "messenger": "messenger",
    "facebook_comment": "facebook",
    "instagram_dm": "instagram",
    "instagram_comment": "instagram",
    "api": "api",
}
PRIVATE_THREAD_KEY = "dm"


@dataclass(frozen=True, order=True)
class IdentityKey:
    """How one channel knows one person: an email address, or an id within an account."""

    kind: str
    scope: str
    value: str

    @property
    def lock_id(self) -> int:
        """A signed 64-bit key for pg_advisory_xact_lock, the same in every replica."""
        digest = hashlib.sha256(f"{self.kind}\x1f{self.scope}\x1f{self.value}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)


def normalize_address(address: str | None) -> str | None:
    """An email address as an identity: trimmed and lower-cased, or None if it is no address."""
    if not address:
        return None
    cleaned = address.strip().strip("<>").strip().lower()
    return cleaned if "@" in cleaned else None


def identity_of(channel: str, inbox: str, party: dict) -> IdentityKey:
    """The identity `party` (an author or recipient) has on `channel` of `inbox`."""
    if channel == "email":
        address = normalize_address(party.get("email")) or normalize_address(party["external_id"])
        return IdentityKey("email", "", address or party["external_id"].strip().lower())
    if channel in _GLOBAL_KINDS:
        return IdentityKey(_GLOBAL_KINDS[channel], "", party["external_id"])
    return IdentityKey(_SCOPED_KINDS.get(channel, channel), inbox, party["external_id"])


def dedup_key(payload: dict) -> str:
    """The unique key of an inbound message (design.md: email by Message-ID across inboxes)."""
    if payload["channel"] == "email":
        return "email:" + payload["external_id"].strip()
    return f"{payload['channel']}:{payload['inbox']}:{payload['external_id']}"


def thread_key(payload: dict) -> str | None:
    """The social thread a message belongs to (None for email, which threads by headers)."""
    if payload["channel"] == "email":
        return None
    if payload["visibility"] == "public":
        thread = payload.get("thread") or {}
        post = thread.get("root_id") or thread.get("parent_id") or payload["external_id"]
        return f"post:{post}"
    return PRIVATE_THREAD_KEY
