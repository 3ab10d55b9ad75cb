"""Raw MIME part bytes: multipart bodies split along their delimiter lines."""

from __future__ import annotations

import pytest

from email_ingest.raw_parts import split_multipart


@pytest.mark.parametrize(
    ("body", "boundary", "parts"),
    [
        (b"--b\r\none\r\n--b\r\ntwo\r\n--b--\r\n", "b", [b"one", b"two"]),
        (b"preamble\n--b\none\n--b--", "b", [b"one"]),
        (b"--b\nx--b\n\n--b \t\ny\n--b", "b", [b"x--b\n", b"y", b""]),
        (b"--b-\n--b\nnot a delimiter above\n--b--\n", "b", [b"not a delimiter above"]),
        (b"--b-\n--b-\n-\n--b---\n", "b-", [b"", b"-"]),
        (b"no delimiter at all", "b", []),
    ],
)
def test_split_multipart(body: bytes, boundary: str, parts: list[bytes]) -> None:
    """Delimiters count only at a line start; the line break before one is not in the part."""
    assert split_multipart(body, boundary) == parts
