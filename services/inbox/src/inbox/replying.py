"""Agents' replies and notes: the collision check, the recipient, the email headers, the outbox.

A reply names the message it answers. If a newer customer message or another agent's reply
arrived since, the reply is refused with what is new (the agent re-reads, then confirms).
Email replies get their Message-ID, In-Reply-To and References here, a subject carrying the
conversation token and a plus-address reply-to, so the customer's answer threads back.
The reply is stored `queued` with a `reply.requested` outbox row in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

from inbox import changes
from inbox.conversation_matching import plus_address, references_for_reply, subject_with_token
from inbox.errors import Collision, Invalid, NotFound
from inbox.repository.agents import AgentRepository
from inbox.repository.conversations import ConversationRepository
from inbox.repository.messages import MessageRepository
from inbox.repository.outbox import OutboxRepository

PUBLIC_CHANNELS = {"facebook_comment", "instagram_comment", "x_mention"}


@dataclass(frozen=True)
class ReplyRequest:
    """What an agent sends: text, visibility, the message answered, attachments."""

    text: str
    visibility: str
    answers_message_id: str | None = None
    confirm: bool = False
    html: str | None = None
    attachments: list[dict] = field(default_factory=list)


def reply(
    connection: psycopg.Connection,
    agent: dict,
    conversation_id: str,
    request: ReplyRequest,
    email_domain: str,
    trace_id: str,
) -> dict:
    """Store a reply and request its sending; raise Collision if something new arrived."""
    conversations = ConversationRepository(connection)
    messages = MessageRepository(connection)
    conversation = conversations.get(conversation_id, lock=True)  # one reply at a time
    if conversation is None or conversation["merged_into"] is not None:
        raise NotFound("no such conversation")
    if request.answers_message_id:
        answered = messages.get(request.answers_message_id)
        if answered is None or str(answered["conversation_id"]) != str(conversation["id"]):
            raise Invalid("answers_message_id is not a message of this conversation")
    else:
        answered = messages.latest_inbound(conversation_id)
    if answered is None:
        raise Invalid("this conversation has no customer message to answer")
    if not request.confirm:
        newer = messages.newer_than(conversation_id, answered["seq"], str(agent["id"]))
        if newer:
            raise Collision(newer)
    if answered["direction"] != "inbound":
        # Naming a reply or note says what the agent saw; the customer's latest message is
        # still what gets answered (its author, provider id and email headers).
        answered = messages.latest_inbound(conversation_id)
        if answered is None:
            raise Invalid("this conversation has no customer message to answer")
    channel = conversation["channel"]
    if channel == "email" and request.visibility == "public":
        raise Invalid("email replies are private")
    if (
        channel not in PUBLIC_CHANNELS
        and request.visibility == "public"
        and (answered["visibility"] == "private")
    ):
        raise Invalid(f"{channel} has no public replies")
    reply_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    author = (answered["metadata"] or {}).get("author") or {}
    recipient = {
        "external_id": author.get("external_id") or conversation["contact_email"] or "",
        "handle": author.get("handle"),
        "display_name": author.get("display_name") or conversation["contact_name"],
        "email": author.get("email") or conversation["contact_email"],
    }
    row = {
        "id": reply_id,
        "conversation_id": conversation["id"],
        "inbox_id": conversation["inbox_id"],
        "channel": channel,
        "direction": "outbound",
        "visibility": request.visibility,
        "author_agent_id": agent["id"],
        "text": request.text,
        "html": request.html,
        "answers_message_id": answered["id"],
        "delivery_status": "queued",
        "sent_at": now,
        "received_at": now,
        "metadata": {"recipient": recipient},
    }
    envelope = None
    if channel == "email":
        envelope = _email_envelope(conversation, answered, recipient, reply_id, email_domain)
        row.update(
            subject=subject_with_token(conversation["subject"], conversation["token"]),
            email_message_id=envelope["message_id"],
            in_reply_to=envelope["in_reply_to"],
            references=envelope["references"],
        )
    stored = messages.insert(row, request.attachments)
    payload = {
        "reply_id": reply_id,
        "conversation_id": str(conversation["id"]),
        "channel": channel,
        "inbox": conversation["inbox_address"],
        "visibility": request.visibility,
        "recipient": recipient,
        "in_reply_to": answered["external_id"],
        "thread": (answered["metadata"] or {}).get("thread") or {},
        "email": envelope,
        "subject": row.get("subject"),
        "text": request.text,
        "html": request.html,
        "attachments": request.attachments,
        "agent": {"id": str(agent["id"]), "display_name": agent["display_name"]},
        "requested_at": now,
        "metadata": {
            k: v
            for k, v in (answered["metadata"] or {}).items()
            if k not in ("author", "thread", "full_text", "bounce")
        },
    }
    first = {"first_response_at": now} if conversation["first_response_at"] is None else {}
    conversations.update(conversation_id, last_activity_at=now, **first)
    OutboxRepository(connection).add(
        [
            changes.reply_requested(payload, trace_id),
            changes.conversation_changed(
                str(conversation["id"]),
                "message_added",
                trace_id=trace_id,
                inbox=conversation["inbox_address"],
                channel=channel,
                message_id=reply_id,
                status=conversation["status"],
                assignee_id=_str(conversation["assignee_id"]),
            ),
        ]
    )
    AgentRepository(connection).audit(
        agent["id"], "reply", conversation_id=conversation_id, details={"message_id": reply_id}
    )
    return stored


def add_note(
    connection: psycopg.Connection, agent: dict, conversation_id: str, text: str, trace_id: str
) -> dict:
    """Store an internal note: it never leaves Switchboard."""
    conversation = ConversationRepository(connection).get(conversation_id)
    if conversation is None:
        raise NotFound("no such conversation")
    now = datetime.now(UTC)
    note = MessageRepository(connection).insert(
        {
            "id": str(uuid.uuid4()),
            "conversation_id": conversation["id"],
            "inbox_id": conversation["inbox_id"],
            "channel": conversation["channel"],
            "direction": "note",
            "visibility": "private",
            "author_agent_id": agent["id"],
            "text": text,
            "sent_at": now,
            "received_at": now,
        }
    )
    OutboxRepository(connection).add(
        [
            changes.conversation_changed(
                str(conversation["id"]),
                "note_added",
                trace_id=trace_id,
                message_id=str(note["id"]),
                status=conversation["status"],
            )
        ]
    )
    return note


def _email_envelope(
    conversation: dict, answered: dict, recipient: dict, reply_id: str, email_domain: str
) -> dict:
    inbox_address = conversation["inbox_address"]
    domain = email_domain or inbox_address.partition("@")[2] or "switchboard.invalid"
    to_address = recipient["email"] or recipient["external_id"]
    cc = sorted(
        p
        for p in conversation["participants"] or []
        if p not in (to_address.lower(), inbox_address.lower())
    )
    return {
        "message_id": f"<{reply_id}@{domain}>",
        "in_reply_to": answered["email_message_id"],
        "references": references_for_reply(
            answered["email_message_id"], list(answered["references"] or [])
        ),
        "sender": {"email": inbox_address, "display_name": conversation["inbox_name"]},
        "reply_to": {
            "email": plus_address(inbox_address, conversation["token"]),
            "display_name": conversation["inbox_name"],
        },
        "to": [{"email": to_address, "display_name": recipient["display_name"]}],
        "cc": [{"email": address, "display_name": None} for address in cc],
    }


def _str(value: object) -> str | None:
    return None if value is None else str(value)
