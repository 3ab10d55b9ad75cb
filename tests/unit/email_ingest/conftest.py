"""Shared fixtures of the email parser tests: the real-world corpus, parsing, figure reporting."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from email_ingest import ParsedEmail, parse_email
from switchboard_shared.schemas import MESSAGE_RECEIVED

REPO_ROOT = Path(__file__).resolve().parents[3]
RECEIVED_AT = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
INBOX = "support@example.com"

# Figures the corpus tests measured, printed in the terminal summary whatever `-s` says.
FIGURES: list[tuple[str, str]] = []


def corpus_root() -> Path:
    """The corpus folder: $SWITCHBOARD_CORPUS, else ../shared/corpus beside the repository."""
    return Path(os.environ.get("SWITCHBOARD_CORPUS") or REPO_ROOT.parent / "shared" / "corpus")


@pytest.fixture(scope="session")
def corpus() -> Path:
    """Return the corpus folder, failing with instructions when it is missing."""
    root = corpus_root()
    if not (root / "zammad" / "mail").is_dir():
        pytest.fail(
            f"email corpus not found at {root}: set SWITCHBOARD_CORPUS to the folder holding "
            "zammad/, chatwoot/, talon/, reply-parser/ and malformed-mime/ (see shared/corpus)",
            pytrace=False,
        )
    return root


@pytest.fixture(scope="session")
def parse() -> Callable[[bytes], ParsedEmail]:
    """Parse raw bytes and check the payload against the bus schema on the way."""

    def parse_and_validate(raw: bytes) -> ParsedEmail:
        parsed = parse_email(raw, inbox=INBOX, received_at=RECEIVED_AT)
        MESSAGE_RECEIVED.validate(parsed.payload)
        return parsed

    return parse_and_validate


@pytest.fixture(scope="session")
def report() -> Callable[[str, str], None]:
    """Record a measured figure for the terminal summary."""

    def add(title: str, text: str) -> None:
        FIGURES.append((title, text))

    return add


class RubyYamlLoader(yaml.SafeLoader):
    """Loads Zammad's Ruby `to_yaml` expectations."""


RubyYamlLoader.add_multi_constructor(
    "!ruby/hash:", lambda loader, _suffix, node: loader.construct_mapping(node, deep=True)
)
RubyYamlLoader.add_constructor(
    "!binary", lambda loader, node: base64.b64decode(loader.construct_scalar(node))
)


@pytest.fixture(scope="session")
def load_ruby_yaml() -> Callable[[Path], dict]:
    """Return a loader for Zammad's `mailNNN.yml` files."""

    def load(path: Path) -> dict:
        with path.open("rb") as fh:
            return yaml.load(fh, Loader=RubyYamlLoader)  # noqa: S506 - SafeLoader subclass

    return load


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the corpus figures (per-field match rates, hit rates) after the test run."""
    if not FIGURES:
        return
    terminalreporter.section("email parser corpus figures")
    for title, text in FIGURES:
        terminalreporter.write_line(title)
        for line in text.splitlines():
            terminalreporter.write_line(f"  {line}")
