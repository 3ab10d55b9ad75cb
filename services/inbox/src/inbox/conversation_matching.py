"""Which conversation an inbound email belongs to, and a reason an agent can read.

Email joins a conversation by In-Reply-To/References against every message id we know (our
replies' Message-IDs included), then by the conversation token in the subject (`[#token]`)
or in the plus-address it was sent to (`support+token@...`). A match counts only if the
sender is one of the conversation's participants (its contact, or an address already on the
thread): a stranger quoting a token, or replying to a newsletter we sent to many, gets a
conversation of their own. Subjects alone never thread anything.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

_TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # noqa: S105 (base32, not a secret)
TOKEN_LENGTH = 8
_SUBJECT_TOKEN = re.compile(r"\[#([a-z2-7]{8})\]", re.IGNORECASE)
_PLUS_TOKEN = re.compile(r"^[^@+\s]+\+([a-z2-7]{8})@", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# References beyond these many (newest kept) add nothing to threading and bloat headers.
MAX_REFERENCES = 20


@dataclass
class ConversationRef:
    """What threading needs to know about a candidate conversation."""

    id: str
    contact_id: str
    token: str
    status: str
    participants: set[str] = field(default_factory=set)

    def admits(self, address: str | None, contact_id: str) -> bool:
        """Whether a message from this sender may join this conversation."""
        return contact_id == self.contact_id or (
            address is not None and address in self.participants
        )


@dataclass(frozen=True)
class Match:
    """The conversation a message joins (None: a new one) and why."""

    conversation: ConversationRef | None
    reason: str


@dataclass(frozen=True)
class EmailClues:
    """The ids and tokens an email carries, most telling first."""

    message_ids: tuple[tuple[str, str], ...]  # (header, id)
    tokens: tuple[tuple[str, str], ...]  # (token, where it was found)

    def all_ids(self) -> list[str]:
        """Every referenced message id."""
        return [message_id for _, message_id in self.message_ids]

    def all_tokens(self) -> list[str]:
        """Every conversation token."""
        return [token for token, _ in self.tokens]


def new_token() -> str:
    """A random conversation token: 40 bits, so guessing one is impractical."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def subject_with_token(subject: str | None, token: str) -> str:
    """A reply's subject: `Re: ` once, and the conversation token once."""
    base = (subject or "").strip()
    if not re.match(r"(?i)^re:", base):
        base = f"Re: {base}" if base else "Re:"
    if f"[#{token}]".lower() not in base.lower():
        base = f"{base} [#{token}]"
    return base


def plus_address(address: str, token: str) -> str:
    """The reply-to address that carries a conversation token: local+token@domain."""
    local, _, domain = address.partition("@")
    return f"{local.split('+', 1)[0]}+{token}@{domain}" if domain else address


def message_ids_in(value: str | None) -> list[str]:
    """The `<id>` tokens in a header value (or the value itself when it has no brackets)."""
    if not value:
        return []
    found = _MESSAGE_ID.findall(value)
    return found or [value.strip()]


def email_clues(payload: dict) -> EmailClues:
    """Extract threading clues from a `message.received/1` email payload."""
    thread = payload.get("thread") or {}
    ids: list[tuple[str, str]] = []
    seen: set[str] = set()
    for message_id in message_ids_in(thread.get("in_reply_to")):
        if message_id not in seen:
            seen.add(message_id)
            ids.append(("In-Reply-To", message_id))
    references = [m for ref in thread.get("references") or [] for m in message_ids_in(ref)]
    for message_id in reversed(references):  # the newest reference is the most specific
        if message_id not in seen:
            seen.add(message_id)
            ids.append(("References", message_id))
    tokens: list[tuple[str, str]] = [
        (m.group(1).lower(), "subject")
        for m in _SUBJECT_TOKEN.finditer(payload.get("subject") or "")
    ]
    recipients = payload.get("recipients") or {}
    for group in ("to", "cc"):
        for party in recipients.get(group) or []:
            m = _PLUS_TOKEN.match(party.get("email") or "")
            if m:
                tokens.append((m.group(1).lower(), f"address {party['email'].lower()}"))
    return EmailClues(tuple(ids), tuple(tokens))


def match_email(
    clues: EmailClues,
    sender: str | None,
    contact_id: str,
    by_message_id: Mapping[str, ConversationRef],
    by_token: Mapping[str, ConversationRef],
) -> Match:
    """Pick the conversation an email joins; every candidate must admit the sender."""
    candidates = [
        (f"{header} {message_id}", by_message_id.get(message_id), "is a message of it")
        for header, message_id in clues.message_ids
    ] + [
        (f"token [#{token}]", by_token.get(token), f"is in the {where}")
        for token, where in clues.tokens
    ]
    refused: list[str] = []
    for clue, candidate, why in candidates:
        if candidate is None:
            continue
        if candidate.admits(sender, contact_id):
            return Match(candidate, f"{clue} {why}")
        refused.append(clue)
    if refused:
        return Match(
            None,
            "new conversation: "
            + ", ".join(refused)
            + " belong to a conversation the sender is not a participant of",
        )
    if clues.message_ids:
        return Match(None, "new conversation: none of the referenced messages is known")
    return Match(None, "new conversation: the email references no earlier message")


def references_for_reply(answered_id: str | None, answered_references: list[str]) -> list[str]:
    """The References header of a reply to a message: its references, then its own id."""
    chain = [*answered_references, *([answered_id] if answered_id else [])]
    deduplicated = list(dict.fromkeys(chain))
    return deduplicated[-MAX_REFERENCES:]
