"""The parser's features one by one, on mails built for the purpose: ids, dates, HTML, flags."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta

import pytest

from .mail_builders import RECEIVED, build_mail, multipart, part
from .mail_builders import parse_built as parse


def test_basic_fields_follow_the_contract() -> None:
    """Author, recipients, ids and times are shaped as message.received/1 says."""
    payload = parse(build_mail(headers={"Cc": '"Doe, John" <John@Example.org>'})).payload
    assert payload["channel"] == "email" and payload["visibility"] == "private"
    assert payload["external_id"] == "<order-1@example.org>"
    assert payload["author"] == {
        "external_id": "jane@example.org",
        "email": "jane@example.org",
        "display_name": "Jane Customer",
        "handle": None,
    }
    assert payload["recipients"]["cc"] == [
        {"email": "John@Example.org", "display_name": "Doe, John"}
    ]
    assert payload["sent_at"] == "2024-02-20T09:00:00+00:00"
    assert payload["received_at"] == RECEIVED.isoformat()
    assert payload["text"] == "Hello, my order has not arrived.\n"
    assert payload["reply_text"] == "Hello, my order has not arrived."
    assert (
        payload["raw_sha256"]
        == hashlib.sha256(build_mail(headers={"Cc": '"Doe, John" <John@Example.org>'})).hexdigest()
    )


def test_missing_message_id_is_derived_stably() -> None:
    """Same mail, any receive time: same id; another body: another id."""
    raw = build_mail(headers={"Message-ID": None})
    first = parse(raw).payload
    again = parse(raw, RECEIVED + timedelta(days=3)).payload
    other = parse(build_mail("Different text", headers={"Message-ID": None})).payload
    assert re.fullmatch(r"<[0-9a-f]{32}@switchboard\.generated>", first["external_id"])
    assert first["external_id"] == again["external_id"] != other["external_id"]
    assert any("Message-ID" in d for d in first["defects"])


@pytest.mark.parametrize("date", [None, "", "yesterday at noon", "Mon, 32 Foo 2024 99:99:99"])
def test_missing_or_broken_date_falls_back_to_received_time(date: str | None) -> None:
    """No usable Date: sent_at is the time we received the mail, and a defect says so."""
    payload = parse(build_mail(headers={"Date": date})).payload
    assert payload["sent_at"] == RECEIVED.isoformat()
    assert any("Date" in d for d in payload["defects"])


def test_date_far_in_the_future_falls_back() -> None:
    """A Date years ahead of our clock is a broken clock, not a fact."""
    payload = parse(build_mail(headers={"Date": "Fri, 1 Jan 2100 00:00:00 +0000"})).payload
    assert payload["sent_at"] == RECEIVED.isoformat()


def test_in_reply_to_takes_the_first_id_and_references_keep_order() -> None:
    """In-Reply-To with several ids keeps the first; References are all ids, deduplicated."""
    raw = build_mail(
        headers={
            "In-Reply-To": "<first@x.example>, <second@x.example>",
            "References": "<root@x.example>\r\n <first@x.example> <root@x.example>",
        }
    )
    thread = parse(raw).payload["thread"]
    assert thread["in_reply_to"] == "<first@x.example>"
    assert thread["references"] == ["<root@x.example>", "<first@x.example>"]


def test_cid_images_map_to_their_attachments() -> None:
    """An inline image referenced by cid: points at its blob and is marked inline."""
    png = b"\x89PNG\r\n\x1a\nfake image bytes"
    html = b'<p>See the logo:</p><img src="cid:logo@x.example" alt="logo">'
    content_type, body = multipart(
        "related",
        part("text/html; charset=utf-8", html),
        part(
            "image/png",
            base64.b64encode(png),
            Content_Transfer_Encoding="base64",
            Content_ID="<logo@x.example>",
            Content_Disposition='inline; filename="logo.png"',
        ),
    )
    parsed = parse(build_mail(body, content_type=content_type))
    attachment = parsed.payload["attachments"][0]
    digest = hashlib.sha256(png).hexdigest()
    assert attachment["sha256"] == digest and parsed.blobs[digest] == png
    assert attachment["inline"] and attachment["content_id"] == "logo@x.example"
    assert f'src="/blobs/{digest}"' in parsed.payload["html"]
    assert "cid:" not in parsed.payload["html"]
    assert parsed.payload["text"] == "See the logo:"


def test_scripts_remote_images_and_handlers_are_removed() -> None:
    """Sanitized HTML keeps the text but nothing that runs or loads from the network."""
    html = (
        '<div onclick="steal()">Hi <b>there</b><script>alert(1)</script>'
        '<img src="https://tracker.example/p.gif"><img src="data:image/png;base64,AAAA">'
        '<a href="javascript:alert(1)">x</a><a href="https://ok.example/">ok</a>'
        '<p style="color:red;background:url(https://t.example/b.png)">styled</p>'
        '<img src="cid:missing@x"></div>'
    )
    payload = parse(build_mail(html, content_type="text/html; charset=utf-8")).payload
    cleaned = payload["html"]
    for banned in ("script", "alert", "tracker.example", "data:", "javascript", "onclick", "url("):
        assert banned not in cleaned
    assert 'href="https://ok.example/"' in cleaned and "color:red" in cleaned
    assert payload["text"].startswith("Hi there")
    assert any("cid:missing@x" in d for d in payload["defects"])


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Auto-Submitted": "auto-replied"}, True),
        ({"Auto-Submitted": "auto-generated (vacation)"}, True),
        ({"Auto-Submitted": "no"}, False),
        ({"Precedence": "bulk"}, True),
        ({"Precedence": "junk"}, True),
        ({"Precedence": "list"}, True),
        ({"Precedence": "first-class"}, False),
        ({"X-Auto-Response-Suppress": "All"}, True),
        ({"X-Autoreply": "yes"}, True),
        ({"X-Autorespond": "Out of office"}, True),
        ({"Subject": "Out of Office: Where is my order?"}, True),
        ({"Subject": "Automatic reply: Where is my order?"}, True),
        ({"Subject": "AW: Abwesenheitsnotiz: Bestellung"}, True),
        ({"Subject": "Automatische Antwort: Bestellung"}, True),
        ({"Subject": "Réponse automatique : commande"}, True),
        ({"Subject": "Respuesta automática: pedido"}, True),
        ({"Subject": "自动回复: 订单"}, True),
        ({"Subject": "Re: out of office hours question"}, False),
        ({}, False),
    ],
)
def test_auto_submitted_flag(headers: dict[str, str], expected: bool) -> None:
    """RFC 3834, Precedence, Microsoft and X-Autoreply headers, out-of-office subjects."""
    payload = parse(build_mail(headers=headers)).payload
    assert payload["flags"]["auto_submitted"] is expected
    assert ("auto_submitted_reason" in payload["metadata"]) is expected


def _dsn(original: bytes, original_type: str = "message/rfc822") -> bytes:
    status = (
        b"Reporting-MTA: dns; mx.example.com\r\n\r\n"
        b"Final-Recipient: rfc822; gone@example.net\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 <gone@example.net>: User\r\n unknown\r\n"
    )
    content_type, body = multipart(
        "report",
        part("text/plain; charset=us-ascii", b"Your message could not be delivered.\r\n"),
        part("message/delivery-status", status),
        part(original_type, original),
    )
    return build_mail(
        body,
        content_type=content_type + "; report-type=delivery-status",
        headers={
            "From": "Mail Delivery System <MAILER-DAEMON@mx.example.com>",
            "Subject": "Undelivered Mail Returned to Sender",
        },
    )


@pytest.mark.parametrize("original_type", ["message/rfc822", "text/rfc822-headers"])
def test_dsn_bounce_fields(original_type: str) -> None:
    """A DSN reports the original Message-ID, recipient, action, status and diagnostic."""
    original = b"From: support@example.com\r\nMessage-ID: <reply-7@example.com>\r\n\r\nHi\r\n"
    payload = parse(_dsn(original, original_type)).payload
    assert payload["flags"] == {"auto_submitted": True, "bounce": True, "echo": False}
    assert payload["bounce"] == {
        "original_message_id": "<reply-7@example.com>",
        "recipient": "gone@example.net",
        "action": "failed",
        "status": "5.1.1",
        "diagnostic": "550 5.1.1 <gone@example.net>: User unknown",
    }


def test_free_text_bounce_from_mailer_daemon() -> None:
    """qmail-style bounces have no DSN part; status and recipient come from the text."""
    text = (
        "Hi. This is the qmail-send program at mx.example.net.\n"
        "<gone@example.net>:\n550 5.1.1 mailbox unavailable\n\n"
        "--- Below this line is a copy of the message.\n\n"
        "Message-ID: <reply-9@example.com>\nSubject: Your order\n"
    )
    headers = {"From": "MAILER-DAEMON@mx.example.net", "Subject": "failure notice"}
    bounce = parse(build_mail(text, headers=headers)).payload["bounce"]
    assert bounce["status"] == "5.1.1" and bounce["recipient"] == "gone@example.net"
    assert bounce["original_message_id"] == "<reply-9@example.com>"
