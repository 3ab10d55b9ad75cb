"""Reply extraction against talon's and email-reply-parser's fixtures."""

from __future__ import annotations

import json
import re
import time

from email_ingest.reply_extraction import extract_reply, extract_reply_from_html

# Every talon text and HTML fixture passes today; the bar leaves room for one regression
# to be reported with its figure rather than hidden behind a red build of the whole corpus.
TALON_THRESHOLD = 0.9
# email-reply-parser's checks are finer (fragment by fragment) than what reply_text models.
REPLY_PARSER_THRESHOLD = 0.9
HTML_EXPECTED = "Hi. I am fine.\n\nThanks,\nAlex"
# talon's expected texts keep the signature; reply_text leaves it out on purpose.
_SIGNATURE_TAIL = re.compile(r"^\s*(?:-- ?\n.*|Sent from my \w+)\s*$", re.S)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _talon_matches(reply: str, expected: str) -> bool:
    """Equal, or equal once talon's kept signature is removed from its expectation."""
    reply, expected = reply.strip(), expected.strip()
    if reply == expected:
        return True
    return expected.startswith(reply) and bool(_SIGNATURE_TAIL.match(expected[len(reply) :]))


def test_talon_standard_replies(corpus, parse, report) -> None:
    """Each client's reply (iPhone, Gmail, Outlook, Thunderbird...) reduces to the new text."""
    folder = corpus / "talon" / "standard_replies"
    mails = sorted(folder.glob("*.eml"))
    assert len(mails) >= 12
    misses = []
    for mail in mails:
        expected_file = folder / f"{mail.stem}_reply_text"
        expected = expected_file.read_text("utf-8") if expected_file.exists() else "Hello"
        reply = parse(mail.read_bytes()).payload["reply_text"]
        if not _talon_matches(reply, expected):
            misses.append(f"{mail.name}: {reply!r:.100}")
    hits = len(mails) - len(misses)
    report("talon standard replies: reply_text", f"{hits}/{len(mails)}\n" + "\n".join(misses))
    assert hits / len(mails) >= TALON_THRESHOLD, misses


def test_talon_html_replies(corpus, report) -> None:
    """HTML replies (gmail_quote, blockquote, Outlook borders, OLK_SRC_BODY_SECTION) are cut."""
    folder = corpus / "talon"
    cases = {path: HTML_EXPECTED for path in sorted((folder / "html_replies").glob("*.html"))}
    cases[folder / "OLK_SRC_BODY_SECTION.html"] = "Reply"
    cases[folder / "reply-separated-by-hr.html"] = "Hi there Bob"
    misses = []
    for path, expected in cases.items():
        reply = extract_reply_from_html(path.read_bytes().decode("utf-8", "replace"))
        if _squash(reply) != _squash(expected):
            misses.append(f"{path.name}: {reply!r:.100}")
    hits = len(cases) - len(misses)
    report("talon HTML replies: reply text", f"{hits}/{len(cases)}\n" + "\n".join(misses))
    assert hits / len(cases) >= TALON_THRESHOLD, misses


def test_talon_quotation_sharing_a_block(corpus, parse) -> None:
    """A Yahoo reply whose '--- On ... wrote:' history is not `>`-quoted is still cut."""
    payload = parse((corpus / "talon" / "reply-quotations-share-block.eml").read_bytes()).payload
    assert payload["reply_text"].startswith("Hi Katharine.")
    assert "New Booking Inquiry" not in payload["reply_text"]
    assert "New Booking Inquiry" in payload["text"]


def _reply_parser_checks(name: str, case: dict, text: str) -> list[tuple[str, bool]]:
    """Turn the transcribed assertions into checks on our reply text."""
    reply = extract_reply(text)
    checks: list[tuple[str, bool]] = []
    if "reply_equals" in case:
        checks.append(("equals", reply.strip() == case["reply_equals"]))
    for needle in case.get("reply_contains", []):
        checks.append((f"contains {needle!r}", needle in reply))
    for needle in case.get("reply_not_contains", []):
        checks.append((f"lacks {needle!r}", needle not in reply))
    hidden = case.get("fragments_hidden", [])
    quoted = case.get("fragments_quoted", [])
    fragments = {int(k): v for k, v in case.get("fragment_contains", {}).items()}
    for index, start in case.get("fragment_starts_with", {}).items():
        fragments.setdefault(int(index), []).append(start)
    for index, needles in fragments.items():
        is_hidden = hidden[index] if index < len(hidden) else index > 0
        is_quoted = quoted[index] if index < len(quoted) else False
        for needle in needles:
            if is_hidden or is_quoted:
                # Hidden text may repeat visible text ("--"); the hidden copy must be gone.
                ok = reply.count(needle) < text.count(needle)
                checks.append((f"fragment {index} {needle!r} left out", ok))
            else:
                checks.append((f"fragment {index} {needle!r} kept", needle in reply))
    if case.get("fragment_count") == 1:
        checks.append(("nothing removed", _squash(reply) == _squash(text)))
    if name == "pathological":
        started = time.perf_counter()
        extract_reply(text * 20)
        checks.append(("20x text under 1 s", time.perf_counter() - started < case["max_seconds"]))
    return checks


def test_reply_parser_expectations(corpus, report) -> None:
    """email-reply-parser's assertions, as far as a single reply_text can express them."""
    folder = corpus / "reply-parser"
    cases = json.loads((folder / "expected_from_tests.json").read_text("utf-8"))["cases"]
    results: list[tuple[str, str, bool]] = []
    for name, case in cases.items():
        text = (folder / "emails" / f"{name}.txt").read_bytes().decode("utf-8")
        results.extend((name, what, ok) for what, ok in _reply_parser_checks(name, case, text))
    hits = sum(ok for _, _, ok in results)
    failed = [f"{name}: {what}" for name, what, ok in results if not ok]
    report(
        "email-reply-parser: checks on reply_text",
        f"{hits}/{len(results)} checks over {len(cases)} mails\n" + "\n".join(failed),
    )
    assert len(results) >= 30
    assert hits / len(results) >= REPLY_PARSER_THRESHOLD, failed
