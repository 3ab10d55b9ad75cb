"""Fixtures for browser tests: the inbox API and worker as real processes, and Debian's chromium.

Playwright drives /usr/bin/chromium (installed by scripts/apt-packages.sh); it never downloads
a browser of its own.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from switchboard_shared.config import AmqpSettings
from tests.browser.inbox_server import running_api
from tests.integration.inbox.conftest import db, migrated_database_url  # noqa: F401 (fixtures)
from tests.integration.inbox.worker_processes import running_workers, worker_environment

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"


@dataclass
class RecordedPage:
    """A page, every URL it requested, why requests failed, and the script errors it raised."""

    page: Page
    requests: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def left_the_browser(self, base_url: str) -> list[str]:
        """Requests to anywhere but `base_url` that the page's policy did not stop."""
        return [
            url
            for url in self.requests
            if not url.startswith(base_url + "/") and self.failures.get(url) != "csp"
        ]


@dataclass(frozen=True)
class Inbox:
    """The running inbox: its web address and an agent who can sign in."""

    base_url: str
    agent_email: str
    password: str


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian chromium, kept off the network except for the pages it is sent to."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/apt-packages.sh (it installs chromium)")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=["--no-sandbox", "--disable-background-networking"],
    )
    yield browser
    browser.close()


@pytest.fixture
def inbox(
    db,  # noqa: F811 (the emptied schema)
    broker,
    amqp_settings: AmqpSettings,
    migrated_database_url: str,  # noqa: F811
    tmp_path: Path,
) -> Iterator[Inbox]:
    """The API under gunicorn and one worker over an empty inbox, with one agent."""
    environment = worker_environment(
        str(amqp_settings.url),
        migrated_database_url,
        tmp_path / "blobs",
        SWITCHBOARD_INBOX_SECRET_KEY="browser-test-secret",
        SWITCHBOARD_INBOX_EMAIL_DOMAIN="inbox.example.com",
        SWITCHBOARD_INBOX_OUTBOX_POLL_SECONDS="0.2",
        AGENT_PASSWORD=PASSWORD,
    )
    email = "grace@support.example.com"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "switchboard-admin"),
            "create-agent",
            email,
            "--name",
            "Grace",
            "--password-env",
            "AGENT_PASSWORD",
        ],
        env=environment,
        check=True,
        capture_output=True,
    )
    with running_workers(1, environment), running_api(environment) as base_url:
        yield Inbox(base_url, email, PASSWORD)


@pytest.fixture
def recorded_page(browser: Browser) -> Iterator[RecordedPage]:
    """A fresh browser context and page recording its requests and uncaught script errors."""
    context = browser.new_context()
    context.set_default_timeout(20_000)
    page = context.new_page()
    recorded = RecordedPage(page)
    context.on("request", lambda request: recorded.requests.append(request.url))
    context.on(
        "requestfailed",
        lambda request: recorded.failures.__setitem__(request.url, request.failure or ""),
    )
    page.on("pageerror", lambda error: recorded.errors.append(str(error)))
    yield recorded
    context.close()
