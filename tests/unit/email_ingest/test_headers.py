"""Header decoding helpers that must agree with the stdlib they stand in for."""

from __future__ import annotations

from email.utils import getaddresses

from hypothesis import given, settings
from hypothesis import strategies as st

from email_ingest.headers import _split_addresses

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
