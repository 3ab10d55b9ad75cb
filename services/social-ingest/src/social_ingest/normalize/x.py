"""X Account Activity API deliveries: tweets (mentions, replies), DMs and DM read receipts."""

from __future__ import annotations

from datetime import datetime

from social_ingest.accounts import Accounts, XAccount, XApp
from social_ingest.normalize.payload import (
    as_id,
    derived_id,
    first_time,
    message,
    obj,
    party,
    status,
    text_of,
)
from social_ingest.normalize.result import Body, Context, MediaRef, Normalized, each, start


def normalize(
    body: Body,
    *,
    accounts: Accounts,
    app: XApp,
    received_at: datetime,
    raw_sha256: str,
) -> Normalized:
    """Normalize one Account Activity delivery for the account named by `for_user_id`."""
    result, data, ctx = start(body, received_at, raw_sha256)
    if data is None:
        return result
    user_id = as_id(data.get("for_user_id"))
    account = accounts.x_accounts.get(user_id or "")
    if account is None:
        result.skip(f"no X account {user_id!r} is configured", "for_user_id")
        return result
    if account.app != app.name:
        result.skip(f"X account {user_id} belongs to app {account.app!r}", "for_user_id")
        return result
    users = obj(data.get("users"))
    keys = [k for k in data if k.endswith("_events")]
    if not keys:
        result.skip("delivery without any *_events array", "body")
    for key in keys:
        if key == "tweet_create_events":
            each(data[key], key, result, lambda t, p: _tweet(t, p, account, ctx, result))
        elif key == "direct_message_events":
            each(data[key], key, result, lambda e, p: _dm(e, p, account, app, users, ctx, result))
        elif key == "direct_message_mark_read_events":
            each(data[key], key, result, lambda e, p: _read(e, p, account, ctx, result))
        else:
            result.ignore(f"X {key} are not ingested", key)
    return result


def _tweet(tweet: dict, where: str, account: XAccount, ctx: Context, result: Normalized) -> None:
    if "retweeted_status" in tweet:
        result.ignore("a retweet: nothing was said to answer", where)
        return
    tweet_id = as_id(tweet.get("id_str")) or as_id(tweet.get("id"))
    user = obj(tweet.get("user"))
    author_id = as_id(user.get("id_str")) or as_id(user.get("id"))
    if not tweet_id or not author_id:
        result.skip("tweet without id_str or user id", where)
        return
    # Longer posts arrive truncated, with the whole text and entities in `extended_tweet`.
    extended = obj(tweet.get("extended_tweet"))
    source = extended or tweet
    text = (
        text_of(extended.get("full_text")) or text_of(tweet.get("full_text")) or tweet.get("text")
    )
    entities = obj(source.get("entities"))
    media_entities = obj(source.get("extended_entities")).get("media") or entities.get("media")
    parent = as_id(tweet.get("in_reply_to_status_id_str")) or as_id(
        tweet.get("in_reply_to_status_id")
    )
    reply_user = as_id(tweet.get("in_reply_to_user_id_str")) or as_id(
        tweet.get("in_reply_to_user_id")
    )
    # v1.1 payloads carry no conversation id: a tweet that replies to nothing starts its own
    # conversation; for a reply the root is unknown here and the inbox follows parent_id.
    conversation = as_id(tweet.get("conversation_id_str")) or (tweet_id if parent is None else None)
    mentions = [
        as_id(m.get("id_str")) for m in entities.get("user_mentions") or [] if isinstance(m, dict)
    ]
    echo = author_id == account.user_id
    recipient = None
    if echo and reply_user and reply_user != account.user_id:
        recipient = party(reply_user, handle=text_of(tweet.get("in_reply_to_screen_name")))
    result.add_message(
        message(
            ctx,
            channel="x_mention",
            inbox=account.user_id,
            external_id=tweet_id,
            visibility="public",
            author=party(author_id, text_of(user.get("screen_name")), text_of(user.get("name"))),
            recipient=recipient,
            text=_expand_urls(text_of(text) or "", entities.get("urls"), media_entities),
            sent_at=first_time(tweet.get("timestamp_ms"), tweet.get("created_at")),
            root_id=conversation,
            parent_id=parent,
            echo=echo,
            metadata={
                "tweet_id": tweet_id,
                "conversation_id": conversation,
                "in_reply_to_tweet_id": parent,
                "in_reply_to_user_id": reply_user,
                "author_screen_name": text_of(user.get("screen_name")),
                # X lets an API reply through only if the author summoned the account.
                "mentions_us": account.user_id in mentions or reply_user == account.user_id,
                "quoted_tweet_id": as_id(tweet.get("quoted_status_id_str")),
                "echo_source": "account" if echo else None,
            },
        ),
        _media(media_entities),
        where,
    )


def _dm(
    event: dict,
    where: str,
    account: XAccount,
    app: XApp,
    users: dict,
    ctx: Context,
    result: Normalized,
) -> None:
    if event.get("type") != "message_create":
        result.ignore(f"X direct message event {event.get('type')!r} is not ingested", where)
        return
    create = obj(event.get("message_create"))
    sender = as_id(create.get("sender_id"))
    target = as_id(obj(create.get("target")).get("recipient_id"))
    if not sender or not target:
        result.skip("direct message without sender_id and recipient_id", where)
        return
    data = obj(create.get("message_data"))
    media_entity = obj(obj(data.get("attachment")).get("media"))
    media_entities = [media_entity] if media_entity else []
    text = _expand_urls(
        text_of(data.get("text")) or "", obj(data.get("entities")).get("urls"), media_entities
    )
    sent_at = first_time(event.get("created_timestamp"))
    # Direction: X delivers DMs the account sent too (from our app or typed in X itself).
    echo = sender == account.user_id
    customer = target if echo else sender
    source_app = as_id(create.get("source_app_id"))
    event_id = as_id(event.get("id"))
    defects = []
    if not event_id:
        event_id = derived_id("x_dm", account.user_id, sender, event.get("created_timestamp"), text)
        defects.append("no event id: external_id derived from sender, time and text")
    result.add_message(
        message(
            ctx,
            channel="x_dm",
            inbox=account.user_id,
            external_id=event_id,
            visibility="private",
            author=_user(sender, users),
            recipient=_user(customer, users) if echo else None,
            text=text,
            sent_at=sent_at,
            echo=echo,
            metadata={
                # One-to-one conversation ids are the two user ids, lower first.
                "dm_conversation_id": "-".join(sorted((sender, target), key=_numeric)),
                "participant_id": customer,
                "source_app_id": source_app,
                "echo_source": ("switchboard" if source_app == app.app_id else "other")
                if echo
                else None,
            },
            defects=defects,
        ),
        _media(media_entities),
        where,
    )


def _read(event: dict, where: str, account: XAccount, ctx: Context, result: Normalized) -> None:
    reader = as_id(event.get("sender_id"))
    if reader == account.user_id:
        result.ignore("the account read a customer's DMs: not a delivery status", where)
        return
    result.add_status(
        status(
            ctx,
            channel="x_dm",
            inbox=account.user_id,
            status="read",
            occurred_at=first_time(event.get("created_timestamp")),
            external_ids=[as_id(event.get("last_read_event_id")) or ""],
            recipient_id=reader,
        ),
        where,
    )


def _user(user_id: str, users: dict) -> dict:
    user = obj(users.get(user_id))
    return party(user_id, text_of(user.get("screen_name")), text_of(user.get("name")))


def _numeric(user_id: str) -> tuple[int, str]:
    return (int(user_id), "") if user_id.isdigit() else (0, user_id)


def _expand_urls(text: str, urls: object, media: object) -> str:
    """Drop the t.co link of attached media, and show other links as their real address."""
    for item in media if isinstance(media, list) else []:
        short = text_of(obj(item).get("url"))
        if short:
            text = text.replace(short, "")
    for url in urls if isinstance(urls, list) else []:
        short, long = text_of(obj(url).get("url")), text_of(obj(url).get("expanded_url"))
        if short and long:
            text = text.replace(short, long)
    return text.strip()


def _media(entities: object) -> list[MediaRef]:
    """Photos by their https URL; videos and GIFs by their highest-bitrate MP4 variant."""
    refs = []
    for item in entities if isinstance(entities, list) else []:
        item = obj(item)
        variants = [
            v for v in obj(item.get("video_info")).get("variants") or [] if isinstance(v, dict)
        ]
        mp4 = [
            v for v in variants if v.get("content_type") == "video/mp4" and text_of(v.get("url"))
        ]
        if mp4:
            best = max(mp4, key=lambda v: v.get("bitrate") or 0)
            refs.append(MediaRef(url=best["url"], content_type="video/mp4"))
        elif text_of(item.get("media_url_https")):
            refs.append(MediaRef(url=item["media_url_https"]))
    return refs
