"""Header decoding: raw 8-bit bytes, RFC 2047 encoded words, addresses, message ids, dates."""

from __future__ import annotations

import binascii
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from marshmallow import ValidationError
from marshmallow.validate import Email

from email_ingest.charsets import codec_name, decode_bytes, guess_charset
from email_ingest.mime_params import param

logger = logging.getLogger(__name__)

# An encoded word (RFC 2047 2): no whitespace inside, optional RFC 2231 language suffix.
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
# Broken encoders leave spaces inside the encoded text; tried when the strict form finds none.
_LOOSE_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?]*?)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_MSG_ID = re.compile(r"<([^<>]+)>")
_QUOTED_PAIR = re.compile(r"\\(.)")
# `Name <local@domain>` or `<local@domain>` with plain words and dot-atoms: most From and To
# values. getaddresses reads them as (name, address) too, at many times the cost.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_SIMPLE_MAILBOX = re.compile(
    rf"((?:{_ATEXT} )*{_ATEXT} )?<({_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>"
)
_ADDRESS_SPECIALS = re.compile(r'[<>"()]')
_LOOSE_ADDRESS = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+$")
_EMAIL_VALIDATOR = Email()
_SURROGATE_ESCAPE = re.compile("[\udc80-\udcff]")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
# The Date form nearly every mailer writes: `Tue, 20 Feb 2024 10:00:00 +0100`.
_COMMON_DATE = re.compile(
    rf"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{{1,2}}) ({'|'.join(_MONTH_NAMES)}) "
    r"([1-9]\d{3}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)",
    re.ASCII,
)


@dataclass(frozen=True)
class Address:
    """One mailbox of an address header, decoded."""

    email: str
    display_name: str | None


class HeaderDecoder:
    """Decode the headers of one message, with the charsets its parts declare as hints."""

    def __init__(self, defects: list[str], hints: Iterable[str] = (), msg: Message | None = None):
        self.defects = defects
        self.hints = [h for h in hints if h]
        self._raw_header_hints = _guess_header_charset(msg) if msg is not None else []
        # Header fields by lower-cased name, per message: a mail's headers are looked up
        # some twenty times, each a scan of all fields. The message is kept with its index
        # so that its id cannot be reused by another message.
        self._fields: dict[int, tuple[Message, dict[str, list[str]]]] = {}

    def raw_values(self, msg: Message, name: str) -> list[str]:
        """Return a header's values as received (8-bit bytes kept as surrogate escapes).

        `Message.get` of the compat32 policy turns 8-bit bytes into U+FFFD; `raw_items` does not.
        """
        cached = self._fields.get(id(msg))
        if cached is None or cached[0] is not msg:
            fields: dict[str, list[str]] = {}
            for key, value in msg.raw_items():
                fields.setdefault(key.lower(), []).append(str(value))
            cached = self._fields[id(msg)] = (msg, fields)
        return cached[1].get(name.lower(), [])

    def raw(self, msg: Message, name: str) -> str | None:
        """Return the unfolded header value with 8-bit bytes decoded, or None if absent."""
        values = self.raw_values(msg, name)
        return self.text_of(values[0], name) if values else None

    def text_of(self, value: str, name: str) -> str:
        """Unfold a raw header value and decode raw 8-bit bytes (kept as surrogates)."""
        if "\n" in value:
            value = _FOLD.sub("", value)
        if value.isascii():
            return value
        data = value.encode("ascii", "surrogateescape") if _has_surrogates(value) else None
        if data is not None:
            self.defects.append(f"header {name}: raw 8-bit bytes")
            hints = [*self._raw_header_hints, *self.hints]
            value = decode_bytes(data, None, self.defects, f"header {name}", hints)
        return value

    def decoded(self, msg: Message, name: str) -> str | None:
        """Return a header's text with encoded words decoded, or None if absent."""
        value = self.raw(msg, name)
        return None if value is None else self.decode_words(value, name)

    def decode_words(self, value: str, name: str) -> str:
        """Decode RFC 2047 encoded words, joining adjacent ones of one charset before decoding."""
        if "=?" not in value:
            return value
        out: list[str] = []
        pending: tuple[str, bytearray] | None = None
        pos = 0
        pattern = _ENCODED_WORD if _ENCODED_WORD.search(value) else _LOOSE_ENCODED_WORD
        for match in pattern.finditer(value):
            between = value[pos : match.start()]
            data = _decode_word_payload(match.group(2), match.group(3))
            charset = match.group(1)
            if data is None:
                self.defects.append(f"header {name}: broken encoded word {match.group(0)[:40]!r}")
                pending = self._flush(pending, out, name)
                out.append(between + match.group(0))
            elif pending is not None and not between.strip() and pending[0] == charset.lower():
                pending[1].extend(data)  # whitespace between adjacent encoded words is dropped
            else:
                pending = self._flush(pending, out, name)
                if between.strip() or not out or pos == 0:
                    out.append(between)
                pending = (charset.lower(), bytearray(data))
            pos = match.end()
        self._flush(pending, out, name)
        out.append(value[pos:])
        return "".join(out)

    def _flush(self, pending: tuple[str, bytearray] | None, out: list[str], name: str) -> None:
        """Decode the bytes of the pending run of encoded words into `out`; return None."""
        if pending is not None:
            charset, data = pending
            out.append(decode_bytes(bytes(data), charset, self.defects, f"header {name}"))
        return None

    def addresses(self, msg: Message, name: str) -> list[Address]:
        """Parse an address header (all its occurrences) into decoded mailboxes."""
        result: list[Address] = []
        for value in self.raw_values(msg, name):
            text = self.text_of(value, name)
            for display, addr in _split_addresses(text):
                addr = _unquote(addr.strip())
                display = _unquote(display.strip())
                if "@" not in addr and _LOOSE_ADDRESS.match(display):
                    addr, display = display, addr  # "Name (addr@host)" read the wrong way round
                display_name = self.decode_words(display, name).strip() or None
                if not addr:
                    if display_name and _LOOSE_ADDRESS.match(display_name):
                        addr, display_name = display_name, None
                    else:
                        continue
                if not _LOOSE_ADDRESS.match(addr):
                    self.defects.append(f"header {name}: malformed address {addr[:80]!r}")
                result.append(Address(addr, display_name))
        return result


def _guess_header_charset(msg: Message) -> list[str]:
    """Guess the charset of all raw 8-bit header bytes at once: one value is too short to tell."""
    sample = b" ".join(
        str(value).encode("ascii", "surrogateescape")
        for _, value in msg.raw_items()
        if _has_surrogates(str(value))
    )
    if not sample:
        return []
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        guessed = guess_charset(sample)
        return [guessed] if guessed else []
    return []


def _has_surrogates(value: str) -> bool:
    return not value.isascii() and _SURROGATE_ESCAPE.search(value) is not None


def _decode_word_payload(encoding: str, payload: str) -> bytes | None:
    try:
        if encoding in "bB":
            payload = payload.rstrip("=")
            return binascii.a2b_base64(payload + "=" * (-len(payload) % 4))
        return _decode_q(payload)
    except (binascii.Error, ValueError):
        return None


def _decode_q(payload: str) -> bytes:
    out = bytearray()
    i = 0
    raw = payload.encode("ascii", "surrogateescape")
    while i < len(raw):
        ch = raw[i]
        if ch == 0x5F:  # "_" is a space in the Q encoding
            out.append(0x20)
        elif ch == 0x3D and _is_hex(raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 2
        else:
            out.append(ch)
        i += 1
    return bytes(out)


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(c in b"0123456789abcdefABCDEF" for c in pair)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = _QUOTED_PAIR.sub(r"\1", value[1:-1])
    return value


def _split_addresses(text: str) -> list[tuple[str, str]]:
    """Split an address list; bare lists separated by spaces or semicolons are common too."""
    if not _ADDRESS_SPECIALS.search(text):
        tokens = [t for t in re.split(r"[,;\s]+", text) if t]
        if len(tokens) > 1 or (tokens and ":" not in tokens[0]):
            return [("", t) for t in tokens if "@" in t] or [(t, "") for t in tokens[:1]]
    simple = _SIMPLE_MAILBOX.fullmatch(text)
    if simple:
        return [((simple.group(1) or "").rstrip(" "), simple.group(2))]
    try:
        return getaddresses([text])
    except Exception:
        logger.debug("getaddresses failed", exc_info=True)
        return [("", m) for m in re.findall(r"[^\s<>\"(),;:]+@[^\s<>\"(),;:]+", text)]


def is_valid_email(address: str) -> bool:
    """Say whether the bus schema accepts `address` as an email."""
    try:
        _EMAIL_VALIDATOR(address)
    except ValidationError:
        return False
    return True


def message_ids(value: str | None) -> list[str]:
    """Return the `<id>`s in a header value, whitespace removed, duplicates dropped."""
    if not value:
        return []
    ids: list[str] = []
    for match in _MSG_ID.finditer(value):
        inner = "".join(match.group(1).split())
        if inner and f"<{inner}>" not in ids:
            ids.append(f"<{inner}>")
    if not ids:
        # Some mailers omit the brackets; a lone token is still an id worth threading on.
        token = value.strip()
        if token and not any(ch.isspace() for ch in token) and "@" in token:
            ids.append(f"<{token.strip('<>')}>")
    return ids


def parse_date(value: str | None) -> datetime | None:
    """Parse an RFC 5322 date to an aware UTC datetime, or None if missing or broken."""
    if not value or not value.strip():
        return None
    try:
        parsed = _parse_date_value(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # "-0000" means UTC of unknown local zone
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _parse_date_value(value: str) -> datetime:
    """Return `parsedate_to_datetime(value)`, reading the common form without the stdlib's parser.

    Raises as the stdlib does (ValueError) for an impossible date, time or offset.
    """
    match = _COMMON_DATE.fullmatch(value)
    if match is None:
        return parsedate_to_datetime(value)
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    moment = (int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second))
    offset = int(zone_hours) * 3600 + int(zone_minutes) * 60
    if sign == "-":
        if not offset:
            return datetime(*moment)  # "-0000": the sender's zone is unknown
        offset = -offset
    return datetime(*moment, tzinfo=timezone(timedelta(seconds=offset)))


def charset_hints(msg: Message) -> list[str]:
    """Return the charsets a message's parts declare, most specific first."""
    hints: list[str] = []
    for part in msg.walk():
        charset = param(part, "charset")
        if isinstance(charset, tuple):
            charset = charset[2]
        codec = codec_name(str(charset)) if charset else None
        if codec and codec not in ("ascii", "utf-8") and codec not in hints:
            hints.append(codec)
    return hints
