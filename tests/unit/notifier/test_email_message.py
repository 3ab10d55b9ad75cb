"""The MIME message of an email reply: threading headers, loop headers, parts, attachments."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.policy import default

import pytest

from notifier.delivery_errors import PermanentFailure
from notifier.email_message import File, build_message, references, subject

from .reply_builders import email_reply, loaded

NOW = datetime(2030, 6, 10, 14, 53, 54, tzinfo=UTC)
LOGO = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def files(*stored: File):
    by_sha = {f"{i:064x}": f for i, f in enumerate(stored)}

    def load(attachment: dict) -> File:
        return by_sha[attachment["sha256"]]

    return load


def parse(payload: dict, load=None):
    message, envelope = build_message(loaded(payload), NOW, load or files())
    return email.message_from_bytes(message.as_bytes(), policy=default), envelope


def test_headers_thread_the_reply_per_rfc_5322():
    reply = email_reply()
    parsed, envelope = parse(reply)
    envelope_fields = reply["email"]
    assert parsed["From"] == '"Grace Hopper (Acme Support)" <support@acme.example>'
    assert parsed["To"] == "Jane Customer <jane@example.org>"
    assert parsed["Cc"] == "ops@example.org"
    assert parsed["Reply-To"] == envelope_fields["reply_to"]["email"]
    assert parsed["Subject"] == "Re: [#8812] Where is my order?"
    assert parsed["Message-ID"] == envelope_fields["message_id"]
    assert parsed["In-Reply-To"] == "<CAF=abc123@mail.gmail.com>"
    assert parsed["References"].split() == [
        "<CAF=first@mail.gmail.com>",
        "<conv-8812.msg-3@mail.acme.example>",
        "<CAF=abc123@mail.gmail.com>",
    ]
    assert parsed["Date"] == "Mon, 10 Jun 2030 14:53:54 +0000"
    assert envelope.sender == "support@acme.example"
    assert envelope.recipients == ("jane@example.org", "ops@example.org")


def test_an_agent_reply_is_not_automatic_but_asks_responders_to_stay_quiet():
    parsed, _ = parse(email_reply())
    assert parsed["Auto-Submitted"] is None
    assert parsed["Precedence"] is None
    assert parsed["X-Auto-Response-Suppress"] == "OOF, AutoReply"


def test_an_automatic_reply_says_so_and_carries_our_loop_marker():
    parsed, _ = parse(email_reply(automatic=True, agent=None))
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["Precedence"] == "bulk"
    assert parsed["X-Auto-Response-Suppress"] == "All"
    assert parsed["X-Loop"] == "support@acme.example"
    assert parsed["From"] == "Acme Support <support@acme.example>"


def test_text_and_html_are_alternatives():
    parsed, _ = parse(email_reply())
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed.get_body(("plain",)).get_content().startswith("Hi Jane,")
    assert "<b>shipped</b>" in parsed.get_body(("html",)).get_content()


def test_attachments_come_from_the_blob_store_and_inline_images_sit_beside_the_html():
    invoice = File(b"%PDF-1.4 invoice", "invoice.pdf", "application/pdf")
    logo = File(LOGO, "logo.png", "image/png", content_id="logo@acme", inline=True)
    reply = email_reply(
        html='<p>Hi</p><img src="cid:logo@acme">',
        attachments=[
            {"filename": "invoice.pdf", "content_type": "application/pdf", "sha256": f"{0:064x}"},
            {
                "filename": "logo.png",
                "content_type": "image/png",
                "sha256": f"{1:064x}",
                "content_id": "logo@acme",
                "inline": True,
            },
        ],
    )
    parsed, _ = parse(reply, files(invoice, logo))
    assert parsed.get_content_type() == "multipart/mixed"
    attached = list(parsed.iter_attachments())
    assert [(a.get_filename(), a.get_content()) for a in attached] == [
        ("invoice.pdf", b"%PDF-1.4 invoice")
    ]
    related = next(p for p in parsed.walk() if p.get_content_type() == "multipart/related")
    image = next(p for p in related.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<logo@acme>"
    assert image.get_content() == LOGO


def test_a_thread_without_a_parent_has_no_threading_headers_and_no_re_prefix():
    reply = email_reply()
    reply["email"].update(in_reply_to=None, references=[])
    parsed, _ = parse(reply)
    assert parsed["In-Reply-To"] is None
    assert parsed["References"] is None
    assert parsed["Subject"] == "[#8812] Where is my order?"


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Where is my order?", "Re: Where is my order?"),
        ("RE: Where is my order?", "RE: Where is my order?"),
        ("re:Where", "re:Where"),
        (None, "Re: your message"),
        ("  spaced\n  out ", "Re: spaced out"),
    ],
)
def test_re_is_prefixed_once(original, expected):
    assert subject(original, is_reply=True) == expected


def test_references_end_with_the_parent_each_id_once():
    chain = ["<a@x> <b@x>", "<B@x>", "c@x"]
    assert references(chain, "<b@x>") == ["<a@x>", "<c@x>", "<b@x>"]
    assert references([], "p@x") == ["<p@x>"]
    assert references(["<a@x>"], None) == ["<a@x>"]


def test_a_long_references_chain_is_folded_within_the_line_limit():
    chain = [f"<message-{i}-{'x' * 40}@mail.example.com>" for i in range(40)]
    reply = email_reply()
    reply["email"]["references"] = chain
    message, _ = build_message(loaded(reply), NOW, files())
    assert max(len(line) for line in message.as_bytes().split(b"\r\n")) <= 998
    parsed = email.message_from_bytes(message.as_bytes(), policy=default)
    assert parsed["References"].split()[:40] == chain


def test_a_reply_without_an_envelope_or_with_a_bad_address_fails_permanently():
    with pytest.raises(PermanentFailure, match="envelope"):
        build_message(loaded(email_reply(email=None)), NOW, files())
    reply = email_reply()
    reply["email"]["to"] = [{"email": "not-an-address"}]
    with pytest.raises(PermanentFailure, match="not an email address"):
        build_message(loaded(reply), NOW, files())
