"""The cached MIME parameter lookups answer exactly as the stdlib `Message` methods do."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest

from email_ingest import mime_params

HEADERS = [
    b'Content-Type: text/plain; charset="UTF-8"; format=flowed; delsp=yes',
    b"Content-Type: text/plain; CHARSET=iso-8859-1; charset=utf-8",
    b"Content-Type: text/plain; charset*=utf-8''%E2%82%AC; name*0=a; name*1=b.txt",
    b'Content-Type: application/pdf; name="r\xe9sum\xe9.pdf"',
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=x",
    b'Content-Type: text/plain\nContent-Disposition: attachment; filename="  a.txt "',
    b"Content-Disposition: inline; filename*=iso-8859-1''caf%E9.txt",
    b'Content-Type: text/plain; charset=""; name=',
    b"Content-Type: ;;;=; charset",
    b"Content-Type: Multipart/Alternative ; boundary=b",
    b"Content-Type: text",
    b"Content-Type: text/plain; charset=utf-8\nContent-Type: text/html; charset=koi8-r",
    b"Subject: no content type at all",
]


@pytest.mark.parametrize("header", HEADERS)
def test_lookups_match_the_stdlib(header: bytes) -> None:
    """Every lookup, asked twice (the second from the cache), equals the stdlib's answer."""
    part = BytesParser(policy=policy.compat32).parsebytes(header + b"\n\nbody\n")
    for _ in range(2):
        for name in ("charset", "format", "delsp", "name", "report-type", "missing"):
            assert mime_params.param(part, name) == part.get_param(name)
        disposition = mime_params.param(part, "filename", "content-disposition")
        assert disposition == part.get_param("filename", header="content-disposition")
        assert mime_params.content_charset(part) == part.get_content_charset()
        assert mime_params.content_type(part) == part.get_content_type()
        assert mime_params.filename(part) == part.get_filename()
