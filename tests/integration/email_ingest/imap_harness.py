"""The IMAP tests' world: Dovecot (scripts/dovecot.sh), fresh users, mails, worker processes.

Every test gets its own Dovecot user (a line added to the passwd-file, which Dovecot re-reads),
so tests share nothing on the server and never depend on their order.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

import email_ingest
from switchboard_shared.migrations import MigrationSet, upgrade
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[3]
DOVECOT_DIR = REPO / "var" / "dovecot"
HOST = "127.0.0.1"
# This checkout's own Dovecot (scripts/dovecot.sh picks the port).
PORT = int(subprocess.check_output([str(REPO / "scripts" / "dovecot.sh"), "port"], text=True))
ADDRESS = "support@example.com"


@dataclass(frozen=True)
class ImapUser:
    """A Dovecot account of this test run."""

    name: str
    password: str

    def client(self) -> IMAPClient:
        """A logged-in IMAP session (the test's own view of the server)."""
        client = IMAPClient(HOST, port=PORT, ssl=False, timeout=30)
        client.login(self.name, self.password)
        return client

    def mailbox(self, **overrides) -> dict:
        """This account as an entry of the mailboxes file (password in IMAP_PW_<name>)."""
        entry = {
            "name": self.name,
            "address": ADDRESS,
            "host": HOST,
            "port": PORT,
            "security": "none",
            "user": self.name,
            "password_env": self.password_env,
        }
        entry.update(overrides)
        return entry

    @property
    def password_env(self) -> str:
        """The environment variable the worker reads this account's password from."""
        return "IMAP_PW_" + self.name.replace("-", "_").upper()


def new_user() -> ImapUser:
    """Create a Dovecot account nobody else uses."""
    user = ImapUser(f"sb-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex)
    with (DOVECOT_DIR / "users").open("a") as users:
        users.write(f"{user.name}:{{PLAIN}}{user.password}\n")

    def can_log_in() -> bool:
        try:
            user.client().logout()
        except LoginError:
            return False  # Dovecot re-reads the users file at most once a second
        return True

    wait_for(can_log_in, timeout=10, interval=0.2, message=f"Dovecot to know {user.name}")
    return user


def build_mail(index: int, tag: str = "", body_lines: int = 3) -> bytes:
    """A plain customer mail with a unique Message-ID `<tag.index@customer.example>`."""
    message = EmailMessage()
    message["From"] = f"Customer {index} <customer{index}@customer.example>"
    message["To"] = ADDRESS
    message["Subject"] = f"Order {index}: where is it?"
    message["Date"] = format_datetime(datetime(2030, 1, 1, 12, 0, tzinfo=UTC))
    message["Message-ID"] = message_id(index, tag)
    message.set_content("\n".join(f"Line {n} of mail {index}." for n in range(body_lines)))
    return message.as_bytes()


def message_id(index: int, tag: str = "") -> str:
    """The Message-ID `build_mail(index, tag)` carries."""
    return f"<{tag or 'mail'}.{index}@customer.example>"


def append_mails(user: ImapUser, mails: list[bytes], folder: str = "INBOX") -> None:
    """APPEND mails to a folder (created if missing), in order."""
    with user.client() as client:
        if not client.folder_exists(folder):
            client.create_folder(folder)
        client.multiappend(folder, mails)


def published_ids(broker) -> list[str]:
    """Take every message from `inbox.messages` and return their Message-IDs in order."""
    return [json.loads(body)["external_id"] for _, body in broker.take_all("inbox.messages")]


class WorkerProcess:
    """`python -m email_ingest.imap_worker` as a real process, its log in a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "email_ingest.imap_worker"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        """The process id (part of the lease holder's name)."""
        return self.process.pid

    def terminate(self, timeout: float = 20) -> int:
        """SIGTERM, then wait for the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: the replica dies holding its leases."""
        self.process.kill()
        self.process.wait(10)

    def close(self) -> None:
        """Kill the process if it still runs; close its log."""
        if self.process.poll() is None:
            self.kill()
        self._log.close()

    def log(self) -> str:
        """What the process logged so far."""
        return self.log_path.read_text(errors="replace")


def worker_env(amqp_url: str, database_url: str, blob_dir: Path) -> dict[str, str]:
    """The environment of an IMAP worker process on this vhost, database and blob directory."""
    return {
        **os.environ,
        "SWITCHBOARD_AMQP_URL": amqp_url,
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_BLOB_DIR": str(blob_dir),
        "SWITCHBOARD_LOG_FORMAT": "text",
        "SWITCHBOARD_EMAIL_INGEST_HEALTH_HOST": "127.0.0.1",
        "SWITCHBOARD_EMAIL_INGEST_HEALTH_PORT": "0",
    }


class WorkerFactory:
    """Starts workers for a test with one environment; kills what is left at teardown."""

    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.env = env
        self.tmp_path = tmp_path
        self.started: list[WorkerProcess] = []

    def configure(self, users: list[ImapUser], entries: list[dict] | None = None, **settings):
        """Write the mailboxes file for `users` and set SWITCHBOARD_EMAIL_INGEST_* values."""
        path = self.tmp_path / "mailboxes.json"
        path.write_text(json.dumps(entries or [user.mailbox() for user in users]))
        self.env["SWITCHBOARD_EMAIL_INGEST_MAILBOXES_FILE"] = str(path)
        for user in users:
            self.env[user.password_env] = user.password
        for key, value in settings.items():
            self.env[f"SWITCHBOARD_EMAIL_INGEST_{key.upper()}"] = str(value)

    def start(self) -> WorkerProcess:
        """Start one replica."""
        worker = WorkerProcess(dict(self.env), self.tmp_path / f"worker-{len(self.started)}.log")
        self.started.append(worker)
        return worker

    def close(self) -> None:
        """Kill every replica still running; print their logs (shown if the test failed)."""
        for worker in self.started:
            worker.close()
            print(f"--- {worker.log_path.name} (pid {worker.pid})\n{worker.log()[-6000:]}")


@pytest.fixture(scope="session")
def dovecot() -> None:
    """Dovecot answering on 127.0.0.1:PORT (installed and started if needed)."""
    result = subprocess.run(
        [str(REPO / "scripts" / "dovecot.sh")], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"scripts/dovecot.sh failed: {result.stderr}")


@pytest.fixture(scope="session")
def imap_database(database_url: str) -> str:
    """The test database with email-ingest's tables."""
    migrate(database_url)
    return database_url


def migrate(database_url: str) -> None:
    """Create email-ingest's tables (cursors, leases) in a database."""
    directory = Path(email_ingest.__file__).parent / "migrations"
    upgrade(database_url, MigrationSet("email_ingest", str(directory)))


@pytest.fixture
def imap_user(dovecot) -> ImapUser:
    """A fresh Dovecot account."""
    return new_user()


@pytest.fixture
def workers(amqp_url, imap_database, broker, tmp_path) -> Iterator[WorkerFactory]:
    """Start IMAP worker processes against this run's vhost, database and Dovecot."""
    env = worker_env(amqp_url, imap_database, tmp_path / "blobs")
    env["SWITCHBOARD_AMQP_CONFIRM_TIMEOUT"] = "5"
    env["SWITCHBOARD_BLOB_FSYNC"] = "false"
    env["SWITCHBOARD_EMAIL_INGEST_IMAP_LEASE_SECONDS"] = "3"
    factory = WorkerFactory(env, tmp_path)
    yield factory
    factory.close()
