"""SQL of the worker's inbound path: set-based statements over a whole batch of messages.

Each method runs inside the caller's transaction. Batches travel as one JSON parameter
expanded by `jsonb_to_recordset`, so a batch of any size costs one round trip per step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg

from inbox.conversation_matching import ConversationRef
from inbox.identity import IdentityKey
from inbox.repository.parameters import records


class IngestRepository:
    """Reads and writes for one batch, on the connection holding its transaction."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection

    def lock_identities(self, keys: Sequence[IdentityKey]) -> None:
        """Take each identity's transaction lock, in one order so replicas cannot deadlock."""
        lock_ids = sorted({key.lock_id for key in keys})
        self.connection.execute(
            "SELECT count(pg_advisory_xact_lock(k))"
            " FROM (SELECT k FROM unnest(%s::bigint[]) AS k ORDER BY k) AS ordered",
            (lock_ids,),
        )

    def existing_dedup_keys(self, keys: Sequence[str]) -> set[str]:
        """The keys among `keys` already stored."""
        rows = self.connection.execute(
            "SELECT dedup_key FROM inbox.messages WHERE dedup_key = ANY(%s)", (list(keys),)
        )
        return {key for (key,) in rows}

    def ensure_inboxes(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
        """Create inboxes seen for the first time; return every pair's id and auto_assign."""
        wanted = [{"channel": c, "address": a} for c, a in set(pairs)]
        self.connection.execute(
            "INSERT INTO inbox.inboxes (channel, address, name)"
            " SELECT channel, address, address FROM jsonb_to_recordset(%s)"
            " AS x(channel text, address text)"
            " ORDER BY channel, address ON CONFLICT DO NOTHING",
            (records(wanted),),
        )
        rows = self.connection.execute(
            "SELECT i.channel, i.address, i.id, i.auto_assign FROM inbox.inboxes i"
            " JOIN jsonb_to_recordset(%s) AS x(channel text, address text)"
            " USING (channel, address)",
            (records(wanted),),
        )
        return {(c, a): {"id": str(i), "auto_assign": auto} for c, a, i, auto in rows}

    def contacts_for(self, wanted: dict[IdentityKey, dict]) -> dict[IdentityKey, str]:
        """The contact of each identity, creating a contact for identities never seen."""
        keys = [{"kind": k.kind, "scope": k.scope, "value": k.value} for k in wanted]
        rows = self.connection.execute(
            "SELECT kind, scope, value, contact_id FROM inbox.contact_identities"
            " JOIN jsonb_to_recordset(%s) AS x(kind text, scope text, value text)"
            " USING (kind, scope, value)",
            (records(keys),),
        )
        found = {IdentityKey(kind, scope, value): str(c) for kind, scope, value, c in rows}
        missing = [key for key in wanted if key not in found]
        if missing:
            new_rows = [
                {**wanted[key], "kind": key.kind, "scope": key.scope, "value": key.value}
                for key in missing
            ]
            self.connection.execute(
                "INSERT INTO inbox.contacts (id, display_name, email)"
                " SELECT id, display_name, email FROM jsonb_to_recordset(%s)"
                " AS x(id uuid, display_name text, email text)",
                (records(new_rows),),
            )
            self.connection.execute(
                "INSERT INTO inbox.contact_identities"
                " (contact_id, kind, scope, value, handle, display_name)"
                " SELECT id, kind, scope, value, handle, display_name FROM jsonb_to_recordset(%s)"
                " AS x(id uuid, kind text, scope text, value text, handle text, display_name text)",
                (records(new_rows),),
            )
            found.update({key: wanted[key]["id"] for key in missing})
        return found

    def conversations_by_email_ids(self, message_ids: Sequence[str]) -> dict[str, ConversationRef]:
        """The conversation of each known message id (inbound or our own replies)."""
        if not message_ids:
            return {}
        # Index probes only (a message by its id, then its conversation by primary key),
        # whatever the statistics say: over tables whose statistics lag their growth (a new
        # install, a bulk import) a plain join scanned every conversation for each id.
        rows = self.connection.execute(
            "SELECT ids.mid, c.id, c.contact_id, c.token, c.status, c.participants"
            " FROM unnest(%s::text[]) AS ids(mid)"
            " CROSS JOIN LATERAL (SELECT conversation_id FROM inbox.messages"
            "  WHERE email_message_id = ids.mid OFFSET 0) m"
            " CROSS JOIN LATERAL (SELECT * FROM inbox.conversations"
            "  WHERE id = m.conversation_id OFFSET 0) c"
            " WHERE c.merged_into IS NULL",
            (list(message_ids),),
        )
        return {mid: _ref(row) for mid, *row in rows}

    def conversations_by_tokens(self, tokens: Sequence[str]) -> dict[str, ConversationRef]:
        """The conversation of each token."""
        if not tokens:
            return {}
        rows = self.connection.execute(
            "SELECT token, id, contact_id, token, status, participants FROM inbox.conversations"
            " WHERE token = ANY(%s) AND merged_into IS NULL",
            (list(tokens),),
        )
        return {token: _ref(row) for token, *row in rows}

    def open_threads(self, keys: Iterable[tuple[str, str, str]]) -> dict[tuple, ConversationRef]:
        """The open conversation of each (inbox_id, contact_id, thread_key), where one exists."""
        wanted = [{"inbox_id": i, "contact_id": c, "thread_key": t} for i, c, t in set(keys)]
        if not wanted:
            return {}
        rows = self.connection.execute(
            "SELECT c.inbox_id, c.contact_id, c.thread_key,"
            " c.id, c.contact_id, c.token, c.status, c.participants FROM inbox.conversations c"
            " JOIN jsonb_to_recordset(%s) AS x(inbox_id uuid, contact_id uuid, thread_key text)"
            " USING (inbox_id, contact_id, thread_key)"
            " WHERE c.status <> 'resolved' AND c.merged_into IS NULL",
            (records(wanted),),
        )
        return {(str(i), str(c), t): _ref(row) for i, c, t, *row in rows}

    def next_assignee(self, inbox_id: str) -> str | None:
        """The inbox member after the last one assigned (round robin), recorded as the last."""
        row = self.connection.execute(
            "SELECT last_assignee_id FROM inbox.inboxes WHERE id = %s FOR UPDATE", (inbox_id,)
        ).fetchone()
        members = [
            str(a)
            for (a,) in self.connection.execute(
                "SELECT m.agent_id FROM inbox.inbox_members m JOIN inbox.agents a"
                " ON a.id = m.agent_id WHERE m.inbox_id = %s AND a.active ORDER BY m.agent_id",
                (inbox_id,),
            )
        ]
        if not members:
            return None
        last = str(row[0]) if row and row[0] else None
        chosen = (
            members[(members.index(last) + 1) % len(members)] if last in members else members[0]
        )
        self.connection.execute(
            "UPDATE inbox.inboxes SET last_assignee_id = %s WHERE id = %s", (chosen, inbox_id)
        )
        return chosen

    def insert_conversations(self, rows: list[dict]) -> None:
        """Create conversations (ids chosen by the caller)."""
        if not rows:
            return
        self.connection.execute(
            "INSERT INTO inbox.conversations (id, token, inbox_id, channel, contact_id, thread_key,"
            " assignee_id, subject, context, participants, last_activity_at, last_inbound_at,"
            " created_at) SELECT id, token, inbox_id, channel, contact_id, thread_key,"
            " assignee_id, subject, coalesce(context, '{}'),"
            " ARRAY(SELECT jsonb_array_elements_text(participants)), last_activity_at,"
            " last_inbound_at, now() FROM jsonb_to_recordset(%s) AS x(id uuid, token text,"
            " inbox_id uuid, channel text, contact_id uuid, thread_key text, assignee_id uuid,"
            " subject text, context jsonb, participants jsonb, last_activity_at timestamptz,"
            " last_inbound_at timestamptz)",
            (records(rows),),
        )

    def insert_messages(self, rows: list[dict]) -> set[str]:
        """Store messages; a key stored meanwhile is skipped. Return the ids stored."""
        if not rows:
            return set()
        stored = self.connection.execute(
            "INSERT INTO inbox.messages (id, conversation_id, inbox_id, channel, direction,"
            " visibility, dedup_key, external_id, author_contact_id, subject, text, html,"
            ' email_message_id, in_reply_to, "references", thread_reason, delivery_status,'
            " provider_ids, flags, recipients, metadata, raw_sha256, sent_at, received_at)"
            " SELECT id, conversation_id, inbox_id, channel, direction, visibility, dedup_key,"
            " external_id, author_contact_id, subject, text, html, email_message_id, in_reply_to,"
            " ARRAY(SELECT jsonb_array_elements_text(refs)), thread_reason, delivery_status,"
            " ARRAY(SELECT jsonb_array_elements_text(provider_ids)), flags, recipients, metadata,"
            " raw_sha256, sent_at, received_at FROM jsonb_to_recordset(%s) AS x(id uuid,"
            " conversation_id uuid, inbox_id uuid, channel text, direction text, visibility text,"
            " dedup_key text, external_id text, author_contact_id uuid, subject text, text text,"
            " html text, email_message_id text, in_reply_to text, refs jsonb, thread_reason text,"
            " delivery_status text, provider_ids jsonb, flags jsonb, recipients jsonb,"
            " metadata jsonb, raw_sha256 text, sent_at timestamptz, received_at timestamptz)"
            " ORDER BY sent_at ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
            (records(rows),),
        )
        return {str(i) for (i,) in stored}

    def drop_empty_conversations(self, ids: Sequence[str]) -> None:
        """Remove conversations created for messages that turned out to be duplicates."""
        self.connection.execute(
            "DELETE FROM inbox.conversations c WHERE c.id = ANY(%s::uuid[])"
            " AND NOT EXISTS (SELECT 1 FROM inbox.messages m WHERE m.conversation_id = c.id)",
            (list(ids),),
        )

    def insert_attachments(self, rows: list[dict]) -> None:
        """Store attachment references (the bytes are in the blob store)."""
        if not rows:
            return
        self.connection.execute(
            "INSERT INTO inbox.attachments (message_id, filename, content_type, size, sha256,"
            " content_id, inline, unavailable_reason) SELECT message_id, filename, content_type,"
            " size, sha256, content_id, inline, unavailable_reason FROM jsonb_to_recordset(%s)"
            " AS x(message_id uuid, filename text, content_type text, size bigint, sha256 text,"
            " content_id text, inline boolean, unavailable_reason text)",
            (records(rows),),
        )

    def touch_conversations(self, rows: list[dict]) -> dict[str, tuple[str, str | None]]:
        """Record new activity: times, reopening, new participants; return status and assignee."""
        if not rows:
            return {}
        updated = self.connection.execute(
            "UPDATE inbox.conversations c SET"
            " last_activity_at = greatest(c.last_activity_at, x.at),"
            " last_inbound_at = CASE WHEN x.inbound"
            "   THEN greatest(coalesce(c.last_inbound_at, x.at), x.at) ELSE c.last_inbound_at END,"
            " status = CASE WHEN x.reopen AND c.status <> 'open' THEN 'open' ELSE c.status END,"
            " snoozed_until = CASE WHEN x.reopen THEN NULL ELSE c.snoozed_until END,"
            " resolved_at = CASE WHEN x.reopen THEN NULL ELSE c.resolved_at END,"
            " participants = ARRAY(SELECT DISTINCT p FROM unnest(c.participants ||"
            "   ARRAY(SELECT jsonb_array_elements_text(x.participants))) AS p),"
            " updated_at = now()"
            " FROM jsonb_to_recordset(%s) AS x(id uuid, at timestamptz, inbound boolean,"
            " reopen boolean, participants jsonb) WHERE c.id = x.id"
            " RETURNING c.id, c.status, c.assignee_id",
            (records(rows),),
        )
        return {str(i): (s, str(a) if a else None) for i, s, a in updated}

    def confirm_echo(self, provider_id: str, email_message_id: str | None) -> str | None:
        """Mark our outbound message seen again as sent; return its conversation, if ours."""
        row = self.connection.execute(
            "UPDATE inbox.messages SET provider_ids = CASE WHEN %(pid)s = ANY(provider_ids)"
            "   THEN provider_ids ELSE provider_ids || %(pid)s END,"
            " delivery_status = CASE WHEN delivery_status IN ('queued', 'sending', 'retrying')"
            "   THEN 'sent' ELSE delivery_status END, delivery_updated_at = now()"
            " WHERE id = (SELECT id FROM inbox.messages WHERE direction = 'outbound' AND"
            " (provider_ids @> ARRAY[%(pid)s] OR email_message_id = %(mid)s) LIMIT 1)"
            " RETURNING conversation_id",
            {"pid": provider_id, "mid": email_message_id},
        ).fetchone()
        return str(row[0]) if row else None

    def fail_bounced(self, email_message_id: str, reason: str, states: list[str]) -> str | None:
        """Mark the reply a bounce names as failed; return its conversation, if found."""
        row = self.connection.execute(
            "UPDATE inbox.messages SET delivery_status = 'failed', delivery_reason = %s,"
            " delivery_updated_at = now() WHERE direction = 'outbound' AND email_message_id = %s"
            " AND delivery_status = ANY(%s) RETURNING conversation_id",
            (reason, email_message_id, states),
        ).fetchone()
        if row is None:  # ours, but already past failing (e.g. read): nothing to change
            row = self.connection.execute(
                "SELECT conversation_id FROM inbox.messages"
                " WHERE direction = 'outbound' AND email_message_id = %s LIMIT 1",
                (email_message_id,),
            ).fetchone()
        return str(row[0]) if row else None


def _ref(row: Sequence) -> ConversationRef:
    conversation_id, contact_id, token, status, participants = row
    return ConversationRef(str(conversation_id), str(contact_id), token, status, set(participants))
