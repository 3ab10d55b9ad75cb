"""Zammad's 69 test mails: every one parses, and the fields match Zammad's expected parse."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from email.utils import getaddresses
from pathlib import Path

from email_ingest import ParsedEmail

FIELDS = ("from_email", "from_display_name", "to", "cc", "subject", "body", "attachments")
THRESHOLD = 0.95

# Mails where Zammad's expected value is not what the mail says; each entry names the field,
# why we differ, and a check that our value is the right one. They count as matches only in
# the "agreed" figure, and only if the check passes; the "as-is" figure counts them as misses.
DEVIATIONS: dict[tuple[str, str], tuple[str, Callable[[dict, ParsedEmail], bool]]] = {
    ("mail018", "subject"): (
        "declared UTF-7; Zammad left '+ANw-' undecoded",
        lambda _e, p: "Übermittlungsstatus" in p.payload["subject"],
    ),
    ("mail018", "body"): (
        "text part declared unicode-1-1-utf-7; Zammad left it undecoded",
        lambda _e, p: "über den Zustellstatus" in p.payload["text"],
    ),
    ("mail021", "body"): (
        "UTF-8 Cyrillic footer; Zammad's expectation is cp1250 mojibake of it",
        lambda _e, p: "Это сообщение свободно от вирусов" in p.payload["html"],
    ),
    ("mail025", "body"): (
        "inline uuencoded file: we extract it (same bytes as mail024's real attachment)",
        lambda _e, p: (
            any(a["filename"] == "rulesets-report.csv" for a in p.payload["attachments"])
            and "begin 644" not in p.payload["text"]
        ),
    ),
    ("mail046", "from_display_name"): (
        "raw GBK bytes in From; Zammad's expectation decodes them as cp1250",
        lambda _e, p: p.payload["author"]["display_name"] == "武兰成",
    ),
    ("mail054", "body"): (
        "Zammad lost the body after unindented header lines; the base64 part says 'some text'",
        lambda _e, p: p.payload["text"].strip() == "some text",
    ),
    ("mail060", "body"): (
        "UTF-8 with stray latin-1 bytes, declared 'iso-gb2312'; Zammad's expectation is mojibake",
        lambda _e, p: "äöü - 差出人" in p.payload["text"],
    ),
}


def test_every_zammad_mail_parses_and_matches(corpus, parse, load_ruby_yaml, report) -> None:
    """At least 95% of the mails match Zammad on each field; every mail parses and validates."""
    cases = sorted((corpus / "zammad" / "mail").glob("*.yml"))
    assert len(cases) >= 60, f"expected Zammad's 69 mails, found {len(cases)}"
    as_is = {name: 0 for name in FIELDS}
    agreed = {name: 0 for name in FIELDS}
    counted = {name: 0 for name in FIELDS}
    exact_attachments = 0
    misses: list[str] = []
    for expectation_file in cases:
        mail = expectation_file.stem
        expected = load_ruby_yaml(expectation_file)
        parsed = parse(expectation_file.with_suffix(".box").read_bytes())
        for name, (want, got) in _fields(expected, parsed).items():
            if name == "attachments" and want is None:
                continue  # no attachment expected: nothing to compare
            counted[name] += 1
            if want == got:
                as_is[name] += 1
                agreed[name] += 1
                continue
            deviation = DEVIATIONS.get((mail, name))
            if deviation and deviation[1](expected, parsed):
                agreed[name] += 1
            else:
                misses.append(f"{mail} {name}: expected {want!r:.120} got {got!r:.120}")
        exact_attachments += _attachments_exact(expected, parsed)

    lines = [f"{'field':<18} {'as-is':>14} {'agreed':>14}"]
    for name in FIELDS:
        lines.append(
            f"{name:<18} {_rate(as_is[name], counted[name]):>14} "
            f"{_rate(agreed[name], counted[name]):>14}"
        )
    lines.append(
        f"attachments byte-exact (no line-ending normalization): "
        f"{_rate(exact_attachments, counted['attachments'])}"
    )
    lines.extend(f"deviation {m} {f}: {why}" for (m, f), (why, _) in sorted(DEVIATIONS.items()))
    lines.extend(f"miss {line}" for line in misses)
    report(f"Zammad corpus ({len(cases)} mails): per-field match rate", "\n".join(lines))
    for name in FIELDS:
        assert agreed[name] / counted[name] >= THRESHOLD, (name, misses)


def _fields(expected: dict, parsed: ParsedEmail) -> dict[str, tuple[object, object]]:
    payload = parsed.payload
    author = payload["author"]
    is_html = expected.get("content_type") == "text/html" and payload["html"] is not None
    body = (expected.get("body") or "").replace("no visible content", "")
    ours = payload["html"] if is_html else payload["text"]
    return {
        # An address the bus schema rejects (MAILER-DAEMON, a trailing dot) is only in
        # external_id, which is lower-cased by contract.
        "from_email": (
            expected.get("from_email") if author["email"] else expected["from_email"].lower(),
            author["email"] or author["external_id"],
        ),
        "from_display_name": (
            expected.get("from_display_name") or "",
            author["display_name"] or "",
        ),
        "to": (_addresses(expected.get("to")), [a["email"] for a in payload["recipients"]["to"]]),
        "cc": (_addresses(expected.get("cc")), [a["email"] for a in payload["recipients"]["cc"]]),
        "subject": (expected.get("subject"), payload["subject"]),
        "body": (_normalize(body, markup=is_html), _normalize(ours, markup=is_html)),
        "attachments": _attachment_sets(expected, parsed),
    }


def _expected_attachments(expected: dict) -> list[bytes]:
    """Zammad's attachments, less the HTML body it also stores as `message.html`."""
    found = []
    for item in expected.get("attachments") or []:
        if item.get("preferences", {}).get("content-alternative"):
            continue
        data = item["data"]
        found.append(data.encode("utf-8") if isinstance(data, str) else data)
    return found


def _attachment_sets(expected: dict, parsed: ParsedEmail) -> tuple[object, object]:
    """Every expected attachment's bytes must be among ours.

    Zammad's Ruby parser rewrote CRLF to LF inside attached messages of CRLF mails; we keep the
    bytes as received, so line endings are compared normalized (the exact figure is printed too).
    """
    wanted = _expected_attachments(expected)
    if not wanted:
        return None, None
    ours = {_lf(data) for data in parsed.blobs.values()}
    return True, all(_lf(data) in ours for data in wanted)


def _attachments_exact(expected: dict, parsed: ParsedEmail) -> int:
    wanted = _expected_attachments(expected)
    ours = set(parsed.blobs.values())
    return int(bool(wanted) and all(data in ours for data in wanted))


def _lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def _addresses(value: str | None) -> list[str]:
    """Zammad's display string as a list of addresses ("Name (addr)" read either way round)."""
    result = []
    for name, address in getaddresses([value or ""]):
        if "@" not in address and "@" in name:
            address = name
        if "@" in address:
            result.append(address)
    return result


# HTML4 and HTML5 map &lang;/&rang; to different code points; both mean the same bracket.
_BRACKETS = str.maketrans(
    {"\u2329": "\u3008", "\u27e8": "\u3008", "\u232a": "\u3009", "\u27e9": "\u3009"}
)


def _normalize(text: str, *, markup: bool) -> str:
    """Compare bodies without whitespace, tags or entity spelling."""
    if markup:
        text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", text)
        text = html.unescape(re.sub(r"(?s)<[^>]*>", " ", text))
    return re.sub(r"\s+", "", text).translate(_BRACKETS)


def _rate(hits: int, total: int) -> str:
    return f"{hits}/{total} {100 * hits / total:.1f}%" if total else "n/a"


def test_zammad_bounce_reports_the_original_message(corpus, parse) -> None:
    """mail033 is a Postfix DSN: flags, status, recipient and the returned message's id."""
    raw = (corpus / "zammad/mail/mail033-undelivered-mail-returned-to-sender.box").read_bytes()
    payload = parse(raw).payload
    assert payload["flags"]["bounce"] and payload["flags"]["auto_submitted"]
    assert payload["bounce"] == {
        "original_message_id": "<20150830145601.30.608881@edenhofer.zammad.com>",
        "recipient": "not_existing@znuny.com",
        "action": "failed",
        "status": "5.1.1",
        "diagnostic": "550 5.1.1 <not_existing@znuny.com>: Recipient address rejected: "
        "User unknown",
    }


def test_zammad_large_mail_parses_quickly(corpus, parse) -> None:
    """The biggest corpus mail still parses well within a second."""
    import time

    biggest = max((corpus / "zammad" / "mail").glob("*.box"), key=lambda p: p.stat().st_size)
    started = time.perf_counter()
    parse(Path(biggest).read_bytes())
    assert time.perf_counter() - started < 2.0
