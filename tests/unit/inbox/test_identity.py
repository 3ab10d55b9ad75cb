"""Dedup keys and contact identities."""

from __future__ import annotations

from inbox.canned import render
from inbox.identity import IdentityKey, dedup_key, identity_of, thread_key


def test_email_is_unique_by_message_id_across_support_addresses():
    first = {"channel": "email", "inbox": "a@x", "external_id": " <m@x> "}
    assert dedup_key(first) == dedup_key({**first, "inbox": "b@x"}) == "email:<m@x>"
    social = {"channel": "messenger", "inbox": "page", "external_id": "m_1"}
    assert dedup_key(social) != dedup_key({**social, "inbox": "other-page"})


def test_identities_by_channel():
    assert identity_of("email", "a@x", {"external_id": "X", "email": "Ada@Example.NET"}) == (
        IdentityKey("email", "", "ada@example.net")
    )
    assert identity_of("x_dm", "1", {"external_id": "42"}) == identity_of(
        "x_mention", "2", {"external_id": "42"}
    )
    assert identity_of("messenger", "p1", {"external_id": "9"}).scope == "p1"


def test_lock_ids_are_stable_signed_64_bit_numbers():
    key = IdentityKey("email", "", "ada@example.net")
    assert key.lock_id == IdentityKey("email", "", "ada@example.net").lock_id
    assert -(2**63) <= key.lock_id < 2**63


def test_social_threads():
    comment = {
        "channel": "facebook_comment",
        "visibility": "public",
        "external_id": "c",
        "thread": {"root_id": "post", "parent_id": "c0"},
    }
    assert thread_key(comment) == "post:post"
    assert thread_key({"channel": "telegram", "visibility": "private"}) == "dm"
    assert thread_key({"channel": "email", "visibility": "private"}) is None


def test_canned_placeholders():
    template = "Hi {{ customer.first_name }}, {{agent.name}} here. {{other}}"
    assert render(template, "Ada Lovelace", "Ann") == "Hi Ada, Ann here. {{other}}"
    assert render("Hi {{customer.name}}", None, None) == "Hi there"
