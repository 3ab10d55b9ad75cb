"""Encodings and broken structure: legacy charsets, 8-bit headers, uuencode, nesting, junk."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

import pytest

from email_ingest import NotEmailError, parse_email

from .mail_builders import RECEIVED, build_mail, multipart, part
from .mail_builders import parse_built as parse


def test_iso_2022_jp_header_and_body() -> None:
    """Japanese mail in ISO-2022-JP, subject as an encoded word, body 7-bit."""
    subject = (
        "=?ISO-2022-JP?B?" + base64.b64encode("ご注文について".encode("iso2022_jp")).decode() + "?="
    )
    raw = build_mail(
        "お荷物が届きません。\n".encode("iso2022_jp"),
        content_type="text/plain; charset=ISO-2022-JP",
        headers={"Subject": subject},
    )
    payload = parse(raw).payload
    assert payload["subject"] == "ご注文について"
    assert payload["text"] == "お荷物が届きません。\n"


def test_utf7_header_and_body() -> None:
    """UTF-7 (and its 'unicode-1-1-utf-7' label) in encoded words and bodies."""
    raw = build_mail(
        b"Die +ANw-bermittlung ist fehlgeschlagen.\n",
        content_type="text/plain; charset=unicode-1-1-utf-7",
        headers={"Subject": "=?utf-7?Q?+ANw-bermittlungsstatus?="},
    )
    payload = parse(raw).payload
    assert payload["subject"] == "Übermittlungsstatus"
    assert payload["text"] == "Die Übermittlung ist fehlgeschlagen.\n"


def _uuencode(data: bytes, name: str) -> bytes:
    lines = [binascii.b2a_uu(data[i : i + 45]) for i in range(0, len(data), 45)]
    return f"begin 644 {name}\n".encode() + b"".join(lines) + b"`\nend\n"


def test_x_uuencode_part_and_inline_uuencoded_file() -> None:
    """Content-Transfer-Encoding x-uuencode parts and `begin 644` blocks become attachments."""
    data = bytes(range(256)) * 3
    content_type, body = multipart(
        "mixed",
        part(
            "text/plain; charset=us-ascii",
            b"Report attached.\n\n" + _uuencode(b"a;b\n1;2\n", "r.csv"),
        ),
        part(
            "application/octet-stream; name=blob.bin",
            _uuencode(data, "blob.bin"),
            Content_Transfer_Encoding="x-uuencode",
        ),
    )
    parsed = parse(build_mail(body, content_type=content_type))
    by_name = {a["filename"]: a for a in parsed.payload["attachments"]}
    assert parsed.blobs[by_name["blob.bin"]["sha256"]] == data
    assert parsed.blobs[by_name["r.csv"]["sha256"]] == b"a;b\n1;2\n"
    assert by_name["r.csv"]["content_type"] == "text/csv"
    assert parsed.payload["text"].strip() == "Report attached."


def test_nested_message_keeps_its_bytes_and_fills_an_empty_body() -> None:
    """A forwarded message/rfc822 is an attachment of its exact bytes; alone, it is the body."""
    inner = (
        b"From: Bob <bob@example.net>\r\nSubject: Invoice 42\r\n"
        b"Message-ID: <inner@example.net>\r\n\r\nPlease pay invoice 42.\r\n"
    )
    content_type, body = multipart("mixed", part("message/rfc822", inner))
    parsed = parse(build_mail(body, content_type=content_type))
    attachment = parsed.payload["attachments"][0]
    assert attachment["filename"] == "Invoice 42.eml"
    assert attachment["content_type"] == "message/rfc822"
    assert parsed.blobs[attachment["sha256"]] == inner
    assert parsed.payload["text"].strip() == "Please pay invoice 42."


def test_raw_8bit_headers_are_guessed() -> None:
    """Unencoded UTF-8 and latin-1 bytes in headers decode, with a defect recorded."""
    raw = build_mail(
        headers={"Subject": "Bestellung für Jürgen"},
        extra=b"X-Note: x\r\n",
    ).replace(b"Jane Customer", "Zoë Çelik".encode())
    payload = parse(raw).payload
    assert payload["subject"] == "Bestellung für Jürgen"
    assert payload["author"]["display_name"] == "Zoë Çelik"
    latin = build_mail(headers={"Subject": "x"}).replace(
        b"Subject: x", "Subject: Grüße".encode("latin-1")
    )
    assert parse(latin).payload["subject"] == "Grüße"
    assert any("8-bit" in d for d in payload["defects"])


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("=?koi8-r?B?" + base64.b64encode("Привет".encode("koi8-r")).decode() + "?=", "Привет"),
        ("=?windows-1251?Q?=CF=F0=E8=E2=E5=F2?=", "Привет"),
        ("=?gb2312?B?" + base64.b64encode("订单".encode("gb2312")).decode() + "?=", "订单"),
        ("=?utf-8?B?w6Q=?= =?utf-8?B?w7Y=?=", "äö"),
        ("=?utf-8?Q?=C3?= =?utf-8?Q?=A4x?=", "äx"),  # one character split across two words
        ("=?iso-8859-1?q?caf=E9?= au lait", "café au lait"),
        ("=?x-unknown?Q?abc?=", "abc"),
    ],
)
def test_rfc2047_words_in_legacy_charsets(encoded: str, decoded: str) -> None:
    """Encoded words in any charset Python knows, adjacent words joined, unknown ones guessed."""
    assert parse(build_mail(headers={"Subject": encoded})).payload["subject"] == decoded


def test_missing_boundary_is_guessed() -> None:
    """multipart without a boundary parameter: the parts are still found."""
    _, body = multipart(
        "alternative", part("text/plain", b"plain body"), part("text/html", b"<b>html body</b>")
    )
    payload = parse(build_mail(body, content_type="multipart/alternative")).payload
    assert payload["text"] == "plain body" and "<b>html body</b>" in payload["html"]
    assert any("boundary" in d for d in payload["defects"])


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b"%PDF-1.7\n...", "PDF"),
        (b'{"from": "x"}', "JSON"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "Outlook"),
        (b"just some words\nand more words\n", "header"),
        (b"Foo: bar\nBaz: qux\n\nbody", "no email header"),
    ],
)
def test_payloads_that_are_not_email_are_rejected(raw: bytes, reason: str) -> None:
    """Only a payload that cannot be an email is refused, and the reason says why."""
    with pytest.raises(NotEmailError, match=reason):
        parse_email(raw, inbox="support@example.com", received_at=RECEIVED)


def test_nul_characters_never_reach_the_payload() -> None:
    """PostgreSQL text cannot hold NUL: it is dropped from every string."""
    payload = parse(build_mail(b"a\x00b", headers={"Subject": "x\x00y"})).payload
    assert payload["text"] == "ab" and payload["subject"] == "xy"


@pytest.mark.parametrize(
    ("content_type", "defect"),
    [
        ("text/plain; charset=UTF\x00-8", "unknown charset"),  # found by the fuzz test
        ("text/plain; charset*=utf-8''utf-8", None),  # RFC 2231 form: the stdlib gets a tuple
    ],
)
def test_8bit_body_with_an_odd_charset_parameter_is_read(content_type: str, defect) -> None:
    """A charset name the stdlib's own decode chokes on still gives the body, not a failure."""
    payload = parse(
        build_mail("Hällo\n".encode(), content_type=content_type, headers={"MIME-Version": None})
    ).payload
    assert payload["text"] == "Hällo\n"
    assert not any(d.startswith("parser failure") for d in payload["defects"])
    assert defect is None or any(defect in d for d in payload["defects"])


def test_base64_body_with_stray_8bit_bytes_is_decoded() -> None:
    """Junk bytes inside base64 are skipped like any other non-alphabet character."""
    raw = build_mail(b"SGVs\xff\xfebG8=\r\n", extra=b"Content-Transfer-Encoding: base64\r\n")
    assert parse(raw).payload["text"] == "Hello"


def test_junk_line_before_headers_and_unindented_header_lines() -> None:
    """A gateway banner before the headers and a wrapped header without indent are repaired."""
    raw = b"---- Original email message ----\r\n" + build_mail(
        extra=b"Received: from mx.example.org\r\nby mx.example.com with ESMTP\r\n"
    )
    payload = parse(raw).payload
    assert payload["subject"] == "Where is my order?"
    assert payload["author"]["email"] == "jane@example.org"
    assert len(payload["defects"]) == 2


def test_received_at_without_timezone_is_taken_as_utc() -> None:
    """A naive receive time is UTC, and every time in the payload is UTC ISO 8601."""
    parsed = parse_email(
        build_mail(headers={"Date": None}),
        inbox="s@x.example",
        received_at=datetime(2024, 1, 1, 8, 0),
    )
    assert parsed.payload["received_at"] == parsed.payload["sent_at"] == "2024-01-01T08:00:00+00:00"


def test_format_flowed_text_is_unwrapped() -> None:
    """Soft line breaks of format=flowed join; quoted lines keep their depth; sig stays."""
    body = b"My order \r\nnever came.\r\n\r\n> Did it \r\n> arrive?\r\n-- \r\nJane\r\n"
    payload = parse(
        build_mail(body, content_type="text/plain; charset=utf-8; format=flowed")
    ).payload
    assert payload["text"] == "My order never came.\n\n> Did it arrive?\n-- \nJane\n"
    assert payload["reply_text"] == "My order never came."
