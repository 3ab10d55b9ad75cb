"""Fixtures of the notifier tests: its schema, an SMTP sink, the reply simulators, a running
notifier (in a thread, or as a real process that can be killed), and the statuses it published.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifier.config import NotifierSettings
from notifier.worker import build_group
from switchboard_shared.config import load_settings
from switchboard_shared.migrations import installed_migrations, upgrade
from switchboard_shared.publisher import Publisher
from switchboard_shared.schemas import REPLY_REQUESTED, Event
from tests.simulators.replies import ReplySimulator, create_app
from tests.simulators.replies.smtp_sink import SmtpSink, smtp_sink
from tests.simulators.server import serve
from tests.support.rabbitmq import BrokerProbe
from tests.support.waiting import wait_for
from tests.unit.notifier.reply_builders import (
    BOT_ID,
    BOT_TOKEN,
    IG_ID,
    PAGE_ID,
    PHONE_NUMBER_ID,
    X_USER_ID,
)

REPO = Path(__file__).resolve().parents[3]
TOKENS = {
    "NOTIFIER_TEST_PAGE_TOKEN": "page-token",
    "NOTIFIER_TEST_IG_TOKEN": "ig-token",
    "NOTIFIER_TEST_WA_TOKEN": "wa-token",
    "NOTIFIER_TEST_X_TOKEN": "x-user-token",
    "NOTIFIER_TEST_BOT_TOKEN": BOT_TOKEN,
}


@pytest.fixture(scope="session")
def notifier_database(database_url: str) -> str:
    """The test database with the notifier's schema migrated."""
    (notifier,) = [m for m in installed_migrations() if m.schema == "notifier"]
    upgrade(database_url, notifier)
    return database_url


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server recording what it accepts."""
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def sim() -> ReplySimulator:
    """The providers' reply APIs, every account of the builders known, no window closed."""
    return ReplySimulator(
        page_tokens={PAGE_ID: "page-token"},
        instagram_tokens={IG_ID: "ig-token"},
        whatsapp_tokens={PHONE_NUMBER_ID: "wa-token"},
        x_tokens={"x-user-token": X_USER_ID},
        telegram_bots={BOT_TOKEN: (int(BOT_ID), "acme_bot")},
        x_limit=100_000,
    )


@pytest.fixture
def sim_url(sim: ReplySimulator) -> Iterator[str]:
    """Where the simulator listens."""
    with serve(create_app(sim)) as url:
        yield url


@pytest.fixture
def accounts_file(tmp_path: Path) -> Path:
    """The notifier's accounts file: each builder account's token variable."""
    path = tmp_path / "notifier-accounts.json"
    accounts = {
        "meta": {PAGE_ID: "NOTIFIER_TEST_PAGE_TOKEN", IG_ID: "NOTIFIER_TEST_IG_TOKEN"},
        "whatsapp": {PHONE_NUMBER_ID: "NOTIFIER_TEST_WA_TOKEN"},
        "x": {X_USER_ID: "NOTIFIER_TEST_X_TOKEN"},
        "telegram": {BOT_ID: "NOTIFIER_TEST_BOT_TOKEN"},
    }
    path.write_text(json.dumps(accounts))
    return path


@pytest.fixture
def notifier_env(
    amqp_url, notifier_database, tmp_path, smtp, sim_url, accounts_file, broker
) -> dict[str, str]:
    """The environment a notifier process is configured by, pointing at the test doubles."""
    return {
        "SWITCHBOARD_AMQP_URL": amqp_url,
        "SWITCHBOARD_AMQP_CONFIRM_TIMEOUT": "5",
        "SWITCHBOARD_DATABASE_URL": notifier_database,
        "SWITCHBOARD_BLOB_DIR": str(tmp_path / "blobs"),
        "SWITCHBOARD_BLOB_FSYNC": "false",
        "SWITCHBOARD_LOG_FORMAT": "text",
        "SWITCHBOARD_NOTIFIER_HEALTH_PORT": "0",
        # Two threads a queue: several consumers per queue, at half the connections.
        "SWITCHBOARD_NOTIFIER_CONSUMERS_PER_QUEUE": "2",
        "SWITCHBOARD_NOTIFIER_HEALTH_HOST": "127.0.0.1",
        "SWITCHBOARD_NOTIFIER_SMTP_HOST": smtp.host,
        "SWITCHBOARD_NOTIFIER_SMTP_PORT": str(smtp.port),
        "SWITCHBOARD_NOTIFIER_SMTP_TIMEOUT": "5",
        "SWITCHBOARD_NOTIFIER_HTTP_READ_TIMEOUT": "2",
        "SWITCHBOARD_NOTIFIER_GRAPH_API_URL": f"{sim_url}/graph/v25.0",
        "SWITCHBOARD_NOTIFIER_X_API_URL": f"{sim_url}/x",
        "SWITCHBOARD_NOTIFIER_TELEGRAM_API_URL": f"{sim_url}/telegram",
        "SWITCHBOARD_NOTIFIER_ACCOUNTS_FILE": str(accounts_file),
        **TOKENS,
    }


class InProcessNotifier:
    """The notifier's consumer group running in a thread of the test process."""

    def __init__(self, env: dict[str, str]) -> None:
        self.settings = load_settings(NotifierSettings, env)
        self.group = build_group(self.settings, env)
        self.thread = threading.Thread(target=self.group.run_until_stopped, daemon=True)

    def start(self) -> InProcessNotifier:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.group.stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the notifier did not stop"


@pytest.fixture
def notifier(notifier_env) -> Iterator[callable]:
    """Start an in-process notifier with extra settings: `notifier(PREFETCH="5")`."""
    started: list[InProcessNotifier] = []

    def start(**overrides: str) -> InProcessNotifier:
        env = {**notifier_env, **{f"SWITCHBOARD_NOTIFIER_{k}": v for k, v in overrides.items()}}
        running = InProcessNotifier(env).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


class NotifierProcess:
    """`notifier-worker` as a real process (so it can be SIGKILLed)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = {**os.environ, **env}
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> NotifierProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "notifier.worker"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        return self

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        self.process.terminate()
        return self.process.wait(timeout=30)


@pytest.fixture
def notifier_process(notifier_env, tmp_path) -> Iterator[callable]:
    """Start notifier processes; whatever is still running at the end is killed."""
    started: list[NotifierProcess] = []

    def start(**overrides: str) -> NotifierProcess:
        env = {**notifier_env, **{f"SWITCHBOARD_NOTIFIER_{k}": v for k, v in overrides.items()}}
        process = NotifierProcess(env, tmp_path / f"notifier-{len(started)}.log").start()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process and process.process.poll() is None:
            process.kill()


class Jobs:
    """Publish reply jobs and collect the statuses the notifier published about them."""

    def __init__(self, amqp_settings, broker: BrokerProbe) -> None:
        self.publisher = Publisher(amqp_settings)
        self.broker = broker
        self.statuses: list[dict] = []

    def publish(self, *payloads: dict) -> None:
        self.publisher.publish_many([Event(REPLY_REQUESTED, p) for p in payloads])

    def collect(self) -> list[dict]:
        """Every delivery.status published so far, oldest first."""
        taken = self.broker.take_all("inbox.statuses")
        self.statuses.extend(json.loads(body) for _, body in taken)
        return self.statuses

    def of(self, reply_id: str) -> list[dict]:
        """The statuses of one reply, oldest first."""
        return [s for s in self.collect() if s["reply_id"] == reply_id]

    def wait_status(self, reply_id: str, status: str, timeout: float = 20) -> dict:
        """Wait for `status` of `reply_id`; return it."""

        def found() -> dict | None:
            return next((s for s in self.of(reply_id) if s["status"] == status), None)

        return wait_for(found, timeout, interval=0.1, message=f"{status} for {reply_id}")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.publisher.close()


@pytest.fixture
def jobs(amqp_settings, broker) -> Iterator[Jobs]:
    """Publish jobs, read statuses."""
    helper = Jobs(amqp_settings, broker)
    yield helper
    helper.close()
