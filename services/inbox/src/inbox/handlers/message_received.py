"""`message.received/1`: deduplicate, resolve contacts, thread and store a batch in one transaction.

The database deduplicates (a unique key, inserted with ON CONFLICT); each author's identity
is locked for the transaction, so two replicas handling a new customer's first messages
serialize on that lock and make one contact and one conversation. Every stored message
writes a `conversation.changed` outbox row in the same transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from psycopg_pool import ConnectionPool

from inbox import changes, delivery
from inbox.conversation_matching import (
    ConversationRef,
    Match,
    email_clues,
    match_email,
    new_token,
)
from inbox.handlers.transaction import batch_transaction
from inbox.identity import IdentityKey, dedup_key, identity_of, normalize_address, thread_key
from inbox.repository.ingest import IngestRepository
from inbox.repository.outbox import OutboxRepository
from switchboard_shared.consumer import ConsumedEvent

log = logging.getLogger(__name__)

_CHANNEL_NAMES = {
    "messenger": "Messenger",
    "instagram_dm": "Instagram",
    "x_dm": "X direct message",
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "api": "API",
}


@dataclass
class _Inbound:
    """One fresh message on its way through the batch."""

    event: ConsumedEvent
    key: str
    identity: IdentityKey
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def payload(self) -> dict:
        return self.event.payload

    @property
    def flags(self) -> dict:
        return self.payload.get("flags") or {}


class MessageReceivedHandler:
    """Store inbound messages in conversations, a prefetched batch per transaction."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def handle(self, event: ConsumedEvent) -> None:
        """Handle one event (as a batch of one)."""
        self.handle_batch([event])

    def handle_batch(self, events: Sequence[ConsumedEvent]) -> None:
        """Handle a batch all or nothing; transient database trouble is retryable."""
        with batch_transaction(self.pool) as connection:
            _Batch(IngestRepository(connection)).run(events)


class _Batch:
    """The work of one batch: plan everything, then write it set-based."""

    def __init__(self, repository: IngestRepository) -> None:
        self.repository = repository
        self.conversations: list[dict] = []
        self.messages: list[dict] = []
        self.attachments: list[dict] = []
        self.touches: dict[str, dict] = {}
        self.outbox: list[dict] = []
        self.created: dict[str, _Inbound] = {}
        self.origin: dict[str, _Inbound] = {}

    def run(self, events: Sequence[ConsumedEvent]) -> None:
        unique: dict[str, _Inbound] = {}
        for event in events:
            payload = event.payload
            party = payload["recipient"] if _is_echo(payload) else payload["author"]
            identity = identity_of(payload["channel"], payload["inbox"], party)
            unique.setdefault(dedup_key(payload), _Inbound(event, dedup_key(payload), identity))
        if not unique:
            return
        repository = self.repository
        repository.lock_identities([item.identity for item in unique.values()])
        known = repository.existing_dedup_keys(list(unique))
        fresh = [item for key, item in unique.items() if key not in known]
        fresh = [item for item in fresh if not self._settled_elsewhere(item)]
        if not fresh:
            self._flush_outbox()
            return
        inboxes = repository.ensure_inboxes(
            (item.payload["channel"], item.payload["inbox"]) for item in fresh
        )
        wanted = {}
        for item in fresh:
            party = item.payload["recipient"] if _is_echo(item.payload) else item.payload["author"]
            wanted.setdefault(item.identity, _contact_fields(party, item.identity))
        contacts = repository.contacts_for(wanted)
        self._thread(fresh, inboxes, contacts)
        self._write()

    # -- echoes and bounces -----------------------------------------------------------------

    def _settled_elsewhere(self, item: _Inbound) -> bool:
        """Apply an echo or a bounce to the reply it is about; True when nothing else is due."""
        payload = item.payload
        # Our own public comment seen again names no recipient, but is still an echo.
        if item.flags.get("echo"):
            conversation = self.repository.confirm_echo(
                payload["external_id"],
                payload["external_id"] if payload["channel"] == "email" else None,
            )
            if conversation is None:
                return False  # sent outside Switchboard: stored as an outbound message
            self.outbox.append(self._change(item, conversation, "delivery_updated"))
            return True
        bounce = payload.get("bounce") or {}
        if item.flags.get("bounce") and bounce.get("original_message_id"):
            reason = bounce.get("diagnostic") or bounce.get("status") or "bounced"
            conversation = self.repository.fail_bounced(
                bounce["original_message_id"], f"bounced: {reason}", delivery.predecessors("failed")
            )
            if conversation is None:
                return False  # not one of ours: kept as a message an agent can read
            self.outbox.append(self._change(item, conversation, "delivery_updated"))
            return True
        return False

    # -- threading --------------------------------------------------------------------------

    def _thread(self, fresh: list[_Inbound], inboxes: dict, contacts: dict) -> None:
        emails = [item for item in fresh if item.payload["channel"] == "email"]
        clues = {item.key: email_clues(item.payload) for item in emails}
        by_message_id = self.repository.conversations_by_email_ids(
            sorted({mid for c in clues.values() for mid in c.all_ids()})
        )
        by_token = self.repository.conversations_by_tokens(
            sorted({t for c in clues.values() for t in c.all_tokens()})
        )
        threads = self.repository.open_threads(
            (inboxes[(i.payload["channel"], i.payload["inbox"])]["id"], contacts[i.identity], tk)
            for i in fresh
            if (tk := thread_key(i.payload)) is not None
        )
        for item in sorted(fresh, key=lambda i: i.payload["sent_at"]):
            payload = item.payload
            inbox = inboxes[(payload["channel"], payload["inbox"])]
            contact_id = contacts[item.identity]
            if payload["channel"] == "email":
                sender = normalize_address(payload["author"].get("email")) or item.identity.value
                match = match_email(clues[item.key], sender, contact_id, by_message_id, by_token)
            else:
                key = (inbox["id"], contact_id, thread_key(payload))
                match = _match_social(payload, threads.get(key))
            conversation = match.conversation or self._new_conversation(item, inbox, contact_id)
            if match.conversation is None and thread_key(payload) is not None:
                threads[(inbox["id"], contact_id, thread_key(payload))] = conversation
            reason = match.reason
            reopen = not _is_automatic(payload) and conversation.status != "open"
            if match.conversation is not None and reopen:
                reason += f"; reopened the conversation (it was {conversation.status})"
                conversation.status = "open"
            self._add_message(item, inbox, contact_id, conversation, reason)
            if payload["channel"] == "email":
                participants = _participants(payload)
                conversation.participants |= set(participants)
                if payload.get("external_id"):
                    by_message_id[payload["external_id"].strip()] = conversation
            else:
                participants = []
            touch = self.touches.setdefault(
                conversation.id,
                {
                    "id": conversation.id,
                    "at": payload["sent_at"],
                    "inbound": False,
                    "reopen": False,
                    "participants": [],
                },
            )
            touch["at"] = max(touch["at"], payload["sent_at"])
            touch["inbound"] = touch["inbound"] or not _is_echo(payload)
            touch["reopen"] = touch["reopen"] or reopen
            touch["participants"] = sorted(set(touch["participants"]) | set(participants))

    def _new_conversation(self, item: _Inbound, inbox: dict, contact_id: str) -> ConversationRef:
        payload = item.payload
        conversation = ConversationRef(str(uuid.uuid4()), contact_id, new_token(), "open")
        assignee = None
        if inbox["auto_assign"] and not _is_automatic(payload):
            assignee = self.repository.next_assignee(inbox["id"])
        context = {}
        if payload["visibility"] == "public":
            thread = payload.get("thread") or {}
            context = {"post_id": thread.get("root_id"), "parent_id": thread.get("parent_id")}
            if isinstance(payload.get("metadata", {}).get("post"), dict):
                context["post"] = payload["metadata"]["post"]
        self.conversations.append(
            {
                "id": conversation.id,
                "token": conversation.token,
                "inbox_id": inbox["id"],
                "channel": payload["channel"],
                "contact_id": contact_id,
                "thread_key": thread_key(payload),
                "assignee_id": assignee,
                "subject": payload.get("subject"),
                "context": context,
                "participants": _participants(payload),
                "last_activity_at": payload["sent_at"],
            }
        )
        self.created[conversation.id] = item
        return conversation

    def _add_message(
        self, item: _Inbound, inbox: dict, contact_id: str, conversation: ConversationRef, reason
    ) -> None:
        payload = item.payload
        self.origin[item.message_id] = item
        thread = payload.get("thread") or {}
        echo = _is_echo(payload)
        email = payload["channel"] == "email"
        self.messages.append(
            {
                "id": item.message_id,
                "conversation_id": conversation.id,
                "inbox_id": inbox["id"],
                "channel": payload["channel"],
                "direction": "outbound" if echo else "inbound",
                "visibility": payload["visibility"],
                "dedup_key": item.key,
                "external_id": payload["external_id"],
                "author_contact_id": None if echo else contact_id,
                "subject": payload.get("subject"),
                "text": payload.get("reply_text") or payload["text"],
                "html": payload.get("html"),
                "email_message_id": payload["external_id"].strip() if email else None,
                "in_reply_to": thread.get("in_reply_to"),
                "refs": thread.get("references") or [],
                "thread_reason": reason,
                "delivery_status": "sent" if echo else None,
                "provider_ids": [payload["external_id"]] if echo else [],
                "flags": payload.get("flags") or {},
                "recipients": payload.get("recipients") or {},
                "metadata": {
                    **(payload.get("metadata") or {}),
                    "author": payload["author"],
                    "thread": thread,
                    **({"full_text": payload["text"]} if payload.get("reply_text") else {}),
                    **({"bounce": payload["bounce"]} if payload.get("bounce") else {}),
                },
                "raw_sha256": payload["raw_sha256"],
                "sent_at": payload["sent_at"],
                "received_at": payload["received_at"],
            }
        )
        for attachment in payload.get("attachments") or []:
            self.attachments.append({**attachment, "message_id": item.message_id})

    # -- writing ----------------------------------------------------------------------------

    def _write(self) -> None:
        repository = self.repository
        # A conversation this batch creates is inserted with its final activity, so only
        # older ones need the UPDATE (which rewrites every index on the row).
        for row in self.conversations:
            touch = self.touches.pop(row["id"])
            row["last_activity_at"] = touch["at"]
            row["last_inbound_at"] = touch["at"] if touch["inbound"] else None
            row["participants"] = sorted(set(row["participants"]) | set(touch["participants"]))
        repository.insert_conversations(self.conversations)
        stored = repository.insert_messages(self.messages)
        if len(stored) < len(self.messages):
            # Stored meanwhile by someone not holding our locks (should not happen): skip them.
            log.warning("%d messages were already stored", len(self.messages) - len(stored))
            repository.drop_empty_conversations([c["id"] for c in self.conversations])
        repository.insert_attachments([a for a in self.attachments if a["message_id"] in stored])
        kept = {m["conversation_id"] for m in self.messages if m["id"] in stored}
        states = repository.touch_conversations(
            [touch for cid, touch in self.touches.items() if cid in kept]
        )
        for message in self.messages:
            if message["id"] not in stored:
                continue
            cid = message["conversation_id"]
            status, assignee = states.get(cid, ("open", None))
            created = self.created.get(cid)
            first = created is not None and created.message_id == message["id"]
            if created is not None and not first:
                continue  # a new conversation is announced once, as created
            if created is not None:
                assignee = next(c["assignee_id"] for c in self.conversations if c["id"] == cid)
            self.outbox.append(
                changes.conversation_changed(
                    cid,
                    "created" if first else "message_added",
                    trace_id=self.origin[message["id"]].event.trace_id,
                    inbox=self.origin[message["id"]].payload["inbox"],
                    channel=message["channel"],
                    message_id=message["id"],
                    status=status,
                    assignee_id=assignee,
                    occurred_at=message["sent_at"],
                )
            )
        self._flush_outbox()

    def _flush_outbox(self) -> None:
        OutboxRepository(self.repository.connection).add(self.outbox)
        self.outbox = []

    @staticmethod
    def _change(item: _Inbound, conversation_id: str, change: str) -> dict:
        return changes.conversation_changed(
            conversation_id,
            change,
            trace_id=item.event.trace_id,
            inbox=item.payload["inbox"],
            channel=item.payload["channel"],
        )


def _is_echo(payload: dict) -> bool:
    return bool((payload.get("flags") or {}).get("echo")) and payload.get("recipient") is not None


def _is_automatic(payload: dict) -> bool:
    flags = payload.get("flags") or {}
    return bool(flags.get("auto_submitted") or flags.get("bounce"))


def _match_social(payload: dict, open_conversation: ConversationRef | None) -> Match:
    if payload["visibility"] == "public":
        post = thread_key(payload).removeprefix("post:")
        if open_conversation is not None:
            return Match(open_conversation, f"this contact's comments on post {post}")
        return Match(None, f"new conversation: this contact's first comment on post {post}")
    name = _CHANNEL_NAMES.get(payload["channel"], payload["channel"])
    if open_conversation is not None:
        return Match(open_conversation, f"the open {name} conversation with this contact")
    return Match(None, f"new conversation: no open {name} conversation with this contact")


def _participants(payload: dict) -> list[str]:
    """The addresses on an email other than our own inbox: the people on the thread."""
    inbox = normalize_address(payload["inbox"]) or ""
    inbox_local, _, inbox_domain = inbox.partition("@")
    addresses = {normalize_address(payload["author"].get("email"))}
    recipients = payload.get("recipients") or {}
    for group in ("to", "cc"):
        addresses.update(normalize_address(p.get("email")) for p in recipients.get(group) or [])
    ours = {
        a
        for a in addresses
        if a
        and a.partition("@")[2] == inbox_domain
        and a.partition("@")[0].split("+", 1)[0] == inbox_local.split("+", 1)[0]
    }
    return sorted(a for a in addresses if a and a not in ours)


def _contact_fields(party: dict, identity: IdentityKey) -> dict:
    email = normalize_address(party.get("email"))
    if identity.kind == "email":
        email = identity.value
    return {
        "id": str(uuid.uuid4()),
        "display_name": party.get("display_name") or party.get("handle"),
        "email": email,
        "handle": party.get("handle"),
    }
