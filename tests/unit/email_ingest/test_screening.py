"""Screening helpers that must agree with the patterns they stand in for."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from email_ingest.screening import empty_line

EMPTY_LINE = re.compile(rb"\r?\n\r?\n")


@given(st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b": "]), max_size=30).map(b"".join))
@settings(max_examples=3000, database=None)
def test_empty_line_finds_the_span_the_pattern_finds(data: bytes) -> None:
    """Same span as `re.search(rb"\\r?\\n\\r?\\n")`, or None where it finds nothing."""
    match = EMPTY_LINE.search(data)
    assert empty_line(data) == (match.span() if match else None)


@given(
    st.sampled_from([b"x\n", b"x\r\n", b"\r\n\r", b"x\r"]),
    st.integers(0, 20_000),
    st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"a"]), max_size=8).map(b"".join),
)
@settings(max_examples=300, database=None)
def test_empty_line_far_into_the_data(line: bytes, repeat: int, tail: bytes) -> None:
    """Past the first prefix searched (and across its growth), the span is still the pattern's."""
    data = line * repeat + tail
    match = EMPTY_LINE.search(data)
    assert empty_line(data) == (match.span() if match else None)
