"""The inbox's migrations build its whole data model in the `inbox` schema."""

from __future__ import annotations

import psycopg


def test_every_table_is_created_in_the_inbox_schema(db: psycopg.Connection) -> None:
    rows = db.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'inbox'"
    ).fetchall()
    tables = {name for (name,) in rows}
    assert {
        "agents",
        "api_tokens",
        "inboxes",
        "contacts",
        "contact_identities",
        "conversations",
        "messages",
        "attachments",
        "audit_log",
        "outbox",
        "canned_responses",
        "alembic_version",
    } <= tables
