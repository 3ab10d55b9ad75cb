"""pipeline.*: the whole system end to end, against a bare pipeline with the same hops.

The system is tests/e2e/system.py's: every service a process (HTTP services under gunicorn,
one worker of 8 threads each), against a throwaway vhost and database. The traffic is a mix:
half emails posted to email-ingest's `/inbound/mime`, half signed Messenger webhooks; 30% of
them answer an earlier message (In-Reply-To, or the same PSID), 10% are resent duplicates.

- `pipeline.e2e_msgs_per_s`: unique messages stored per second at saturation (32 clients).
- `pipeline.ceiling_msgs_per_s`: the same bodies through a bare pipeline with the same hops and
  durability: a minimal gunicorn endpoint that publishes the body with an awaited confirm
  (webhook_bench's) and a consumer inserting batches, acking after commit (inbox_bench's).
- `pipeline.ratio`: the two, measured in the same run.
- `pipeline.p50_ms_at_200`, `pipeline.p99_ms_at_200`: from the ingest's HTTP answer to the
  row being committed (what the API then shows), at 200 messages/s offered.
"""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import requests

from bench.inbox_bench import CEILING_TABLE
from bench.support import REPO, figure, rerun_command, throwaway_database, throwaway_vhost
from tests.e2e import webhooks
from tests.e2e.mail import customer_mail
from tests.e2e.system import INGRESS_TOKEN, SUPPORT, System, running_system
from tests.support.waiting import wait_for

SATURATION_MESSAGES = 3000
OFFERED_RATE = 200.0
LATENCY_MESSAGES = 2000
CLIENTS = 32


@dataclass(frozen=True)
class Request:
    """One ingest request: where it goes, its body and headers, the message it stores."""

    path: str
    body: bytes
    headers: dict[str, str]
    external_id: str


def measure() -> list[dict]:
    """Start the system, drive the mix at saturation and at 200 msg/s, then the ceiling."""
    subprocess.run([str(REPO / "scripts" / "dovecot.sh")], check=True, capture_output=True)
    command = rerun_command("pipeline")
    with (
        throwaway_vhost() as vhost,
        throwaway_database() as database_url,
        tempfile.TemporaryDirectory() as scratch,
    ):
        with running_system(vhost.url, database_url, Path(scratch)) as system:
            saturation = traffic(SATURATION_MESSAGES, "sat")
            e2e = saturated_rate(system, saturation)
            latencies = paced_latencies(system, traffic(LATENCY_MESSAGES, "lat"))
        ceiling = ceiling_rate(vhost.url, database_url, saturation, Path(scratch))
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    limit = "2 cores shared by every process, the client and the database"
    return [
        figure("pipeline.e2e_msgs_per_s", e2e, "msg/s", command, limit),
        figure("pipeline.ceiling_msgs_per_s", ceiling, "msg/s", command, limit),
        figure("pipeline.ratio", e2e / ceiling, "ratio", command, "same run, same machine"),
        figure("pipeline.p50_ms_at_200", p50, "ms", command, limit),
        figure("pipeline.p99_ms_at_200", p99, "ms", command, limit),
    ]


def traffic(count: int, tag: str) -> list[Request]:
    """The mix: new emails and DMs, answers into earlier threads, resent duplicates."""
    rng = random.Random(tag)
    sent: list[Request] = []
    mail_ids: list[str] = []
    psids: list[str] = []
    while len(sent) < count:
        if sent and rng.random() < 0.10:
            sent.append(rng.choice(sent))
            continue
        answer = rng.random() < 0.30
        if rng.random() < 0.5:
            mail = customer_mail(
                f"Customer <c{len(sent)}.{tag}@customer.example>", SUPPORT, "Order", "Where is it?"
            )
            if answer and mail_ids:
                mail["In-Reply-To"] = rng.choice(mail_ids)
            mail_ids.append(mail["Message-ID"])
            headers = {"Authorization": f"Bearer {INGRESS_TOKEN}"}
            headers["Content-Type"] = "message/rfc822"
            path = f"/inbound/mime?recipient={SUPPORT}"
            sent.append(Request(path, mail.as_bytes(), headers, mail["Message-ID"]))
        else:
            psid = rng.choice(psids) if answer and psids else f"9{rng.randrange(10**14)}"
            psids.append(psid)
            inbound = webhooks.messenger(psid, "Hello, is anyone there?")
            delivery = inbound.delivery
            sent.append(Request(inbound.path, delivery.body, delivery.headers, inbound.external_id))
    return sent


def _poster(base: Callable[[Request], str]) -> Callable[[Request], float]:
    local = threading.local()

    def post(request: Request) -> float:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        response = session.post(
            base(request), data=request.body, headers=request.headers, timeout=30
        )
        response.raise_for_status()
        return time.monotonic()

    return post


def _base(system: System) -> Callable[[Request], str]:
    def url(request: Request) -> str:
        service = "email-ingest" if request.path.startswith("/inbound") else "social-ingest"
        return system.url(service) + request.path

    return url


def _stored(database_url: str, table: str) -> Callable[[], int]:
    def count() -> int:
        with psycopg.connect(database_url) as db:
            return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608

    return count


def saturated_rate(system: System, requests_: list[Request]) -> float:
    """Unique messages stored per second with CLIENTS requests in flight."""
    count = _stored(system.database_url, "inbox.messages")
    before = count()
    expected = before + len({r.external_id for r in requests_})
    post = _poster(_base(system))
    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(post, requests_))
    wait_for(lambda: count() >= expected, timeout=600, interval=0.05, message="all stored")
    return (expected - before) / (time.monotonic() - started)


def paced_latencies(system: System, requests_: list[Request]) -> list[float]:
    """Milliseconds from each HTTP answer to its row being committed, at OFFERED_RATE."""
    unique: dict[str, Request] = {}
    for request in requests_:
        unique.setdefault(request.external_id, request)
    answered: dict[str, float] = {}
    seen: dict[str, float] = {}
    post = _poster(_base(system))
    stop = threading.Event()

    def watch() -> None:
        with psycopg.connect(system.database_url, autocommit=True) as db:
            last = db.execute("SELECT coalesce(max(seq), 0) FROM inbox.messages").fetchone()[0]
            while not stop.is_set():
                rows = db.execute(
                    "SELECT seq, external_id FROM inbox.messages WHERE seq > %s", (last,)
                ).fetchall()
                now = time.monotonic()
                for seq, external_id in rows:
                    seen.setdefault(external_id, now)
                    last = max(last, seq)
                time.sleep(0.005)  # the poll interval bounds the resolution

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic()

    def paced(indexed: tuple[int, Request]) -> None:
        index, request = indexed
        time.sleep(max(0.0, started + index / OFFERED_RATE - time.monotonic()))
        answered.setdefault(request.external_id, post(request))

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(paced, enumerate(unique.values())))
    wait_for(lambda: seen.keys() >= answered.keys(), timeout=120, interval=0.05)
    stop.set()
    watcher.join(5)
    return [max(0.0, seen[i] - answered[i]) * 1000 for i in answered]


def ceiling_rate(amqp_url: str, database_url: str, requests_: list[Request], scratch: Path):
    """The same bodies through the bare endpoint and the bare batch consumer."""
    from bench.webhook_bench import _environment, _gunicorn

    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {CEILING_TABLE} (id bigserial PRIMARY KEY, body jsonb,"
            " created_at timestamptz NOT NULL DEFAULT now())"
        )
    env = _environment(amqp_url, scratch)
    env["GUNICORN_CMD_ARGS"] = "--workers 1 --threads 8"  # as the system's services ran
    # The bare consumer stores JSON: each body wrapped in a JSON string.
    bodies = [
        Request("/", _json_string(r.body), {"Content-Type": "application/json"}, "")
        for r in requests_
    ]
    count = _stored(database_url, CEILING_TABLE)
    consumer = [sys.executable, "-m", "bench.inbox_bench", "ceiling", amqp_url, database_url]
    with (
        _gunicorn("bench.webhook_bench:create_ceiling_app()", env, scratch) as host,
        _process(consumer, env),
    ):
        post = _poster(lambda _: f"http://{host}/")
        started = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(post, bodies))
        wait_for(lambda: count() >= len(bodies), timeout=600, interval=0.05)
        return len(bodies) / (time.monotonic() - started)


def _json_string(body: bytes) -> bytes:
    return json.dumps(body.decode("utf-8", "replace")).encode()


@contextlib.contextmanager
def _process(command: list[str], env: dict) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(command, env=env, cwd=REPO)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(30)


def percentile(values: list[float], pct: float) -> float:
    """The `pct` percentile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


if __name__ == "__main__":  # a quick look: python -m bench.pipeline_bench
    for row in measure():
        print(row)
