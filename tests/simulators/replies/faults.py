"""Errors the reply simulator can be told to answer with, in each provider's own format.

Meta codes and messages follow channels.md section 1.9 and 3.1; X's 429 comes in both body forms
of section 2.5; Telegram's in section 3.2. A `Fault` with only a `delay` answers normally after
sleeping, which is how a client timeout is provoked.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Fault:
    """An injected answer: status, JSON body and headers, after an optional delay."""

    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None  # a non-JSON body, e.g. a load balancer's HTML error page
    content_type: str = "application/json"

    def payload(self) -> bytes:
        """The response body bytes."""
        return self.raw if self.raw is not None else json.dumps(self.body).encode()


def graph_body(
    code: int,
    message: str,
    subcode: int | None = None,
    error_type: str = "OAuthException",
    **extra: Any,
) -> dict:
    """The Graph API error body: message, type, code, fbtrace_id, and the optional fields."""
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(8)
    return {"error": error}


def graph_status(code: int) -> int:
    """The HTTP status Graph pairs with a code (clients must classify on the code, not this)."""
    if code in (1, 2):
        return 500
    if code == 10 or 200 <= code <= 299:
        return 403
    return 400


# name: (code, subcode, message) — channels.md section 1.9 and 3.1.
META_ERRORS: dict[str, tuple[int, int | None, str]] = {
    "unknown_1": (1, None, "An unknown error occurred."),
    "service_2": (2, None, "An unexpected error has occurred. Please retry your request later."),
    "app_limit_4": (4, None, "(#4) Application request limit reached"),
    "user_limit_17": (17, None, "(#17) User request limit reached"),
    "page_limit_32": (32, None, "(#32) Page request limit reached"),
    "rate_limit_613": (613, None, "(#613) Calls to this api have exceeded the rate limit."),
    "buc_80006": (80006, None, "(#80006) There have been too many messages sent to this Page."),
    "policy_368": (
        368,
        None,
        "(#368) The action attempted has been deemed abusive or is otherwise disallowed",
    ),
    "temporary_1200": (1200, None, "Temporary send message failure. Please try again later."),
    "token_190": (190, 460, "Error validating access token: The session has been invalidated."),
    "window_2018278": (10, 2018278, "(#10) This message is sent outside of allowed window."),
    "unavailable_551": (551, 1545041, "(#551) This person isn't available right now."),
    "bad_param_100": (100, 2018001, "(#100) No matching user found"),
}
WHATSAPP_ERRORS: dict[str, tuple[int, str, str]] = {
    "reengagement_131047": (
        131047,
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number.",
    ),
    "throughput_130429": (
        130429,
        "(#130429) Rate limit hit",
        "Cloud API message throughput has been reached.",
    ),
    "pair_rate_131056": (
        131056,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient phone "
        "number in a short period of time.",
    ),
    "undeliverable_131026": (
        131026,
        "(#131026) Message Undeliverable",
        "Unable to deliver message.",
    ),
}


def meta_error(name: str, *, buc_minutes: int | None = None) -> Fault:
    """A named Messenger/Graph error; `buc_minutes` adds X-Business-Use-Case-Usage."""
    code, subcode, message = META_ERRORS[name]
    headers = {}
    if buc_minutes is not None:
        usage = {"type": "messenger", "call_count": 100, "total_cputime": 25, "total_time": 25}
        usage["estimated_time_to_regain_access"] = buc_minutes
        headers["X-Business-Use-Case-Usage"] = json.dumps({"102290129340398": [usage]})
    return Fault(graph_status(code), graph_body(code, message, subcode), headers)


def whatsapp_error(name: str) -> Fault:
    """A named WhatsApp Cloud API error (Graph format with `error_data.details`)."""
    code, message, details = WHATSAPP_ERRORS[name]
    body = graph_body(
        code, message, error_data={"messaging_product": "whatsapp", "details": details}
    )
    return Fault(400, body)


def x_rate_limited(reset: int, form: str = "problem", limit: int = 100) -> Fault:
    """X's 429: the v2 problem body or the v1.1 `errors[code 88]` form; reset in epoch s."""
    if form == "problem":
        body = {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        }
    else:
        body = {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
    headers = {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(reset),
    }
    return Fault(429, body, headers)


def x_problem(status: int, title: str, detail: str, problem: str = "about:blank") -> Fault:
    """An X v2 problem-details error."""
    return Fault(status, {"title": title, "detail": detail, "type": problem, "status": status})


def telegram_error(code: int, description: str, retry_after: int | None = None) -> Fault:
    """A Bot API error; `retry_after` goes into `parameters` (429)."""
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return Fault(code, body)


def gateway_error(status: int = 502) -> Fault:
    """A 5xx from the provider's edge, with an HTML body as load balancers send."""
    page = f"<html><body><h1>{status} Server Error</h1></body></html>".encode()
    return Fault(status, raw=page, content_type="text/html")


def slow(seconds: float) -> Fault:
    """Answer normally, but only after `seconds` (to trip the client's timeout)."""
    return Fault(delay=seconds)
