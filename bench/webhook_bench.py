"""webhook.*: signed Meta deliveries accepted per second by one social-ingest instance.

Both servers run under the settings compose gives social-ingest (`gunicorn -c
python:switchboard_shared.gunicorn_config --threads 16`: 2 workers x 16 threads, blobs
fsynced, Prometheus multiprocess files): social-ingest itself (signature check, archive,
normalization, validation, confirmed publish) and, as its ceiling, a minimal Flask app in this
module that only publishes the raw body with an awaited confirm. A small asyncio HTTP/1.1
client keeps CONNECTIONS keep-alive connections busy with unique signed deliveries (as a
network's are), as `wrk` would; both servers are measured alternately in
one run, in a throwaway vhost, and every accepted delivery is checked to be on the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from bench.support import REPO, figure, rerun_command, steady_state_store, throwaway_vhost
from tests.support.waiting import wait_for

log = logging.getLogger(__name__)

COMMAND = rerun_command("webhook")
CONNECTIONS = 32
WARMUP_SECONDS = 2.0
MEASURE_SECONDS = 8.0
# Per server, alternating: the ratio is the median of each round's service/ceiling pair, so
# the machine's drift between rounds (its speed varied by 1.6x within minutes) cancels out.
ROUNDS = 6
APP_SECRET = "bench_app_secret"  # noqa: S105 - a throwaway secret for signing
PAGE = "682498302938465"
QUEUE = "inbox.messages"
GUNICORN = REPO / ".venv/bin/gunicorn"
# docker-compose.yml's social-ingest command line, given to both servers alike.
GUNICORN_SETTINGS = ("-c", "python:switchboard_shared.gunicorn_config", "--threads", "16")


def measure() -> list[dict]:
    """Alternate the ceiling and the service; report the medians and their ratio."""
    with throwaway_vhost() as vhost, tempfile.TemporaryDirectory(prefix="webhook-bench-") as tmp:
        scratch = Path(tmp)
        env = _environment(vhost.url, scratch)
        steady_state_store(scratch / "blobs")
        probe = vhost.probe()
        rates: dict[str, list[float]] = {"ceiling": [], "accepted": []}
        try:
            for _ in range(ROUNDS):
                for kind, app in (
                    ("ceiling", "bench.webhook_bench:create_ceiling_app()"),
                    ("accepted", "social_ingest.wsgi:app"),
                ):
                    probe.purge_all()
                    with _gunicorn(app, env, scratch) as base:
                        path = "/" if kind == "ceiling" else "/webhooks/meta/main"
                        rate, accepted = asyncio.run(_load(base, path))
                    probe.wait_depth(QUEUE, accepted, timeout=60)
                    log.info("%s: %.0f deliveries/s", kind, rate)
                    rates[kind].append(rate)
        finally:
            probe.close()
    ceiling = statistics.median(rates["ceiling"])
    accepted = statistics.median(rates["accepted"])
    pairs = zip(rates["accepted"], rates["ceiling"], strict=True)
    ratio = statistics.median(accepted_rate / ceiling_rate for accepted_rate, ceiling_rate in pairs)
    setting = f"{CONNECTIONS} connections, gunicorn 2x16 gthread, blobs fsynced"
    return [
        figure(
            "webhook.accepted_per_s",
            accepted,
            "req/s",
            COMMAND,
            f"One signed Messenger delivery per request ({setting}): each request waits for "
            "its own confirm and for its raw body's archive, appended to the worker's "
            "pack file and made durable by a group commit (one fdatasync of the pack a "
            "round for every request in flight, at most two syncs of latency each, on a "
            "disk RabbitMQ fsyncs too); then the GIL a worker's threads share and Python's "
            "per-request work (normalization, validation, kombu) bound it.",
        ),
        figure(
            "webhook.ceiling_per_s",
            ceiling,
            "req/s",
            COMMAND,
            f"A minimal Flask endpoint publishing the raw body with an awaited confirm "
            f"({setting} minus the archive): one confirm round trip per request, 32 "
            "threads in flight, and the CPU gunicorn, RabbitMQ and the client share on 2 "
            "cores.",
        ),
        figure(
            "webhook.ratio",
            ratio,
            "ratio",
            COMMAND,
            f"Median over {ROUNDS} rounds of each round's service rate over the ceiling's rate "
            "measured just before it, in one run on one machine: the cost of signature "
            "check, fsynced archive, normalization and validation over a bare confirmed "
            "publish.",
        ),
    ]


# --- the ceiling: publish the raw body, nothing else ---------------------------------------


def create_ceiling_app():
    """A Flask app whose one endpoint publishes the request body and waits for its confirm."""
    from flask import Flask, request

    from switchboard_shared.config import AmqpSettings, Secret
    from switchboard_shared.errors import PublishError
    from switchboard_shared.publisher import Outgoing, Publisher
    from switchboard_shared.topology import EXCHANGE

    settings = AmqpSettings(url=Secret(os.environ["SWITCHBOARD_AMQP_URL"]))
    local = threading.local()
    app = Flask("webhook-ceiling")

    @app.post("/")
    def publish():
        publisher = getattr(local, "publisher", None)
        if publisher is None:
            publisher = local.publisher = Publisher(settings)
        body = request.get_data(cache=False)
        try:
            publisher.send([Outgoing(EXCHANGE, "message.received.messenger", body)])
        except PublishError:
            return "", 503
        return "", 200

    return app


# --- the servers ----------------------------------------------------------------------------


def _environment(amqp_url: str, scratch: Path) -> dict[str, str]:
    accounts = scratch / "accounts.json"
    accounts.write_text(
        json.dumps(
            {
                "meta_apps": [
                    {
                        "name": "main",
                        "app_id": "1517776481860111",
                        "app_secret_env": "BENCH_META_APP_SECRET",
                        "verify_token_env": "BENCH_META_VERIFY_TOKEN",
                    }
                ],
                "facebook_pages": [{"page_id": PAGE, "app": "main"}],
            }
        )
    )
    return {
        **os.environ,
        "SWITCHBOARD_AMQP_URL": amqp_url,
        "SWITCHBOARD_BLOB_DIR": str(scratch / "blobs"),
        "SWITCHBOARD_BLOB_FSYNC": "true",  # compose's default
        "SWITCHBOARD_LOG_FORMAT": "json",
        "SWITCHBOARD_SOCIAL_INGEST_ACCOUNTS_FILE": str(accounts),
        "BENCH_META_APP_SECRET": APP_SECRET,
        "BENCH_META_VERIFY_TOKEN": "bench-verify-token",
        "PYTHONPATH": str(REPO),
    }


@contextlib.contextmanager
def _gunicorn(app: str, env: dict[str, str], scratch: Path) -> Iterator[str]:
    """Run one gunicorn instance with compose's settings; yield its base URL."""
    port = _free_port()
    metrics = scratch / f"prometheus-{port}"
    metrics.mkdir()
    command = [
        str(GUNICORN),
        *GUNICORN_SETTINGS,
        "--no-control-socket",
        "--bind",
        f"127.0.0.1:{port}",
        app,
    ]
    process = subprocess.Popen(
        command, cwd=REPO, env={**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    )
    try:
        wait_for(
            lambda: process.poll() is not None or _listening(port),
            timeout=30,
            message=f"gunicorn {app} to listen",
        )
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn {app} exited with {process.returncode}")
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


# --- the client -----------------------------------------------------------------------------


class _Deliveries:
    """Unique signed Messenger deliveries, built as Meta sends them (ASCII, lowercase hex)."""

    def __init__(self) -> None:
        self.count = 0
        self.prefix = f"{time.time_ns()}"

    def next(self, host: str, path: str) -> bytes:
        self.count += 1
        now = int(time.time() * 1000)
        body = json.dumps(
            {
                "object": "page",
                "entry": [
                    {
                        "id": PAGE,
                        "time": now,
                        "messaging": [
                            {
                                "sender": {"id": "1254459154682919"},
                                "recipient": {"id": PAGE},
                                "timestamp": now,
                                "message": {
                                    "mid": f"m_{self.prefix}_{self.count}",
                                    "text": f"Hello, where is my order #{self.count}? "
                                    "It was due on Monday and the tracking page "
                                    "has not changed since Thursday.",
                                },
                            }
                        ],
                    }
                ],
            },
            separators=(",", ":"),
        ).encode("ascii")
        signature = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"X-Hub-Signature-256: sha256={signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode("ascii") + body


async def _load(base: str, path: str) -> tuple[float, int]:
    """Warm up, then count 200s for MEASURE_SECONDS; return (rate, every 200 sent)."""
    host, port = base.split(":")
    deliveries = _Deliveries()
    state = {"measuring": False, "stop": False, "counted": 0, "ok": 0}

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while not state["stop"]:
                writer.write(deliveries.next(base, path))
                status = await _response_status(reader)
                if status == 200:
                    state["ok"] += 1
                    if state["measuring"]:
                        state["counted"] += 1
                elif status is None:  # the server closed an idle keep-alive connection
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                else:
                    raise RuntimeError(f"{path} answered {status}")
        finally:
            writer.close()

    tasks = [asyncio.create_task(connection()) for _ in range(CONNECTIONS)]
    await asyncio.sleep(WARMUP_SECONDS)
    state["measuring"] = True
    started = time.perf_counter()
    await asyncio.sleep(MEASURE_SECONDS)
    state["measuring"] = False
    elapsed = time.perf_counter() - started
    counted = state["counted"]
    state["stop"] = True
    await asyncio.gather(*tasks)
    return counted / elapsed, state["ok"]


async def _response_status(reader: asyncio.StreamReader) -> int | None:
    """Read one response; return its status, or None when the connection was closed."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return int(lines[0].split()[1])
