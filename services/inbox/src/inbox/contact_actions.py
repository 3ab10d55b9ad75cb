"""Merging contacts (one person, one timeline) and undoing a merge."""

from __future__ import annotations

import psycopg

from inbox.errors import Conflict, Invalid, NotFound
from inbox.repository.agents import AgentRepository
from inbox.repository.contacts import ContactRepository
from inbox.repository.ingest import IngestRepository


def merge_contacts(
    connection: psycopg.Connection, agent: dict, target_id: str, source_id: str
) -> dict:
    """Merge `source_id` into `target_id`; return the merge record (its id undoes it)."""
    if target_id == source_id:
        raise Invalid("a contact cannot be merged into itself")
    contacts = ContactRepository(connection)
    _lock_identities(connection, contacts, [target_id, source_id])
    for contact_id in (target_id, source_id):
        contact = contacts.get(contact_id)
        if contact is None or contact["merged_into"] is not None:
            raise NotFound(f"no such contact {contact_id}")
    merge = contacts.merge(target_id, source_id, str(agent["id"]))
    AgentRepository(connection).audit(
        agent["id"], "contact_merged", contact_id=target_id, details={"source_id": source_id}
    )
    return merge


def undo_merge(connection: psycopg.Connection, agent: dict, merge_id: str) -> dict:
    """Undo a merge: the source contact gets back what it had."""
    contacts = ContactRepository(connection)
    merge = contacts.merge_record(merge_id, lock=True)
    if merge is None:
        raise NotFound("no such merge")
    if merge["undone_at"] is not None:
        raise Conflict("this merge was already undone")
    _lock_identities(connection, contacts, [str(merge["target_id"])])
    contacts.undo_merge(merge)
    AgentRepository(connection).audit(
        agent["id"],
        "contact_merge_undone",
        contact_id=str(merge["source_id"]),
        details={"merge_id": merge_id},
    )
    return contacts.merge_record(merge_id)


def _lock_identities(
    connection: psycopg.Connection, contacts: ContactRepository, contact_ids: list[str]
) -> None:
    # The worker resolves identities under these locks: hold them while identities move.
    IngestRepository(connection).lock_identities(contacts.identity_keys(contact_ids))
