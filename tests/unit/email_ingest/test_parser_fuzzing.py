"""Fuzzing: whatever the bytes, the parser returns a valid payload or refuses with NotEmailError."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from email_ingest import NotEmailError, parse_email
from switchboard_shared.schemas import MESSAGE_RECEIVED

RECEIVED = datetime(2030, 1, 1, tzinfo=UTC)
MAX_SEED_BYTES = 40_000
FUZZ = dict(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HEADER_NAMES = [
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Sender",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "Content-ID",
    "MIME-Version",
    "Auto-Submitted",
    "Precedence",
    "Return-Path",
    "List-Id",
]
TRICKY_VALUES = [
    "=?utf-8?B?w6Q=?=",
    "=?x-bogus?Q?abc?=",
    "=?utf-7?Q?+ANw-?=",
    "=?iso-2022-jp?B?GyRC?=",
    "multipart/mixed",
    'multipart/mixed; boundary=""',
    "multipart/alternative; boundary=b",
    "message/rfc822",
    "text/html; charset=utf-7",
    "text/plain; charset=ks_c_5601-1987",
    "base64",
    "quoted-printable",
    "x-uuencode",
    "<a@b>",
    "<>",
    "undisclosed-recipients:;",
    '"a, b" <c@d>',
    "Mon, 32 Foo 2024 99:99:99",
    "auto-replied",
    "bulk",
]


def check(raw: bytes) -> None:
    """Parse; anything but NotEmailError is a bug, and so is a payload the bus would refuse."""
    try:
        parsed = parse_email(raw, inbox="support@example.com", received_at=RECEIVED)
    except NotEmailError as exc:
        assert exc.reason
        return
    MESSAGE_RECEIVED.validate(parsed.payload)
    # The last-resort payload keeps mail safe in production; in tests it marks a parser bug.
    assert not any(d.startswith("parser failure") for d in parsed.payload["defects"])
    assert set(parsed.blobs) == {a["sha256"] for a in parsed.payload["attachments"]}


def _seeds(corpus) -> list[bytes]:
    files = [
        *sorted((corpus / "zammad" / "mail").glob("*.box")),
        *sorted((corpus / "chatwoot" / "eml").glob("*.eml")),
        *sorted((corpus / "talon" / "standard_replies").glob("*.eml")),
        *sorted((corpus / "malformed-mime").glob("mail_*")),
    ]
    return [data for p in files if len(data := p.read_bytes()) <= MAX_SEED_BYTES]


def _mutate(data: bytes, draw) -> bytes:
    """Apply a few byte-level edits: flips, inserts, deletions, truncation, line duplication."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        if not buf:
            break
        pos = draw(st.integers(0, len(buf) - 1))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup_line", "crlf"]))
        if op == "flip":
            buf[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            buf[pos:pos] = draw(
                st.one_of(st.binary(max_size=40), st.sampled_from(TRICKY_VALUES).map(str.encode))
            )
        elif op == "delete":
            del buf[pos : pos + draw(st.integers(1, 200))]
        elif op == "truncate":
            del buf[pos:]
        elif op == "dup_line":
            end = buf.find(b"\n", pos)
            line = buf[pos : end + 1 if end >= 0 else len(buf)]
            buf[pos:pos] = line * draw(st.integers(1, 3))
        else:
            buf = bytearray(
                bytes(buf).replace(b"\r\n", b"\n")
                if pos % 2
                else bytes(buf).replace(b"\n", b"\r\n")
            )
    return bytes(buf)


@settings(max_examples=2000, **FUZZ)
@given(data=st.data())
def test_mutated_corpus_mails(corpus, data) -> None:
    """Byte-level mutations of real mails never crash the parser."""
    seeds = _seeds_cache(corpus)
    check(_mutate(data.draw(st.sampled_from(seeds)), data.draw))


_CACHE: dict[str, list[bytes]] = {}


def _seeds_cache(corpus) -> list[bytes]:
    key = str(corpus)
    if key not in _CACHE:
        _CACHE[key] = _seeds(corpus)
    return _CACHE[key]


header_value = st.one_of(
    st.sampled_from(TRICKY_VALUES),
    st.text(max_size=60),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
)


@st.composite
def generated_mails(draw) -> bytes:
    """Random header sets (valid or not) over random bodies, MIME structure included."""
    headers = draw(st.lists(st.tuples(st.sampled_from(HEADER_NAMES), header_value), max_size=12))
    head = b"".join(
        name.encode() + b": " + value.encode("utf-8", "surrogatepass") + b"\r\n"
        for name, value in headers
    )
    body = draw(
        st.one_of(
            st.binary(max_size=300),
            st.lists(
                st.sampled_from(
                    [
                        b"--b",
                        b"--b--",
                        b"Content-Type: text/html",
                        b"",
                        b"<p>x</p>",
                        b"begin 644 f",
                        b"M86)C",
                        b"end",
                        b"> quoted",
                        b"On Mon, X wrote:",
                        b"-- ",
                    ]
                ),
                max_size=20,
            ).map(b"\r\n".join),
        )
    )
    return b"From: a@b.example\r\n" + head + b"\r\n" + body


@settings(max_examples=1000, **FUZZ)
@given(raw=generated_mails())
def test_generated_header_and_body_combinations(raw: bytes) -> None:
    """Random headers and MIME-ish bodies never crash the parser."""
    check(raw)


@settings(max_examples=500, **FUZZ)
@given(raw=st.binary(max_size=2000))
def test_random_bytes(raw: bytes) -> None:
    """Arbitrary bytes are either refused with a reason or normalized."""
    check(raw)
