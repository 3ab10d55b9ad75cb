"""`email-ingest parse FILE...` prints the normalized JSON of each file."""

from __future__ import annotations

import json

from email_ingest.cli import main

MAIL = (
    b"From: Jane <jane@example.org>\r\nTo: support@example.com\r\nSubject: Hello\r\n"
    b"Message-ID: <cli-1@example.org>\r\n\r\nHi there\r\n"
)


def test_parse_prints_one_json_document_per_file(tmp_path, capsys) -> None:
    """Each file becomes a JSON document with its path and its message.received payload."""
    first, second = tmp_path / "a.eml", tmp_path / "b.eml"
    first.write_bytes(MAIL)
    second.write_bytes(MAIL.replace(b"cli-1", b"cli-2"))
    status = main(
        [
            "parse",
            "--compact",
            "--inbox",
            "help@example.com",
            "--received-at",
            "2024-01-01T00:00:00+00:00",
            str(first),
            str(second),
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert status == 0 and len(lines) == 2
    documents = [json.loads(line) for line in lines]
    assert documents[0]["file"] == str(first)
    assert documents[1]["payload"]["external_id"] == "<cli-2@example.org>"
    assert documents[0]["payload"]["inbox"] == "help@example.com"
    assert documents[0]["payload"]["received_at"] == "2024-01-01T00:00:00+00:00"


def test_parse_reports_files_that_are_not_email(tmp_path, capsys) -> None:
    """A non-email file is named on stderr with the reason; the others still print."""
    good, bad = tmp_path / "good.eml", tmp_path / "bad.pdf"
    good.write_bytes(MAIL)
    bad.write_bytes(b"%PDF-1.4 ...")
    status = main(["parse", str(bad), str(good)])
    captured = capsys.readouterr()
    assert status == 1
    assert "bad.pdf: not an email: payload is a PDF file" in captured.err
    assert json.loads(captured.out)["payload"]["subject"] == "Hello"
