"""Chatwoot's fixture mails and SpamScope's malformed MIME: what each one must come out as."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from email_ingest import NotEmailError, ParsedEmail

from .conftest import RECEIVED_AT

Check = Callable[[dict], bool]


def _attachment_types(payload: dict) -> list[str]:
    return [a["content_type"] for a in payload["attachments"]]


CHATWOOT: dict[str, Check] = {
    "attachments_without_filename.eml": lambda p: (
        _attachment_types(p) == ["image/png"] * 2
        and all(a["filename"] is None for a in p["attachments"])
    ),
    "attachments_without_text.eml": lambda p: (
        p["text"] == "" and [a["filename"] for a in p["attachments"]] == ["1kb.png", "1kb.png"]
    ),
    "auto_reply.eml": lambda p: p["flags"]["auto_submitted"] and not p["flags"]["bounce"],
    "bounced_with_no_from.eml": lambda p: (
        p["flags"]["bounce"]
        and p["author"]["email"] is None
        and p["bounce"]["status"] == "5.7.1"
        and p["bounce"]["recipient"] == "noreply@example-service.com"
    ),
    "email_with_inline_pdf.eml": lambda p: _attachment_types(p) == ["application/pdf"],
    "forwarder_email.eml": lambda p: (
        "reply+6bdc3f4d-0bec-4515-a284-5d916fdde489@example.com" in p["metadata"]["delivered_to"]
    ),
    "group_sender_support.eml": lambda p: (
        p["author"]["email"] == "acme_group@example.com"
        and p["author"]["display_name"] == "ACME group"
    ),
    "html_and_attachments.eml": lambda p: (
        p["html"] is not None
        and p["text"] == "This is html and attachments only mail"
        and _attachment_types(p) == ["image/jpeg"]
    ),
    "in_reply_to.eml": lambda p: (
        p["thread"]["in_reply_to"] == "<0CB459E0-0336-41DA-BC88-E6E28C697DDB@chatwoot.com>"
    ),
    "mail_with_html_part_no_html_content.eml": lambda p: (
        p["attachments"][0]["inline"] and f"/blobs/{p['attachments'][0]['sha256']}" in p["html"]
    ),
    "mail_with_inline_images.eml": lambda p: (
        len(p["attachments"]) == 3
        and all(a["inline"] and f"/blobs/{a['sha256']}" in p["html"] for a in p["attachments"])
        and "cid:" not in p["html"]
    ),
    "mail_with_invalid_to.eml": lambda p: (
        p["recipients"]["to"] == [{"email": "vishnu@chatwoot.com", "display_name": None}]
    ),
    "mail_with_invalid_to_2.eml": lambda p: (
        [a["email"] for a in p["recipients"]["to"]] == ["vishnu@chatwoot.com"]
    ),
    "mail_with_no_date.eml": lambda p: (
        p["sent_at"] == RECEIVED_AT.isoformat() and any("Date" in d for d in p["defects"])
    ),
    "mail_with_no_subject.eml": lambda p: p["subject"] is None,
    "mail_with_plain_text_and_inline_image.eml": lambda p: (
        p["html"] is None
        and len(p["attachments"]) == 3
        and "just plain text and images" in p["text"]
    ),
    "mail_with_quote.eml": lambda p: (
        p["reply_text"] == "Yes, I am providing you step how to reproduce this issue"
        and "wrote:" in p["text"]
    ),
    "malformed_reply_to.eml": lambda p: (
        p["recipients"]["reply_to"] == []
        and p["author"]
        == {
            "external_id": "sender@example.com",
            "email": "SENDER@EXAMPLE.COM",
            "display_name": "Sender",
            "handle": None,
        }
    ),
    "multiple_attachments.eml": lambda p: _attachment_types(p) == ["image/png"] * 30,
    "non_utf_encoded_mail.eml": lambda p: (
        p["author"]["display_name"] == "متجر سوق نت"
        and p["subject"].startswith("أهلين عميلنا الكريم")
        and p["flags"]["auto_submitted"]
    ),
    "notification.eml": lambda p: p["html"] is not None and p["text"].startswith("Hi Sojan,"),
    "only_attachments.eml": lambda p: p["text"] == "" and _attachment_types(p) == ["image/jpeg"],
    "only_html.eml": lambda p: p["text"] == "This is html only mail",
    "only_text.eml": lambda p: p["text"].strip() == "text only mail" and p["html"] is None,
    "reply.eml": lambda p: (
        p["thread"]["in_reply_to"] == "<4e6e35f5a38b4_479f13bb90078178@small-app-01.mail>"
    ),
    "reply_cc.eml": lambda p: (
        [a["email"] for a in p["recipients"]["cc"]] == ["test@example.com"]
        and p["reply_text"] == "Hello,\n\nFind the related inbox."
    ),
    "reply_mail_without_uuid.eml": lambda p: (
        p["thread"]["in_reply_to"]
        == "<account/1/conversation/6bdc3f4d-0bec-4515-a284-5d916fdde489@test.com>"
    ),
    "reply_to.eml": lambda p: p["recipients"]["to"][0]["email"] == "test@example.com",
    "support.eml": lambda p: p["recipients"]["to"][0]["email"] == "care@example.com",
    "support_1.eml": lambda p: p["author"]["display_name"] is None and p["html"] is not None,
    "support_in_reply_to.eml": lambda p: p["thread"]["in_reply_to"] is not None,
    "support_uppercase.eml": lambda p: (
        p["external_id"] == "<0CB459E0-0336-41DA-BC88-E6E28C697DDB@chatwoot.com>"
    ),
    "support_without_sender_name.eml": lambda p: (
        p["author"]["display_name"] is None and p["author"]["email"] == "sony@chatwoot.com"
    ),
    "welcome.eml": lambda p: not p["flags"]["auto_submitted"] and len(p["attachments"]) == 2,
    "welcome_html.eml": lambda p: p["subject"].startswith("Fwd:") and p["html"] is not None,
}


def test_chatwoot_mails(corpus, parse, report) -> None:
    """Every Chatwoot fixture parses, validates and comes out as its case says."""
    mails = sorted((corpus / "chatwoot" / "eml").glob("*.eml"))
    assert {m.name for m in mails} <= set(CHATWOOT), "a new fixture needs an expectation"
    failed = [m.name for m in mails if not CHATWOOT[m.name](parse(m.read_bytes()).payload)]
    report("Chatwoot fixtures: expectations met", f"{len(mails) - len(failed)}/{len(mails)}")
    assert not failed


def test_malformed_mime_never_crashes_and_reports_defects(corpus, parse, report) -> None:
    """Broken boundaries and spam parse with defects; the Outlook .msg binary is refused."""
    files = sorted((corpus / "malformed-mime").iterdir())
    parsed: dict[str, ParsedEmail] = {}
    for path in files:
        if path.name == "mail_outlook_1":
            with pytest.raises(NotEmailError, match="Outlook"):
                parse(path.read_bytes())
            continue
        parsed[path.name] = parse(path.read_bytes())
    malformed = {n: p for n, p in parsed.items() if n.startswith("mail_malformed")}
    assert malformed and all(p.payload["defects"] for p in malformed.values())
    boundary = [n for n, p in parsed.items() if any("boundary" in d for d in p.payload["defects"])]
    report(
        "malformed-mime: parsed / refused / with boundary defects",
        f"{len(parsed)} / {len(files) - len(parsed)} / {len(boundary)}",
    )
    assert len(parsed) == len(files) - 1


def test_malformed_bounce_without_dsn_part_is_recognized(corpus, parse) -> None:
    """A postmaster's free-text failure notice is still a bounce with its recipient."""
    payload = parse((corpus / "malformed-mime" / "mail_malformed_2").read_bytes()).payload
    assert payload["flags"]["bounce"]
    assert re.search(r"@", payload["bounce"]["recipient"] or "")
