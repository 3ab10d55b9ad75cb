"""Meta `changes` events: Facebook Page feed comments and Instagram comments."""

from __future__ import annotations

from social_ingest.normalize import meta_messaging
from social_ingest.normalize.meta_messaging import MetaInbox
from social_ingest.normalize.payload import as_id, first_time, obj, party, text_of
from social_ingest.normalize.result import MediaRef, Normalized

_IG_COMMENT_FIELDS = {"comments", "live_comments"}


def normalize_change(change: dict, where: str, inbox: MetaInbox, result: Normalized) -> None:
    """Turn one `changes[]` item into a comment message or a skip."""
    field = change.get("field")
    value = change.get("value")
    if not isinstance(value, dict):
        result.skip(f"change {field!r} without a value object", where)
    elif inbox.object == "page" and field == "feed":
        _feed(value, f"{where}.value", inbox, result)
    elif inbox.object == "instagram" and field in _IG_COMMENT_FIELDS:
        _instagram_comment(value, field == "live_comments", f"{where}.value", inbox, result)
    elif field == "messages" and "sender" in value:
        # The App Dashboard's "Test" button sends a messaging event in `changes` form.
        meta_messaging.normalize_event(value, f"{where}.value", inbox, result)
    else:
        result.skip(f"unsupported {inbox.object} change field {field!r}", where)


def _feed(value: dict, where: str, inbox: MetaInbox, result: Normalized) -> None:
    item, verb = value.get("item"), value.get("verb")
    if item != "comment":
        result.ignore(f"feed item {item!r} is not a comment", where)
        return
    if verb != "add":
        # Edits, removals and hides change a comment we already have: no new message.
        result.ignore(f"comment verb {verb!r}: only new comments are ingested", where)
        return
    comment_id = as_id(value.get("comment_id"))
    if not comment_id:
        result.skip("comment without comment_id", where)
        return
    post_id = as_id(value.get("post_id")) or as_id(obj(value.get("post")).get("id"))
    author_id, author, defects = _author(value, comment_id, "name")
    # A top-level comment's parent is the post itself; only a reply has a parent comment.
    parent = as_id(value.get("parent_id"))
    echo = author_id == inbox.inbox_id
    media = [
        MediaRef(url=u) for u in (text_of(value.get("photo")), text_of(value.get("video"))) if u
    ]
    result.add_message(
        inbox.public_message(
            "facebook_comment",
            external_id=comment_id,
            author=author,
            text=text_of(value.get("message")) or "",
            sent_at=first_time(value.get("created_time")) or inbox.entry_time,
            root_id=post_id,
            parent_id=parent if parent != post_id else None,
            echo=echo,
            metadata={
                "post_id": post_id,
                "comment_id": comment_id,
                "echo_source": "page" if echo else None,
            },
            defects=defects,
        ),
        media,
        where,
    )


def _instagram_comment(
    value: dict, live: bool, where: str, inbox: MetaInbox, result: Normalized
) -> None:
    comment_id = as_id(value.get("id"))
    if not comment_id:
        result.skip("instagram comment without id", where)
        return
    author_id, author, defects = _author(value, comment_id, "username")
    media = obj(value.get("media"))
    parent = as_id(value.get("parent_id"))
    echo = author_id == inbox.inbox_id
    result.add_message(
        inbox.public_message(
            "instagram_comment",
            external_id=comment_id,
            author=author,
            text=text_of(value.get("text")) or "",
            # Comment notifications carry no time of their own: the entry's is the closest.
            sent_at=first_time(value.get("timestamp")) or inbox.entry_time,
            root_id=as_id(media.get("id")),
            parent_id=parent,
            echo=echo,
            metadata={
                "comment_id": comment_id,
                "media_id": as_id(media.get("id")),
                "media_product_type": text_of(media.get("media_product_type")),
                "ad_id": as_id(media.get("ad_id")),
                # Instagram attaches a reply to a reply under the top-level comment anyway.
                "reply_to_comment_id": parent or comment_id,
                "live": True if live else None,
                "echo_source": "account" if echo else None,
            },
            defects=defects,
        ),
        where=where,
    )


def _author(value: dict, comment_id: str, name_key: str) -> tuple[str, dict, list[str]]:
    """Return the commenter's id, party and defects; `from` is absent when privacy hides it."""
    sender = obj(value.get("from"))
    author_id = as_id(sender.get("id"))
    if author_id:
        name = text_of(sender.get(name_key))
        if name_key == "username":
            return author_id, party(author_id, handle=name), []
        return author_id, party(author_id, display_name=name), []
    # Keep the comment (an agent can still answer it publicly) under a per-comment identity.
    anonymous = f"anonymous:{comment_id}"
    return anonymous, party(anonymous), ["comment without 'from': the commenter is unknown"]
