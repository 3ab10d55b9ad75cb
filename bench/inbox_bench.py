"""worker.*: messages stored per second by inbox-worker, against a bare loop's ceiling.

The same 20,000 `message.received` events (4,000 new customers, five messages each, email
and Messenger mixed, replies referencing earlier messages) are published to inbox.messages
in a throwaway vhost, then consumed by:

- the ceiling: a bare kombu loop in its own process with the same durability as the worker
  (quorum queue, prefetch 400, up to 200 messages inserted per transaction as JSON rows,
  one multi-ack after the commit);
- `inbox-worker` (one process, then two): dedup, contacts, threading, messages, outbox rows
  per batch, and its outbox relay publishing conversation.changed with confirms.

Each rate is measured between the first and the last batch's transactions, so process
start-up is not counted; every figure comes from one session on one machine, two rounds
alternating, medians reported, so the ratio compares like with like.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path

import psycopg

from bench.support import REPO, figure, rerun_command, throwaway_database, throwaway_vhost
from switchboard_shared.migrations import MigrationSet, upgrade
from switchboard_shared.publisher import Publisher
from switchboard_shared.schemas import MESSAGE_RECEIVED, Event
from tests.integration.inbox.worker_processes import running_processes
from tests.support.waiting import wait_for

log = logging.getLogger(__name__)

COMMAND = rerun_command("inbox")
CUSTOMERS = 4_000
MESSAGES_EACH = 5
TOTAL = CUSTOMERS * MESSAGES_EACH
CEILING_BATCH = 200
CEILING_TABLE = "bench_ceiling"
ROUNDS = 2
# Counting rows costs the database too: poll gently (the rate spans many seconds).
POLL_SECONDS = 0.25
# 100,000 conversations of 10 messages each, inserted set-based; the GIN indexes are built
# after the bulk insert, as a restore would.
API_SEED = (
    (
        "INSERT INTO inbox.agents (id, email, display_name, role) SELECT gen_random_uuid(), "
        "'agent' || g || '@bench.example', 'Agent ' || g, 'agent' FROM generate_series(1, 20) g"
    ),
    (
        "INSERT INTO inbox.inboxes (channel, address, name) SELECT (ARRAY['email', 'messenger', "
        "'telegram', 'whatsapp'])[1 + g % 4], 'inbox-' || g, 'Inbox ' || g FROM "
        "generate_series(1, 8) g"
    ),
    (
        "INSERT INTO inbox.contacts (display_name, email) SELECT 'Customer ' || g, 'c' || g || "
        "'@bench.example' FROM generate_series(1, 50000) g"
    ),
    (
        "CREATE TEMP TABLE w AS SELECT ARRAY['order', 'parcel', 'refund', 'invoice', 'late', "
        "'broken', 'address', 'payment', 'delivery', 'tracking', 'account', 'password', "
        "'discount', 'return', 'exchange', 'warranty', 'shipping', 'cancel', 'subscription', "
        "'receipt'] AS words, ARRAY(SELECT id FROM inbox.agents ORDER BY id) AS agents, "
        "ARRAY(SELECT id FROM inbox.inboxes ORDER BY id) AS inboxes, ARRAY(SELECT channel FROM "
        "inbox.inboxes ORDER BY id) AS channels, ARRAY(SELECT id FROM inbox.contacts ORDER BY "
        "id) AS contacts"
    ),
    (
        "INSERT INTO inbox.conversations (token, inbox_id, channel, contact_id, status, "
        "assignee_id, labels, subject, last_activity_at, created_at) SELECT 'b' || g, "
        "w.inboxes[1 + g % 8], w.channels[1 + g % 8], w.contacts[1 + g % 50000], (ARRAY['open', "
        "'open', 'pending', 'resolved', 'resolved', 'resolved', 'snoozed'])[1 + g % 7], CASE "
        "WHEN g % 3 = 0 THEN NULL ELSE w.agents[1 + g % 20] END, CASE WHEN g % 10 = 0 THEN "
        "ARRAY['vip'] WHEN g % 10 = 1 THEN ARRAY['billing'] ELSE '{}' END, 'Subject ' || "
        "w.words[1 + g % 20] || ' ' || g, now() - make_interval(secs => g * 30), now() - "
        "make_interval(secs => g * 30 + 3600) FROM generate_series(1, 100000) g, w"
    ),
    ("ALTER TABLE inbox.messages SET (autovacuum_enabled = false)"),
    ("DROP INDEX inbox.messages_search"),
    ("DROP INDEX inbox.messages_provider_ids"),
    (
        "INSERT INTO inbox.messages (conversation_id, inbox_id, channel, direction, visibility, "
        "author_contact_id, text, sent_at, received_at, created_at, thread_reason) SELECT c.id, "
        "c.inbox_id, c.channel, CASE WHEN n % 3 = 2 THEN 'outbound' ELSE 'inbound' END, "
        "'private', c.contact_id, 'Hello, my ' || w.words[1 + abs(hashtext(c.token || 'a' || "
        "n)) % 20] || ' and ' || w.words[1 + abs(hashtext(c.token || n)) % 20] || ' question "
        "number ' || n || ' about ' || w.words[1 + abs(hashtext(n || c.token)) % 20] || ' "
        "thanks', c.created_at + make_interval(mins => n), c.created_at + make_interval(mins => "
        "n), c.created_at + make_interval(mins => n), 'seeded' FROM inbox.conversations c, "
        "generate_series(1, 10) n, w"
    ),
    ("CREATE INDEX messages_search ON inbox.messages USING gin (search_vector)"),
    ("CREATE INDEX messages_provider_ids ON inbox.messages USING gin (provider_ids)"),
    ("ALTER TABLE inbox.messages SET (autovacuum_enabled = true)"),
    ("VACUUM ANALYZE"),
)


def measure() -> list[dict]:
    """Ceiling, one worker, two workers, in one run; report rates and the ratio."""
    events = _events()
    with throwaway_vhost() as vhost, throwaway_database() as database_url:
        upgrade(database_url, MigrationSet("inbox", str(files("inbox") / "migrations")))
        with psycopg.connect(database_url, autocommit=True) as db:
            db.execute(
                f"CREATE TABLE {CEILING_TABLE} (id bigserial PRIMARY KEY, body jsonb,"
                " created_at timestamptz NOT NULL DEFAULT now())"
            )
        env = _environment(vhost.url, database_url)
        rates: dict[str, list[float]] = {"ceiling": [], "one": [], "two": []}
        for _ in range(ROUNDS):  # alternating, so drift in the machine's load hits all alike
            rates["ceiling"].append(_run(vhost, database_url, events, "ceiling", 1, env))
            rates["one"].append(_run(vhost, database_url, events, "worker", 1, env))
            rates["two"].append(_run(vhost, database_url, events, "worker", 2, env))
    ceiling, one, two = (statistics.median(rates[k]) for k in ("ceiling", "one", "two"))
    api = _measure_api()
    machine = "2 cores shared by RabbitMQ, PostgreSQL, the publisher and the consumers"
    return [
        figure(
            "worker.ceiling_msgs_per_s",
            ceiling,
            "msg/s",
            COMMAND,
            f"A bare consume loop: quorum queue, prefetch 400, {CEILING_BATCH} JSON rows per "
            f"transaction, one multi-ack after commit; bound by the broker's deliveries and the "
            f"commit flush on {machine}.",
        ),
        figure(
            "worker.msgs_per_s",
            one,
            "msg/s",
            COMMAND,
            "One inbox-worker: a batch of up to 500 per transaction with set-based SQL (advisory "
            "locks, dedup, contacts, threading, messages, outbox) on a handler thread while the "
            "consumer thread reads and validates the next batch; bound by PostgreSQL executing "
            "the batch on one backend (the messages insert with eight indexes and a stored "
            "tsvector, then the conversation touches), on 2 cores it shares with RabbitMQ and "
            "the outbox relay.",
        ),
        figure(
            "worker.msgs_per_s_2procs",
            two,
            "msg/s",
            COMMAND,
            f"Two inbox-worker processes competing on the queue: with {machine}, a second "
            "process adds little once the CPU is saturated.",
        ),
        figure(
            "worker.ratio",
            one / ceiling,
            "ratio",
            COMMAND,
            "worker.msgs_per_s over worker.ceiling_msgs_per_s, measured in the same run.",
        ),
        *api,
    ]


def _events() -> list[Event]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events = []
    for n in range(MESSAGES_EACH):
        for customer in range(CUSTOMERS):
            sent = start + timedelta(seconds=n * CUSTOMERS + customer)
            text = f"Message {n} from customer {customer}: my parcel {customer * 7} is late. " * 8
            if customer % 2:
                payload = {
                    "channel": "messenger",
                    "inbox": "page-bench",
                    "external_id": f"m_{customer}_{n}",
                    "visibility": "private",
                    "author": {"external_id": f"psid-{customer}", "display_name": f"C {customer}"},
                }
            else:
                payload = {
                    "channel": "email",
                    "inbox": "support@bench.example",
                    "external_id": f"<{customer}.{n}@mail.example>",
                    "visibility": "private",
                    "author": {
                        "external_id": f"c{customer}@mail.example",
                        "email": f"c{customer}@mail.example",
                    },
                    "subject": f"Parcel {customer}",
                    "thread": {
                        "in_reply_to": f"<{customer}.{n - 1}@mail.example>" if n else None,
                        "references": [f"<{customer}.{k}@mail.example>" for k in range(n)],
                    },
                }
            payload.update(
                text=text, sent_at=sent, received_at=sent, raw_sha256=f"{customer:064x}"[-64:]
            )
            events.append(Event(MESSAGE_RECEIVED, payload))
    return events


def _environment(amqp_url: str, database_url: str) -> dict:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SWITCHBOARD_AMQP_URL": amqp_url,
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_BLOB_DIR": "/tmp/inbox-bench-blobs",  # noqa: S108 (never written)
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
        "SWITCHBOARD_LOG_FORMAT": "text",
        "SWITCHBOARD_INBOX_HEALTH_HOST": "127.0.0.1",
        "SWITCHBOARD_INBOX_HEALTH_PORT": "0",
    }


def _run(vhost, database_url: str, events: list[Event], kind: str, processes: int, env) -> float:
    """Publish every event, start the consumers, time the stored rows; return msg/s."""
    table = CEILING_TABLE if kind == "ceiling" else "inbox.messages"
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(
            f"TRUNCATE {CEILING_TABLE}, inbox.outbox, inbox.attachments, inbox.messages,"
            " inbox.conversations, inbox.contact_identities, inbox.contacts, inbox.inboxes CASCADE"
        )
        publisher = Publisher(vhost.settings())
        for start in range(0, len(events), 1000):
            publisher.publish_many(events[start : start + 1000])
        publisher.close()
        command = (
            [sys.executable, "-m", "bench.inbox_bench", "ceiling", vhost.url, database_url]
            if kind == "ceiling"
            else [sys.executable, "-m", "inbox.worker"]
        )
        with running_processes(command, processes, env, cwd=REPO):
            rate = _time_rows(db, table, len(events))
    log.info("%s x%d: %.0f msg/s", kind, processes, rate)
    return rate


def _time_rows(db: psycopg.Connection, table: str, expected: int) -> float:
    """Rows per second between the first and the last batch's transactions (database clock).

    Every row of a batch carries its transaction's start time, so the span from the first
    batch to the last one, and the rows stored before the last one, give the rate without
    counting process start-up or polling delays.
    """

    def stored() -> int:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608

    wait_for(lambda: stored() >= expected, timeout=600, interval=POLL_SECONDS)
    first, last, in_last = db.execute(
        f"SELECT min(created_at), max(created_at),"  # noqa: S608 (fixed table names)
        f" count(*) FILTER (WHERE created_at = (SELECT max(created_at) FROM {table}))"
        f" FROM {table}"
    ).fetchone()
    return (expected - in_last) / (last - first).total_seconds()


def _measure_api() -> list[dict]:
    """p50/p95 of the list (each filter), the detail and search, 1,000,000 messages seeded."""
    with throwaway_database() as database_url:
        upgrade(database_url, MigrationSet("inbox", str(files("inbox") / "migrations")))
        with psycopg.connect(database_url, autocommit=True) as db:
            for statement in API_SEED:
                db.execute(statement)
            conversations = [
                str(i) for (i,) in db.execute("SELECT id FROM inbox.conversations LIMIT 2000")
            ]
            inbox_id = db.execute("SELECT id FROM inbox.inboxes LIMIT 1").fetchone()[0]
            agent_id = db.execute("SELECT id FROM inbox.agents LIMIT 1").fetchone()[0]
        timings = _api_timings(database_url, str(agent_id), str(inbox_id), conversations)
    figures = []
    note = (
        "In-process Flask test client (no HTTP hop), one request at a time, on a database of "
        "100,000 conversations and 1,000,000 messages; bound by PostgreSQL on {}."
    )
    for name, values in sorted(timings.items()):
        p50, p95 = _percentile(values, 50), _percentile(values, 95)
        figures.append(figure(f"{name}_p50_ms", p50, "ms", COMMAND, note.format(PLANS[name])))
        figures.append(figure(f"{name}_p95_ms", p95, "ms", COMMAND, note.format(PLANS[name])))
    list_p95 = max(_percentile(v, 95) for k, v in timings.items() if k.startswith("api.list_"))
    figures.append(
        figure(
            "api.list_p95_ms",
            list_p95,
            "ms",
            COMMAND,
            "The slowest list filter's p95 (see api.list_*_p95_ms); keyset pages over a partial "
            "index per filter, so the cost does not grow with the page number.",
        )
    )
    return figures


_KEYSET = (
    "a keyset index scan of conversations in (last_activity_at, id) order, filtered, then "
    "inbox and contact by primary key"
)
PLANS = {
    "api.list_status": _KEYSET,
    "api.list_mine": _KEYSET,
    "api.list_unassigned": _KEYSET,
    "api.list_inbox": _KEYSET,
    "api.list_channel": _KEYSET,
    "api.list_label": _KEYSET,
    "api.list_page2": _KEYSET + ", starting at the cursor",
    "api.detail": "the conversation's primary key and messages_conversation (conversation, seq)",
    "api.search": (
        "the keyset scan semi-joined to each conversation's messages by messages_conversation "
        "with the tsquery as filter (common words); rare words go through the GIN index"
    ),
}
LIST_QUERIES = {
    "api.list_status": {"status": "open"},
    "api.list_mine": {"assignee": "me"},
    "api.list_unassigned": {"assignee": "unassigned", "status": "open"},
    "api.list_inbox": {"inbox_id": "{inbox}"},
    "api.list_channel": {"channel": "telegram"},
    "api.list_label": {"label": "vip"},
}
SEARCH_WORDS = ("refund", "parcel tracking", "warranty", "cancel subscription", "invoice late")
API_REQUESTS = 200


def _api_timings(
    database_url: str, agent_id: str, inbox_id: str, conversations: list[str]
) -> dict[str, list[float]]:
    from inbox.app import create_app
    from inbox.config import InboxSettings
    from inbox.credentials import new_api_token, token_digest
    from inbox.repository.agents import AgentRepository
    from switchboard_shared.config import (
        AmqpSettings,
        BlobSettings,
        DatabaseSettings,
        LogSettings,
        Secret,
    )

    settings = InboxSettings(
        amqp=AmqpSettings(url=Secret("amqp://guest:guest@127.0.0.1:5672/%2F")),
        database=DatabaseSettings(url=Secret(database_url)),
        blob=BlobSettings(dir=Path("/tmp/inbox-bench-blobs")),  # noqa: S108 (never written)
        log=LogSettings(),
        secret_key=Secret("bench"),
    )
    token = new_api_token()
    with psycopg.connect(database_url, autocommit=True) as db:
        AgentRepository(db).add_token(agent_id, "bench", token_digest(token))
    app = create_app(settings)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def timed(path: str, query: dict) -> float:
        started = time.perf_counter()
        response = client.get(path, query_string=query, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{path} {query}: {response.status_code} {response.data[:200]}")
        return elapsed

    requests: dict[str, list[tuple[str, dict]]] = {}
    for name, query in LIST_QUERIES.items():
        query = {k: v.format(inbox=inbox_id) for k, v in query.items()}
        requests[name] = [("/api/v1/conversations", query)] * API_REQUESTS
    first = client.get("/api/v1/conversations", query_string={"status": "open"}, headers=headers)
    cursor = first.get_json()["next_cursor"]
    requests["api.list_page2"] = [
        ("/api/v1/conversations", {"status": "open", "cursor": cursor})
    ] * API_REQUESTS
    requests["api.detail"] = [
        (f"/api/v1/conversations/{conversations[i % len(conversations)]}", {})
        for i in range(API_REQUESTS)
    ]
    requests["api.search"] = [
        ("/api/v1/conversations", {"q": SEARCH_WORDS[i % len(SEARCH_WORDS)]})
        for i in range(API_REQUESTS)
    ]
    timings: dict[str, list[float]] = {}
    for name, calls in requests.items():
        for path, query in calls[:20]:  # warm the caches and the pool
            timed(path, query)
        timings[name] = [timed(path, query) for path, query in calls]
    app.extensions["inbox.pool"].close()
    return timings


def _percentile(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


def ceiling_loop(amqp_url: str, database_url: str) -> None:
    """The bare loop: consume, insert a batch in one transaction, commit, multi-ack."""
    from kombu import Connection, Consumer

    from switchboard_shared.topology import QUEUES_BY_NAME, work_queue

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    pending: list = []
    with psycopg.connect(database_url) as db, Connection(amqp_url) as connection:
        queue = work_queue(QUEUES_BY_NAME["inbox.messages"], 20)
        consumer = Consumer(
            connection.channel(),
            queues=[queue],
            on_message=pending.append,
            accept=["application/json"],
            prefetch_count=CEILING_BATCH * 2,
        )
        consumer.consume()
        while not stopping:
            with contextlib.suppress(TimeoutError, OSError):
                while len(pending) < CEILING_BATCH:
                    connection.drain_events(timeout=0.02)
            if not pending:
                continue
            batch, pending[:] = list(pending), []
            with db.transaction():
                db.cursor().executemany(
                    f"INSERT INTO {CEILING_TABLE} (body) VALUES (%s)",  # noqa: S608
                    [(_text(message.body),) for message in batch],
                )
            batch[-1].ack(multiple=True)


def _text(body: bytes | str) -> str:
    return body if isinstance(body, str) else body.decode()


if __name__ == "__main__" and sys.argv[1:2] == ["ceiling"]:
    ceiling_loop(sys.argv[2], sys.argv[3])
