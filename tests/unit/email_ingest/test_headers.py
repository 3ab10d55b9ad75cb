"""Header decoding helpers that must agree with the stdlib they stand in for."""

from __future__ import annotations

from datetime import datetime
from email.utils import getaddresses, parsedate_to_datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from email_ingest.headers import _parse_date_value, _split_addresses

ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
WORD = st.text(alphabet=ATEXT, min_size=1, max_size=6)
MAILBOX_CHARS = ATEXT + ' .@<>,;:"()[]\\\t'


@given(
    st.lists(WORD, max_size=3),
    st.lists(WORD, min_size=1, max_size=3),
    st.lists(st.text(alphabet="ab09-", min_size=1, max_size=5), min_size=1, max_size=3),
)
@settings(max_examples=500, database=None)
def test_simple_mailboxes_split_as_getaddresses_does(
    name: list[str], local: list[str], domain: list[str]
) -> None:
    """`Name <local@domain>` read by the fast path equals what getaddresses returns."""
    address = f"{'.'.join(local)}@{'.'.join(domain)}"
    text = f"{' '.join(name)} <{address}>" if name else f"<{address}>"
    assert _split_addresses(text) == getaddresses([text])


@given(st.text(alphabet=MAILBOX_CHARS, min_size=1, max_size=40).filter(lambda t: "<" in t))
@settings(max_examples=500, database=None)
def test_other_bracketed_values_still_go_to_getaddresses(text: str) -> None:
    """Values with angle brackets split as getaddresses splits them, fast path or not."""
    try:
        expected = getaddresses([text])
    except Exception:
        return  # the fallback for getaddresses failures is covered by the parser tests
    assert _split_addresses(text) == expected


def _date_outcome(parse, value: str) -> tuple[str, str] | str:
    """What parsing `value` gives: the datetime and its zone, or the kind of error."""
    try:
        parsed: datetime = parse(value)
    except Exception as exc:
        return type(exc).__name__
    return parsed.isoformat(), repr(parsed.tzinfo)


two_digits = st.integers(0, 99).map("{:02d}".format)
common_dates = st.builds(
    "{}{} {} {} {}:{}:{} {}{}{}".format,
    st.sampled_from(["", "Tue, ", "Sun, ", "Tue,", "Foo, ", "tue, "]),
    st.one_of(st.integers(0, 40).map(str), two_digits, st.sampled_from(["٣", "1 "])),
    st.sampled_from(["Jan", "Feb", "Jun", "Dec", "jan", "JUN", "June", "Foo"]),
    st.one_of(st.integers(0, 10_000).map(str), st.sampled_from(["0099", "99", "1970"])),
    two_digits,
    two_digits,
    two_digits,
    st.sampled_from(["+", "-", ""]),
    two_digits,
    two_digits,
)


@given(common_dates)
@settings(max_examples=2000, database=None)
def test_common_dates_parse_as_parsedate_to_datetime_does(value: str) -> None:
    """The direct reading of `Tue, 20 Feb 2024 10:00:00 +0100` equals the stdlib's, errors too."""
    expected = _date_outcome(parsedate_to_datetime, value)
    assert _date_outcome(_parse_date_value, value) == expected
