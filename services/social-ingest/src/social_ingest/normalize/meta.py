"""Meta webhook deliveries (`object` page, instagram, whatsapp_business_account), entry by entry."""

from __future__ import annotations

from datetime import datetime

from social_ingest.accounts import Accounts, MetaApp
from social_ingest.normalize import meta_changes, meta_messaging, whatsapp
from social_ingest.normalize.meta_messaging import MetaInbox
from social_ingest.normalize.payload import as_id, first_time
from social_ingest.normalize.result import Body, Context, Normalized, each, start


def normalize(
    body: Body,
    *,
    accounts: Accounts,
    app: MetaApp,
    received_at: datetime,
    raw_sha256: str,
) -> Normalized:
    """Normalize one Meta delivery signed with `app`'s secret: one payload per event."""
    result, data, ctx = start(body, received_at, raw_sha256)
    if data is None:
        return result
    kind = data.get("object")
    if kind == "whatsapp_business_account":
        return whatsapp.normalize(
            data, accounts=accounts, app=app, received_at=received_at, raw_sha256=raw_sha256
        )
    if kind not in ("page", "instagram"):
        result.skip(f"unsupported Meta object {kind!r}", "object")
        return result

    def handle(entry: dict, where: str) -> None:
        inbox = _inbox(kind, entry, where, accounts, app, ctx, result)
        if inbox is not None:
            _entry(entry, where, inbox, result)

    each(data.get("entry"), "entry", result, handle)
    return result


def _inbox(
    kind: str,
    entry: dict,
    where: str,
    accounts: Accounts,
    app: MetaApp,
    ctx: Context,
    result: Normalized,
) -> MetaInbox | None:
    """Find the configured page or IG account this entry is for, owned by the signing app."""
    entry_id = as_id(entry.get("id"))
    handle = None
    if kind == "page":
        account = accounts.facebook_pages.get(entry_id or "")
    else:
        account = accounts.instagram_accounts.get(entry_id or "")
        handle = account.username if account else None
    label = "facebook page" if kind == "page" else "instagram account"
    if account is None:
        result.skip(f"no {label} {entry_id!r} is configured", where)
        return None
    if account.app != app.name:
        # The body is signed with another app's secret: it cannot speak for this account.
        result.skip(f"{label} {entry_id} belongs to app {account.app!r}, not {app.name!r}", where)
        return None
    return MetaInbox(kind, entry_id, app.app_id, ctx, first_time(entry.get("time")), handle)


def _entry(entry: dict, where: str, inbox: MetaInbox, result: Normalized) -> None:
    found = False
    for key in ("messaging", "standby"):
        if key in entry:
            found = True
            standby = key == "standby"
            each(
                entry[key],
                f"{where}.{key}",
                result,
                lambda event, path, standby=standby: meta_messaging.normalize_event(
                    event, path, inbox, result, standby
                ),
            )
    if "changes" in entry:
        found = True
        each(
            entry["changes"],
            f"{where}.changes",
            result,
            lambda change, path: meta_changes.normalize_change(change, path, inbox, result),
        )
    if not found:
        result.skip("entry without messaging, standby or changes", where)
