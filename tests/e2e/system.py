"""The whole of Switchboard as users run it: every service a real process, real neighbours.

`running_system()` starts, against one vhost and database:

- the HTTP services under gunicorn on free ports (inbox API, email ingress, webhooks),
- the workers as processes of their own (inbox-worker, email-ingest imap, notifier-worker),
- a real SMTP server (aiosmtpd, `smtp_sink`), Dovecot users (`imap_harness`) and the providers'
  reply APIs (`tests.simulators.replies`) for the notifier,

after `switchboard-admin migrate` and `switchboard-admin create-agent --token`. On the way out
every process gets SIGTERM and must exit 0 in time: a graceful shutdown is part of the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import requests

from tests.integration.email_ingest.imap_harness import ImapUser, new_user
from tests.simulators.accounts import ENVIRON, accounts_data
from tests.simulators.replies import ReplySimulator, create_app
from tests.simulators.replies.smtp_sink import SmtpSink, free_port, smtp_sink
from tests.simulators.server import serve
from tests.support import postgres, rabbitmq
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"
PAGE_ID = "682498302938465"  # a page of the main Meta app in tests.simulators.accounts
X_USER_ID = "2244994945"  # our X account (TwitterDev)
SUPPORT = "support@example.com"
HELP = "help@example.com"
INGRESS_TOKEN = "e2e-ingress-token"
NOTIFIER_TOKENS = {"E2E_PAGE_TOKEN": "e2e-page-token", "E2E_X_TOKEN": "e2e-x-token"}
AGENT_PASSWORD = "e2e-agent-password"


@dataclass
class ServiceProcess:
    """One service process, its output in a log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready_url: str
    process: subprocess.Popen | None = None
    terminated: int | None = None  # the pid SIGTERM was sent to

    def start(self) -> ServiceProcess:
        """Start the process (its own session, so a signal reaches only what we sent it to)."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def ready(self) -> bool:
        """Whether /readyz answers 200 (the broker and database reachable)."""
        if self.process is None or self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.exit_code()}:\n{self.log()}")
        try:
            return requests.get(self.ready_url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def terminate(self) -> None:
        """Send SIGTERM (the way an orchestrator stops it), once: a second one could arrive
        while the interpreter is exiting, with Python's handlers gone, and end it with -15."""
        process = self.process
        if process is not None and process.poll() is None and self.terminated != process.pid:
            process.send_signal(signal.SIGTERM)
            self.terminated = process.pid

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not stop in time (then None)."""
        if self.process is None:
            return None
        self.terminate()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            return None

    def kill(self) -> int:
        """SIGKILL the process and everything in its session (a gunicorn master's workers,
        the inbox worker's relay), as a crash or the OOM killer would; return its exit code."""
        assert self.process is not None and self.process.poll() is None, f"{self.name} not running"
        os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait(10)

    def restart(self) -> ServiceProcess:
        """Start a stopped or killed process again, same argv, environment and port."""
        assert self.process is None or self.process.poll() is not None, f"{self.name} running"
        return self.start()

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def log(self) -> str:
        """The last part of what the process wrote."""
        return self.log_path.read_text(errors="replace")[-8000:]


@dataclass
class System:
    """The running system and the handles a scenario drives it with."""

    amqp_url: str
    database_url: str
    workdir: Path
    smtp: SmtpSink
    sim: ReplySimulator
    mailboxes: dict[str, ImapUser]  # support address -> its Dovecot user
    token: str = ""
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    session: requests.Session = field(default_factory=requests.Session)

    def url(self, service: str) -> str:
        """Base URL of an HTTP service: inbox-api, email-ingest, social-ingest."""
        return self.processes[service].ready_url.removesuffix("/readyz")

    # -- the agent's API ---------------------------------------------------------------------

    def api(self, method: str, path: str, json_body: dict | None = None, expect: int = 200):
        """Call the inbox API as the agent; fail unless it answers `expect`."""
        response = self.session.request(
            method,
            f"{self.url('inbox-api')}/api/v1{path}",
            json=json_body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json()

    def conversations(self, **filters: str) -> list[dict]:
        """Every conversation the list shows for these filters (all pages)."""
        items, cursor = [], None
        while True:
            query = {**filters, "limit": "100", **({"cursor": cursor} if cursor else {})}
            page = self.api("GET", "/conversations?" + urlencode(query))
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items

    def conversation(self, conversation_id: str) -> dict:
        """A conversation with its messages."""
        return self.api("GET", f"/conversations/{conversation_id}")

    def reply(self, conversation_id: str, text: str, **body) -> dict:
        """Reply as the agent; the stored reply (status queued)."""
        return self.api(
            "POST", f"/conversations/{conversation_id}/replies", {"text": text, **body}, 201
        )

    def message(self, conversation_id: str, message_id: str) -> dict:
        """One message of a conversation, as the agent sees it now."""
        messages = self.conversation(conversation_id)["messages"]
        return next(m for m in messages if m["id"] == message_id)

    def wait_delivery(self, conversation_id: str, message_id: str, status: str, timeout=30):
        """Wait until the agent sees a reply in `status`; return the message."""

        def reached() -> dict | None:
            message = self.message(conversation_id, message_id)
            return message if message["delivery_status"] == status else None

        return wait_for(reached, timeout, interval=0.1, message=f"reply {message_id} {status}")

    # -- the broker --------------------------------------------------------------------------

    def queue_totals(self) -> dict[str, int]:
        """Ready plus unacknowledged messages of every queue in the vhost."""
        vhost = self.amqp_url.rsplit("/", 1)[1]
        output = rabbitmq.rabbitmqctl(
            "list_queues", "-q", "--no-table-headers", "-p", vhost, "name", "messages"
        )
        totals = {}
        for line in output.splitlines():
            name, _, count = line.rpartition("\t")
            totals[name.strip()] = int(count)
        return totals

    def wait_drained(self, *queues: str, timeout: float = 30) -> None:
        """Wait until these queues hold nothing, ready or in a consumer's hands."""
        wait_for(
            lambda: all(self.queue_totals().get(q, 0) == 0 for q in queues),
            timeout,
            interval=0.2,
            message=f"{', '.join(queues)} to be drained",
        )

    def dead_letters(self, prefix: str = "inbox.") -> dict[str, int]:
        """The dead-letter queues named `prefix...` that hold anything (the notifier parks
        a permanently refused reply in its own on purpose, for an operator to replay)."""
        return {
            q: n
            for q, n in self.queue_totals().items()
            if q.startswith(prefix) and q.endswith(".dlq") and n
        }


def _service_env(system: System, blob_dir: Path) -> dict[str, str]:
    """What every process shares: this run's vhost, database, blobs, short timeouts."""
    environ = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    return {
        **environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "SWITCHBOARD_AMQP_URL": system.amqp_url,
        "SWITCHBOARD_AMQP_CONFIRM_TIMEOUT": "5",
        "SWITCHBOARD_DATABASE_URL": system.database_url,
        "SWITCHBOARD_BLOB_DIR": str(blob_dir),
        "SWITCHBOARD_BLOB_FSYNC": "false",
        "SWITCHBOARD_LOG_FORMAT": "text",
        "SWITCHBOARD_LOG_LEVEL": "INFO",
        # One gunicorn worker per HTTP service: the machine has two cores for all of this.
        "GUNICORN_CMD_ARGS": "--workers 1 --threads 8",
    }


def _admin(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "switchboard-admin"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"switchboard-admin {args[0]}: {result.stderr}{result.stdout}"
    return result.stdout


def _gunicorn(name: str, app: str, env: dict[str, str], workdir: Path) -> ServiceProcess:
    port = free_port()
    metrics = workdir / "prometheus" / name
    metrics.mkdir(parents=True)
    argv = [str(BIN / "gunicorn"), "-c", "python:switchboard_shared.gunicorn_config"]
    argv += ["--no-control-socket", "--bind", f"127.0.0.1:{port}", app]
    return ServiceProcess(
        name,
        argv,
        {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)},
        workdir / f"{name}.log",
        f"http://127.0.0.1:{port}/readyz",
    )


def _worker(name: str, argv: list[str], env: dict[str, str], workdir: Path, health: str):
    port = free_port()
    env = {**env, f"{health}_HOST": "127.0.0.1", f"{health}_PORT": str(port)}
    return ServiceProcess(
        name, argv, env, workdir / f"{name}.log", f"http://127.0.0.1:{port}/readyz"
    )


def _write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def reply_simulator() -> ReplySimulator:
    """The reply APIs, knowing our page and X account."""
    return ReplySimulator(
        page_tokens={PAGE_ID: NOTIFIER_TOKENS["E2E_PAGE_TOKEN"]},
        x_tokens={NOTIFIER_TOKENS["E2E_X_TOKEN"]: X_USER_ID},
        x_limit=100_000,
    )


@contextlib.contextmanager
def running_system(amqp_url: str, database_url: str, workdir: Path) -> Iterator[System]:
    """Start everything; on the way out SIGTERM every process and check each exited 0."""
    with contextlib.ExitStack() as stack:
        smtp = stack.enter_context(smtp_sink())
        sim = reply_simulator()
        sim_url = stack.enter_context(serve(create_app(sim)))
        mailboxes = {SUPPORT: new_user(), HELP: new_user()}
        system = System(amqp_url, database_url, workdir, smtp, sim, mailboxes)
        env = _service_env(system, workdir / "blobs")

        _admin(env, "migrate")
        env["E2E_AGENT_PASSWORD"] = AGENT_PASSWORD
        created = _admin(
            env,
            "create-agent",
            "agent@example.com",
            "--token",
            "--password-env",
            "E2E_AGENT_PASSWORD",
        )
        system.token = created.rsplit("API token (shown once):", 1)[1].strip()

        social = {**env, **ENVIRON}
        social["SWITCHBOARD_SOCIAL_INGEST_ACCOUNTS_FILE"] = str(
            _write_json(workdir / "social-accounts.json", accounts_data())
        )
        email = {**env, "SWITCHBOARD_EMAIL_INGEST_INGRESS_TOKEN": INGRESS_TOKEN}
        email["SWITCHBOARD_EMAIL_INGEST_DEFAULT_INBOX"] = SUPPORT
        entries = [user.mailbox(address=address) for address, user in mailboxes.items()]
        email["SWITCHBOARD_EMAIL_INGEST_MAILBOXES_FILE"] = str(
            _write_json(workdir / "mailboxes.json", entries)
        )
        email["SWITCHBOARD_EMAIL_INGEST_IMAP_POLL_SECONDS"] = "0.2"
        email.update({user.password_env: user.password for user in mailboxes.values()})
        notifier = {**env, **NOTIFIER_TOKENS}
        notifier.update(
            {
                "SWITCHBOARD_NOTIFIER_SMTP_HOST": smtp.host,
                "SWITCHBOARD_NOTIFIER_SMTP_PORT": str(smtp.port),
                "SWITCHBOARD_NOTIFIER_SMTP_TIMEOUT": "5",
                "SWITCHBOARD_NOTIFIER_HTTP_READ_TIMEOUT": "3",
                "SWITCHBOARD_NOTIFIER_CONSUMERS_PER_QUEUE": "1",
                "SWITCHBOARD_NOTIFIER_GRAPH_API_URL": f"{sim_url}/graph/v25.0",
                "SWITCHBOARD_NOTIFIER_X_API_URL": f"{sim_url}/x",
                "SWITCHBOARD_NOTIFIER_TELEGRAM_API_URL": f"{sim_url}/telegram",
                "SWITCHBOARD_NOTIFIER_ACCOUNTS_FILE": str(
                    _write_json(
                        workdir / "notifier-accounts.json",
                        {"meta": {PAGE_ID: "E2E_PAGE_TOKEN"}, "x": {X_USER_ID: "E2E_X_TOKEN"}},
                    )
                ),
            }
        )
        inbox = {**env, "SWITCHBOARD_INBOX_OUTBOX_POLL_SECONDS": "0.2"}
        inbox["SWITCHBOARD_INBOX_BATCH_WAIT"] = "0.02"
        processes = [
            _gunicorn("inbox-api", "inbox.wsgi:app", inbox, workdir),
            _gunicorn("email-ingest", "email_ingest.wsgi:app", email, workdir),
            _gunicorn("social-ingest", "social_ingest.wsgi:app", social, workdir),
            _worker(
                "inbox-worker",
                [str(BIN / "inbox-worker")],
                inbox,
                workdir,
                "SWITCHBOARD_INBOX_HEALTH",
            ),
            _worker(
                "email-ingest-imap",
                [str(BIN / "email-ingest"), "imap"],
                email,
                workdir,
                "SWITCHBOARD_EMAIL_INGEST_HEALTH",
            ),
            _worker(
                "notifier",
                [str(BIN / "notifier-worker")],
                notifier,
                workdir,
                "SWITCHBOARD_NOTIFIER_HEALTH",
            ),
        ]
        system.processes = {p.name: p for p in processes}
        try:
            for process in processes:
                process.start()
            for process in processes:
                wait_for(process.ready, timeout=60, interval=0.1, message=f"{process.name} ready")
            yield system
        finally:
            for process in processes:
                process.terminate()
            codes = {p.name: p.stop() for p in processes}
            system.session.close()
        bad = {name: code for name, code in codes.items() if code != 0}
        assert not bad, "did not exit 0 on SIGTERM: " + ", ".join(
            f"{name} ({code})\n{system.processes[name].log()}" for name, code in bad.items()
        )


@contextlib.contextmanager
def isolated_system(workdir: Path) -> Iterator[System]:
    """`running_system` on a vhost and database of its own, deleted afterwards."""
    vhost, amqp_url = rabbitmq.create_vhost()
    database, database_url = postgres.create_database()
    try:
        with running_system(amqp_url, database_url, workdir) as system:
            yield system
    finally:
        postgres.drop_database(database)
        rabbitmq.delete_vhost(vhost)
