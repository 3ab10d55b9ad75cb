"""Prove that a webhook comes from the network it claims: handshakes and body signatures.

Every comparison goes through `hmac.compare_digest` on bytes, so neither the time it takes nor
a non-ASCII header can tell an attacker how much of a guess was right. Signatures are always
computed over the raw body bytes exactly as received: re-serialising parsed JSON changes the
bytes (Meta sends `\\u00e9` escapes) and breaks the check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

# Meta documents `hub.challenge` as an int; accepting only word characters keeps a reflected
# value from ever carrying markup, whatever content type the HTTP layer answers with.
_CHALLENGE = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")

API_SIGNATURE_HEADER = "X-Switchboard-Signature"
API_TIMESTAMP_HEADER = "X-Switchboard-Timestamp"
META_SIGNATURE_HEADER = "X-Hub-Signature-256"
X_SIGNATURE_HEADER = "x-twitter-webhooks-signature"
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: truthy when genuine, with the reason to log when not."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


_GENUINE = Verdict(True)


def _same(a: str | bytes, b: str | bytes) -> bool:
    """Compare in constant time; str is encoded so non-ASCII input cannot raise."""
    a_bytes = a.encode("utf-8", "surrogateescape") if isinstance(a, str) else a
    b_bytes = b.encode("utf-8", "surrogateescape") if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


def _hmac(secret: str, message: bytes, algorithm: str = "sha256") -> hmac.HMAC:
    return hmac.new(secret.encode("utf-8"), message, getattr(hashlib, algorithm))


def _check(header: str | None, expected: str, name: str) -> Verdict:
    if not header:
        return Verdict(False, f"missing {name} header")
    if not _same(header.strip(), expected):
        return Verdict(False, f"{name} does not match the body")
    return _GENUINE


# --- Meta (Messenger, Facebook Pages, Instagram, WhatsApp) -------------------------------


def meta_challenge(params: Mapping[str, str], verify_token: str) -> str | None:
    """Return the `hub.challenge` to echo with 200, or None to answer 403."""
    if params.get("hub.mode") != "subscribe":
        return None
    challenge = params.get("hub.challenge") or ""
    if not _CHALLENGE.match(challenge):
        return None
    if not _same(params.get("hub.verify_token") or "", verify_token):
        return None
    return challenge


def meta_signature(raw_body: bytes, app_secret: str) -> str:
    """Return the `X-Hub-Signature-256` value Meta sends for this body."""
    return "sha256=" + _hmac(app_secret, raw_body).hexdigest()


def meta_signature_sha1(raw_body: bytes, app_secret: str) -> str:
    """Return the legacy `X-Hub-Signature` value (HMAC-SHA1) Meta still sends alongside."""
    return "sha1=" + _hmac(app_secret, raw_body, "sha1").hexdigest()


def verify_meta(raw_body: bytes, header: str | None, app_secret: str) -> Verdict:
    """Check `X-Hub-Signature-256` against the raw body and the app secret."""
    # Meta sends lower-case hex; lower-casing ours and theirs accepts an upper-case relay.
    expected = meta_signature(raw_body, app_secret)
    return _check(header.lower() if header else header, expected, META_SIGNATURE_HEADER)


# --- X (Account Activity API) -------------------------------------------------------------


def x_signature(data: bytes, consumer_secret: str) -> str:
    """Return `sha256=<base64 HMAC>` as X computes it (for CRC tokens and for bodies)."""
    return "sha256=" + base64.b64encode(_hmac(consumer_secret, data).digest()).decode("ascii")


def x_crc_response(crc_token: str | None, consumer_secret: str) -> dict[str, str] | None:
    """Return the JSON body answering X's CRC challenge, or None when no token was sent."""
    if not crc_token:
        return None
    return {"response_token": x_signature(crc_token.encode("utf-8"), consumer_secret)}


def verify_x(raw_body: bytes, header: str | None, consumer_secret: str) -> Verdict:
    """Check `x-twitter-webhooks-signature` (base64, not hex) against the raw body."""
    return _check(header, x_signature(raw_body, consumer_secret), X_SIGNATURE_HEADER)


# --- Telegram ------------------------------------------------------------------------------


def verify_telegram(header: str | None, secret_token: str) -> Verdict:
    """Check `X-Telegram-Bot-Api-Secret-Token` against the secret given to setWebhook."""
    # Telegram signs nothing: the shared secret in a header is the whole proof.
    if not header:
        return Verdict(False, f"missing {TELEGRAM_SECRET_HEADER} header")
    if not _same(header, secret_token):
        return Verdict(False, f"{TELEGRAM_SECRET_HEADER} is wrong")
    return _GENUINE


# --- API channel ---------------------------------------------------------------------------


def api_signature(raw_body: bytes, secret: str, timestamp: int) -> str:
    """Return `sha256=<hex>` over `<timestamp>.<raw body>` (the README's API channel section)."""
    # The timestamp is inside the signed bytes, so a captured request cannot be replayed
    # later with a fresh timestamp header.
    message = str(int(timestamp)).encode("ascii") + b"." + raw_body
    return "sha256=" + _hmac(secret, message).hexdigest()


def verify_api(
    raw_body: bytes,
    signature: str | None,
    timestamp: str | None,
    secret: str,
    *,
    now: float,
    tolerance_seconds: int,
) -> Verdict:
    """Check the API channel's signature and that its timestamp is within the tolerance."""
    if not timestamp:
        return Verdict(False, f"missing {API_TIMESTAMP_HEADER} header")
    if not timestamp.isascii() or not timestamp.strip().isdigit():
        return Verdict(False, f"{API_TIMESTAMP_HEADER} is not a Unix time in seconds")
    sent = int(timestamp)
    if abs(now - sent) > tolerance_seconds:
        return Verdict(False, f"{API_TIMESTAMP_HEADER} is more than {tolerance_seconds}s off")
    expected = api_signature(raw_body, secret, sent)
    return _check(signature.lower() if signature else signature, expected, API_SIGNATURE_HEADER)
