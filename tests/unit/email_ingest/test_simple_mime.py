"""The simple-mail fast path: whatever it accepts, it parses exactly as the general path does.

Differential: every mail goes through `parse_email` twice, once as in production and once with
the fast path switched off (the feedparser after the header repair), and the two normalized
payloads must be the same JSON, byte for byte. Where the fast path accepts a mail, its Message
must also be the feedparser's, field by field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from email_ingest import NotEmailError, mime_parser, parse_email
from email_ingest.screening import header_offset, repair_header_section
from email_ingest.simple_mime import simple_message
from tests.integration.email_ingest.imap_harness import build_mail as build_bench_mail

RECEIVED = datetime(2030, 1, 2, tzinfo=UTC)
FUZZ = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
# The corpus's expectations and notes; every other file is a mail (or a body, refused by both).
NOT_MAILS = frozenset({".json", ".yml", ".yaml", ".md"})


def normalized(raw: bytes) -> str:
    """The payload and blob digests as canonical JSON (or the refusal), as production parses."""
    try:
        parsed = parse_email(raw, inbox="support@example.com", received_at=RECEIVED)
    except NotEmailError as exc:
        return f"not email: {exc.reason}"
    document = {"payload": parsed.payload, "blobs": sorted(parsed.blobs)}
    return json.dumps(document, sort_keys=True, ensure_ascii=False)


def normalized_general(raw: bytes) -> str:
    """`normalized` with the fast path switched off."""
    with mock.patch.object(mime_parser, "simple_message", return_value=None):
        return normalized(raw)


def general_message(mime: bytes) -> Message:
    """What the general path parses `mime` into (and it must find nothing to repair)."""
    repaired, fixed = repair_header_section(mime)
    assert fixed == 0
    return BytesParser(policy=policy.compat32).parsebytes(repaired)


def assert_same_message(fast: Message, general: Message) -> None:
    """Every attribute of the two Messages that anything downstream reads is equal."""
    assert fast.policy is general.policy
    assert fast._headers == general._headers
    assert fast._payload == general._payload
    assert type(fast._payload) is type(general._payload)
    assert fast._unixfrom == general._unixfrom
    assert fast._charset == general._charset
    assert fast._default_type == general._default_type
    assert (fast.preamble, fast.epilogue) == (general.preamble, general.epilogue)
    assert [repr(d) for d in fast.defects] == [repr(d) for d in general.defects] == []
    assert vars(fast).keys() == vars(general).keys()


def check(raw: bytes) -> bool:
    """Assert both paths agree on `raw`; return whether the fast path took it."""
    assert normalized(raw) == normalized_general(raw)
    try:
        mime = raw[header_offset(raw) :]
    except NotEmailError:
        return False
    fast = simple_message(mime)
    if fast is None:
        return False
    assert_same_message(fast, general_message(mime))
    return True


def corpus_mails(root: Path) -> list[bytes]:
    """Every raw mail of the corpus."""
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() not in NOT_MAILS)
    return [path.read_bytes() for path in paths]


def test_the_whole_corpus_parses_the_same_on_both_paths(corpus: Path, report) -> None:
    """Real mails: same normalized output, and a good share of them is simple."""
    mails = corpus_mails(corpus)
    taken = sum(check(raw) for raw in mails)
    report("simple-mail fast path", f"{taken} of {len(mails)} corpus mails take it")
    assert taken > 0


@pytest.mark.parametrize("body_lines", [0, 1, 3, 20, 200])
def test_bench_mails_take_the_fast_path_and_parse_the_same(body_lines: int) -> None:
    """The IMAP bench's mails are simple: the fast path takes every one of them."""
    for index in range(50):
        assert check(build_bench_mail(index, "bench", body_lines=body_lines))


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@b.example\n\nbody",
        b"From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n",
        b"From: a@b.example\r\nSubject:\r\n  folded\r\n\tagain\r\n\r\n",
        b"From: a@b.example\nSubject: \xc3\xa4 raw\n\n\xff\xfe",
        b"From: a@b.example\nContent-Type: text/html\n\n<p>x</p>",
        b"From: a@b.example\nContent-Transfer-Encoding: BASE64\n\naGVsbG8=\n",
        b"From: a@b.example\nContent-Transfer-Encoding: quoted-printable\n\na=3Db=\nc\n",
    ],
)
def test_simple_shapes_take_the_fast_path(raw: bytes) -> None:
    """Line endings, folding, raw 8-bit bytes and the accepted types and encodings."""
    assert check(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@b.example\nSubject: x",  # no empty line after the headers
        b"From: a@b.example\nSubject: x\rmore\n\nbody",  # lone CR inside the headers
        b"From: a@b.example\n\rbody\n\nmore",  # a lone CR as the empty line
        b"From: a@b.example\nSubject : x\n\nbody",  # space before the colon
        b"From: a@b.example\nstray line\nTo: c@d.example\n\nbody",  # repaired by the general path
        b"From: a@b.example\n:no name\n\nbody",
        b"From: a@b.example\nFrom nobody Mon Jan 1\n\nbody",
        b"From: a@b.example\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n",
        b"From: a@b.example\nContent-Type: message/rfc822\n\nFrom: c@d.example\n\nx",
        b"From: a@b.example\nContent-Type: application/pdf\n\nx",
        b"From: a@b.example\nContent-Transfer-Encoding: x-uuencode\n\nx",
    ],
)
def test_other_mails_take_the_general_path(raw: bytes) -> None:
    """Anything the feedparser would read with a defect or as a tree is not the fast path's."""
    assert not check(raw)


def test_a_leading_continuation_line_is_not_simple() -> None:
    """parse_email skips such a line as junk; the fast path alone must still refuse it."""
    assert simple_message(b" folded first\nFrom: a@b.example\n\nbody") is None


HEADER_NAMES = ["From", "To", "Subject", "Date", "Message-ID", "Content-Type", "X-Any"]
header_values = st.one_of(
    st.sampled_from(
        [
            "text/plain",
            "text/html; charset=iso-8859-1",
            'text/plain; charset="utf-8"; format=flowed',
            "multipart/alternative; boundary=b",
            "message/rfc822",
            "=?utf-8?B?w6Q=?=",
            "Jane <jane@example.org>",
            "<id@example.org>",
            "Tue, 20 Feb 2024 10:00:00 +0100",
            "",
            " ",
        ]
    ),
    st.text(st.characters(min_codepoint=1, max_codepoint=0x2FF), max_size=30),
)
line_breaks = st.sampled_from(["\n", "\r\n", "\r", "\n\t", "\r\n ", "\n\n"])


@st.composite
def near_simple_mails(draw) -> bytes:
    """Header sections that are simple or one odd byte away from it, over assorted bodies."""
    fields = draw(st.lists(st.tuples(st.sampled_from(HEADER_NAMES), header_values), max_size=8))
    encoding = draw(
        st.sampled_from(["", "7bit", "8bit", "Quoted-Printable", "base64", "binary", " 8BIT "])
    )
    if encoding:
        fields.append(("Content-Transfer-Encoding", encoding))
    head = "From: a@b.example" + draw(line_breaks)
    for name, value in fields:
        separator = draw(st.sampled_from([": ", ":", " : ", ":\t"]))
        head += name + separator + value + draw(line_breaks)
    body = draw(
        st.one_of(
            st.binary(max_size=200),
            st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.sampled_from([b"", b"\r\n", b"aGVsbG8=\n", b"a=3Db=\r\nc", b"> quoted\n-- \nsig\n"]),
        )
    )
    return head.encode("utf-8", "surrogatepass") + draw(st.sampled_from([b"\n", b"\r\n"])) + body


@settings(max_examples=1500, **FUZZ)
@given(raw=near_simple_mails())
def test_generated_mails_parse_the_same_on_both_paths(raw: bytes) -> None:
    """Hypothesis-made mails around the fast path's edges: same normalized output."""
    check(raw)


@settings(max_examples=500, **FUZZ)
@given(
    index=st.integers(0, 10_000),
    cut=st.integers(0, 800),
    insert=st.sampled_from([b"\r", b"\n", b" ", b":", b"\x00", b"\xe4", b"From ", b"\r\n\r\n"]),
)
def test_edited_bench_mails_parse_the_same_on_both_paths(index: int, cut: int, insert: bytes):
    """A bench mail with a byte sequence inserted anywhere: same normalized output."""
    raw = build_bench_mail(index, "bench", body_lines=5)
    check(raw[:cut] + insert + raw[cut:])
