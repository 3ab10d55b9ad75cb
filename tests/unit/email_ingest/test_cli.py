"""`email-ingest parse FILE...` prints each file as JSON; `email-ingest imap` runs the poller."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


def run_installed(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the `email-ingest` script the package installs, as compose and Procfile.local do."""
    script = Path(sys.executable).with_name("email-ingest")
    return subprocess.run(
        [str(script), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_imap_help_describes_the_poller() -> None:
    """`email-ingest imap --help` exits 0 and says what the command does."""
    result = run_installed("imap", "--help", env={"PATH": os.environ["PATH"]})
    assert result.returncode == 0, result.stderr
    assert "SWITCHBOARD_EMAIL_INGEST_MAILBOXES_FILE" in result.stdout


def test_imap_without_settings_names_what_is_missing() -> None:
    """An empty environment exits 2 and lists every required setting, without a traceback."""
    result = run_installed("imap", env={"PATH": os.environ["PATH"]})
    assert result.returncode == 2
    assert "SWITCHBOARD_AMQP_URL is required" in result.stderr
    assert "SWITCHBOARD_DATABASE_URL is required" in result.stderr
    assert "Traceback" not in result.stderr


def test_imap_without_a_mailboxes_file_says_so(tmp_path) -> None:
    """With the shared settings but no mailboxes file, the one missing setting is named."""
    env = {
        "PATH": os.environ["PATH"],
        "SWITCHBOARD_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/unused",
        "SWITCHBOARD_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/unused",
        "SWITCHBOARD_BLOB_DIR": str(tmp_path),
    }
    result = run_installed("imap", env=env)
    assert result.returncode == 2
    assert "SWITCHBOARD_EMAIL_INGEST_MAILBOXES_FILE is required" in result.stderr
