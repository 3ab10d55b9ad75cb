"""notifier.*: replies sent per second to an SMTP server and to a provider simulator.

N jobs are published to the notifier's queue while one (then two) `notifier-worker` processes
consume it with their default settings; the rate is N over the time until the SMTP server (an
aiosmtpd sink) or the Telegram simulator has received all N and every `sent` status is on the
bus. Each reply costs what it costs in production: a claim row committed before the send, a
confirmed `sending` status, the send, the `sent` row committed, a confirmed `sent` status, the
ack. As ceilings, the same sink and simulator are driven by a bare loop (smtplib on one kept
connection, requests on one session) in this process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pika
import pika.exceptions
import requests

from bench.support import (
    REPO,
    Stopwatch,
    figure,
    rerun_command,
    throwaway_database,
    throwaway_vhost,
)
from switchboard_shared.migrations import installed_migrations, upgrade
from switchboard_shared.publisher import Publisher
from switchboard_shared.schemas import REPLY_REQUESTED, Event
from tests.simulators.replies import ReplySimulator, create_app
from tests.simulators.replies.smtp_sink import SmtpSink, smtp_sink
from tests.simulators.server import serve
from tests.support.waiting import wait_for
from tests.unit.notifier.reply_builders import BOT_ID, BOT_TOKEN, email_reply, social_reply

log = logging.getLogger(__name__)

COMMAND = rerun_command("notifier")
REPLIES = 2000
CEILING_REPLIES = 2000


def measure() -> list[dict]:
    """Measure SMTP and social sends with one and two processes, and the bare ceilings."""
    rates: dict[str, float] = {}
    with (
        throwaway_vhost() as vhost,
        throwaway_database() as database_url,
        tempfile.TemporaryDirectory(prefix="notifier-bench-") as scratch,
    ):
        (notifier,) = [m for m in installed_migrations() if m.schema == "notifier"]
        upgrade(database_url, notifier)
        sim = ReplySimulator(telegram_bots={BOT_TOKEN: (int(BOT_ID), "acme_bot")})
        with smtp_sink() as sink, serve(create_app(sim)) as sim_url:
            env = _environment(vhost.url, database_url, Path(scratch), sink, sim_url)
            rates["smtp_ceiling"] = _smtp_ceiling(sink)
            rates["social_ceiling"] = _social_ceiling(sim_url, sim)
            for processes in (1, 2):
                for kind in ("smtp", "social"):
                    received_before = _received(kind, sink, sim)
                    rate = _run(kind, processes, vhost, env, sink, sim, received_before)
                    log.info("%s with %d process(es): %.0f replies/s", kind, processes, rate)
                    rates[f"{kind}_{processes}"] = rate
    return _figures(rates)


def _figures(rates: dict[str, float]) -> list[dict]:
    per_reply = (
        "each reply is a claim row committed before the send, a confirmed `sending` status, "
        "the send, the `sent` row committed, a confirmed `sent` status and the ack, in that "
        "order, on one of the queue's 4 consumer threads"
    )
    shared = "the 2 cores are shared by the notifiers, RabbitMQ, PostgreSQL and the {server}"
    return [
        figure(
            "notifier.smtp_per_s",
            rates["smtp_1"],
            "replies/s",
            COMMAND,
            f"One process: {per_reply}; two fsynced commits and two awaited confirms per reply "
            "cost more than the SMTP dialogue (the same aiosmtpd sink takes "
            f"{rates['smtp_ceiling']:.0f} msg/s from a bare smtplib loop)",
        ),
        figure(
            "notifier.smtp_per_s_2procs",
            rates["smtp_2"],
            "replies/s",
            COMMAND,
            f"Two processes on one queue, {rates['smtp_2'] / rates['smtp_1']:.2f}x one: CPU, as "
            + shared.format(server="SMTP sink"),
        ),
        figure(
            "notifier.social_per_s",
            rates["social_1"],
            "replies/s",
            COMMAND,
            f"One process, Telegram sendMessage: {per_reply}; the threaded Flask simulator "
            f"answers {rates['social_ceiling']:.0f} req/s to one bare requests loop",
        ),
        figure(
            "notifier.social_per_s_2procs",
            rates["social_2"],
            "replies/s",
            COMMAND,
            f"Two processes on one queue, {rates['social_2'] / rates['social_1']:.2f}x one: CPU, "
            "as " + shared.format(server="simulator"),
        ),
        figure(
            "notifier.smtp_ceiling_per_s",
            rates["smtp_ceiling"],
            "msg/s",
            COMMAND,
            "A bare smtplib loop on one connection to the same aiosmtpd sink: no bus, no database",
        ),
        figure(
            "notifier.social_ceiling_per_s",
            rates["social_ceiling"],
            "req/s",
            COMMAND,
            "A bare requests loop on one session to the same Telegram simulator: no bus, no "
            "database",
        ),
    ]


def _environment(
    amqp_url: str, database_url: str, scratch: Path, sink: SmtpSink, sim_url: str
) -> dict[str, str]:
    return {
        **os.environ,
        "SWITCHBOARD_AMQP_URL": amqp_url,
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_BLOB_DIR": str(scratch / "blobs"),
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
        "SWITCHBOARD_NOTIFIER_HEALTH_PORT": "0",
        "SWITCHBOARD_NOTIFIER_HEALTH_HOST": "127.0.0.1",
        "SWITCHBOARD_NOTIFIER_SMTP_HOST": sink.host,
        "SWITCHBOARD_NOTIFIER_SMTP_PORT": str(sink.port),
        "SWITCHBOARD_NOTIFIER_TELEGRAM_API_URL": f"{sim_url}/telegram",
        "SWITCHBOARD_NOTIFIER_TELEGRAM_TOKEN": BOT_TOKEN,
    }


def _run(
    kind: str, processes: int, vhost, env: dict, sink: SmtpSink, sim, received_before: int
) -> float:
    queue = "notifier.email" if kind == "smtp" else "notifier.telegram"
    env = {**env, "SWITCHBOARD_NOTIFIER_QUEUES": queue}
    build = email_reply if kind == "smtp" else (lambda: social_reply("telegram"))
    jobs = [Event(REPLY_REQUESTED, build()) for _ in range(REPLIES)]
    probe = vhost.probe()
    publisher = Publisher(vhost.settings())
    try:
        probe.purge_all()
        with _notifiers(env, processes):
            wait_for(
                lambda: _consumers(vhost.url, queue) >= processes,
                timeout=30,
                interval=0.5,
                message=f"{processes} notifier consumer(s) on {queue}",
            )
            watch = Stopwatch()
            for start in range(0, REPLIES, 500):
                publisher.publish_many(jobs[start : start + 500])
            wait_for(
                lambda: _received(kind, sink, sim) - received_before >= REPLIES,
                timeout=600,
                interval=0.05,
                message=f"{REPLIES} {kind} replies received",
            )
            # Every reply's two statuses (sending, sent) are published before its ack.
            probe.wait_depth("inbox.statuses", 2 * REPLIES, timeout=60)
            seconds = watch.seconds
            probe.wait_depth(queue, 0, timeout=60)
        received = _received(kind, sink, sim) - received_before
        if received != REPLIES:
            raise RuntimeError(f"{received} {kind} replies received for {REPLIES} jobs")
    finally:
        publisher.close()
        probe.close()
    return REPLIES / seconds


@contextlib.contextmanager
def _notifiers(env: dict, count: int) -> Iterator[None]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "notifier.worker"],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _consumers(amqp_url: str, queue: str) -> int:
    try:
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    except pika.exceptions.AMQPConnectionError:
        return 0  # the broker is busy accepting the notifiers' connections: ask again
    try:
        return connection.channel().queue_declare(queue, passive=True).method.consumer_count
    finally:
        connection.close()


def _received(kind: str, sink: SmtpSink, sim) -> int:
    if kind == "smtp":
        return len(sink.handler.messages)
    return len(sim.calls)


def _smtp_ceiling(sink: SmtpSink) -> float:
    reply = email_reply()
    message = (
        f"From: support@acme.example\r\nTo: jane@example.org\r\nSubject: x\r\n\r\n{reply['text']}"
    )
    before = len(sink.handler.messages)
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as connection:
        watch = Stopwatch()
        for _ in range(CEILING_REPLIES):
            connection.sendmail("support@acme.example", ["jane@example.org"], message)
        seconds = watch.seconds
    assert len(sink.handler.messages) - before == CEILING_REPLIES
    return CEILING_REPLIES / seconds


def _social_ceiling(sim_url: str, sim) -> float:
    before = len(sim.calls)
    body = {"chat_id": 52147321, "text": "ceiling", "reply_parameters": {"message_id": 1187}}
    with requests.Session() as session:
        watch = Stopwatch()
        for _ in range(CEILING_REPLIES):
            response = session.post(
                f"{sim_url}/telegram/bot{BOT_TOKEN}/sendMessage", json=body, timeout=10
            )
            response.raise_for_status()
        seconds = watch.seconds
    assert len(sim.calls) - before == CEILING_REPLIES
    return CEILING_REPLIES / seconds


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    started = datetime.now(UTC)
    for row in measure():
        log.info("%s = %.1f %s", row["name"], row["value"], row["unit"])
    log.info("took %s", datetime.now(UTC) - started)
