"""Classify the providers' error answers as channels.md sections 1.9, 2.5 and 3 say.

Pure functions of (HTTP status, parsed body, headers, now): each returns the SendFailure the
client raises. Meta and WhatsApp are classified on the Graph `code`/`error_subcode`, never on
the HTTP status (Meta's own advice); X on the status, with `x-rate-limit-reset` as the time
to wait for; Telegram on `error_code` with `parameters.retry_after`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from notifier.delivery_errors import (
    PermanentFailure,
    RateLimited,
    SendFailure,
    TransientFailure,
    WindowClosed,
)

# Graph codes (section 1.9, 3.1).
GRAPH_RATE_LIMITS = frozenset({4, 17, 32, 613, 341, 130429, 131056}) | frozenset(
    range(80000, 80015)
)
GRAPH_TRANSIENT = frozenset({1, 2, 1200, 131000})
GRAPH_POLICY_BLOCK = 368
GRAPH_TOKEN = 190
GRAPH_WINDOW_SUBCODE = 2018278
WHATSAPP_REENGAGEMENT = 131047
# A policy block lasts hours or days: wait long, and let an operator look.
POLICY_BLOCK_WAIT = timedelta(hours=1)


def graph_error(
    status: int, body: Any, headers: Mapping[str, str], now: datetime, product: str
) -> SendFailure:
    """Classify a Graph API error answer (Messenger, Pages, Instagram, WhatsApp)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        return _http_status_error(status, product, _snippet(body))
    code, subcode = error["code"], error.get("error_subcode")
    message = str(error.get("message") or "").strip()
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    said = f"{message} {details}".strip() if details else message
    where = f"code {code}" + (f"/{subcode}" if subcode else "")
    reason = f"{product} refused the reply: {said} ({where})"
    if code in GRAPH_RATE_LIMITS:
        return RateLimited(reason, _regain_access(headers, now))
    if code == GRAPH_POLICY_BLOCK:
        return RateLimited(
            f"{reason}; the account is blocked for policy reasons, an administrator should "
            "check it in Meta Business Suite",
            now + POLICY_BLOCK_WAIT,
        )
    if code in GRAPH_TRANSIENT:
        return TransientFailure(reason)
    if subcode == GRAPH_WINDOW_SUBCODE:
        return WindowClosed(
            f"{product} refused the reply: the customer last wrote more than 24 hours ago "
            f"(7 days with the HUMAN_AGENT tag); they must write again first ({where})"
        )
    if code == WHATSAPP_REENGAGEMENT:
        return WindowClosed(
            "WhatsApp refused the reply: the customer last wrote more than 24 hours ago, so "
            f"only an approved template can be sent until they write again ({where})"
        )
    if code == GRAPH_TOKEN:
        return PermanentFailure(
            f"{reason}; the access token is invalid or expired: re-authorize the account"
        )
    return PermanentFailure(reason)


def _regain_access(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When X-Business-Use-Case-Usage says access returns (minutes), the latest one."""
    raw = _header(headers, "x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
        minutes = [
            float(entry.get("estimated_time_to_regain_access") or 0)
            for entries in usage.values()
            for entry in entries
        ]
    except (ValueError, AttributeError, TypeError):
        return None
    longest = max(minutes, default=0)
    return now + timedelta(minutes=longest) if longest > 0 else None


def x_error(status: int, body: Any, headers: Mapping[str, str], now: datetime) -> SendFailure:
    """Classify an X API v2 error: problem details or the v1.1 `errors` form."""
    said = _x_said(body) or f"HTTP {status}"
    if status == 429:
        reset = _header(headers, "x-rate-limit-reset")
        not_before = _epoch(reset)
        return RateLimited(f"X rate limit reached: {said}", not_before)
    if status >= 500:
        return TransientFailure(f"X is unavailable: {said} (HTTP {status})")
    if status == 403:
        return PermanentFailure(
            f"X refused the reply: {said} (HTTP 403; replies need the author to have "
            "mentioned us, DMs need the customer to accept them)"
        )
    return PermanentFailure(f"X refused the reply: {said} (HTTP {status})")


def _x_said(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    if body.get("detail") or body.get("title"):
        return str(body.get("detail") or body.get("title"))
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        text = first.get("message") or first.get("detail") or first.get("title")
        return f"{text} (code {first['code']})" if "code" in first else str(text)
    if body.get("error"):
        return str(body["error"])
    return None


def telegram_error(status: int, body: Any, now: datetime) -> SendFailure:
    """Classify a Bot API error: 429 waits `retry_after`, 5xx retries, the rest is final."""
    body = body if isinstance(body, dict) else {}
    code = body.get("error_code") if isinstance(body.get("error_code"), int) else status
    said = str(body.get("description") or f"HTTP {status}")
    parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    if code == 429:
        retry_after = parameters.get("retry_after")
        not_before = now + timedelta(seconds=float(retry_after)) if retry_after else None
        return RateLimited(f"Telegram rate limit reached: {said}", not_before)
    if code >= 500 or status >= 500:
        return TransientFailure(f"Telegram is unavailable: {said}")
    if parameters.get("migrate_to_chat_id"):
        return PermanentFailure(
            f"Telegram refused the reply: {said}; the group became a supergroup "
            f"{parameters['migrate_to_chat_id']}"
        )
    return PermanentFailure(f"Telegram refused the reply: {said} (error {code})")


def _http_status_error(status: int, product: str, said: str) -> SendFailure:
    """An answer without the provider's error body (a proxy's page, say): go by status."""
    if status == 429:
        return RateLimited(f"{product} rate limit reached (HTTP 429): {said}")
    if status >= 500:
        return TransientFailure(f"{product} is unavailable (HTTP {status}): {said}")
    return PermanentFailure(f"{product} refused the reply (HTTP {status}): {said}")


def _snippet(body: Any) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    return " ".join(text.split())[:200] or "no body"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _epoch(value: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), UTC) if value else None
    except (ValueError, OverflowError):
        return None
