"""Fault injection: the whole system keeps every message and sends every reply through crashes.

While 5,000 customer messages flow in (half email through the HTTP ingress, half signed
Messenger and Telegram webhooks, a tenth of the webhooks delivered twice) and agents answer 500
conversations through the API (400 by email to the SMTP server, 100 on Messenger to the
simulator), at random moments and in random order:

- an inbox worker, a notifier and an ingest process are SIGKILLed and restarted,
- the RabbitMQ application is stopped and started (`rabbitmqctl stop_app` / `start_app`),
- PostgreSQL is restarted (`pg_ctlcluster ... restart`).

The ingest clients behave like real providers and MTAs: a 5xx or a connection error is retried
until accepted. Afterwards every inbound message is stored exactly once, the conversations are
those the inputs imply, every reply reached the SMTP server or the simulator once (twice only
if flagged as possibly sent twice: the notifier's documented window), dead letters all carry a
reason, and every service is ready again without anyone touching it.

`SWITCHBOARD_CHAOS_SCALE` (default 1) scales the traffic, e.g. 0.1 for a quick look;
`SWITCHBOARD_CHAOS_SEED` repeats a run's order of faults and their moments (it is printed).
"""

from __future__ import annotations

import collections
import os
import random
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

from switchboard_shared.topology import DELAYS_SECONDS, REJECTED_QUEUE, WORK_QUEUES, delay_name
from tests.e2e import webhooks
from tests.e2e.mail import customer_mail
from tests.e2e.system import INGRESS_TOKEN, PAGE_ID, SUPPORT, System
from tests.support import rabbitmq
from tests.support.waiting import wait_for

SCALE = float(os.environ.get("SWITCHBOARD_CHAOS_SCALE", "1"))
EMAILS = int(2500 * SCALE)
MESSENGER_PEOPLE, MESSENGER_EACH = int(250 * SCALE), 6  # 1,500 DMs
TELEGRAM_PEOPLE, TELEGRAM_EACH = int(100 * SCALE), 10  # 1,000 messages
EMAIL_REPLIES, MESSENGER_REPLIES = int(400 * SCALE), int(100 * SCALE)
REDELIVERED = 0.1  # share of webhooks a network delivers twice
SENDERS = 12  # concurrent ingest clients
RETRY_FOR = 180.0  # seconds an ingest client keeps retrying one request
POSSIBLY_TWICE = "possibly sent twice"


@dataclass
class Inbound:
    """One customer message and how to deliver it."""

    channel: str
    external_id: str
    person: str  # the sender: a contact of its own per email, a psid or Telegram user
    send: Callable[[requests.Session, System], requests.Response]
    accepted: int


@dataclass
class Stats:
    """What happened at the edge and when the faults struck, for the printout."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    delivered: int = 0
    retries: collections.Counter = field(default_factory=collections.Counter)
    faults: list[str] = field(default_factory=list)

    def retry(self, why: str) -> None:
        with self.lock:
            self.retries[why] += 1


def email(index: int, run: str) -> Inbound:
    address = f"c{index}.{run}@customer.example"
    message = customer_mail(f"Customer {index} <{address}>", SUPPORT, f"Order {index}", "Hi.")
    mail = message.as_bytes()

    def send(session: requests.Session, system: System) -> requests.Response:
        return session.post(
            f"{system.url('email-ingest')}/inbound/mime",
            params={"recipient": SUPPORT},
            data=mail,
            headers={
                "Authorization": f"Bearer {INGRESS_TOKEN}",
                "Content-Type": "message/rfc822",
            },
            timeout=10,
        )

    return Inbound("email", message["Message-ID"], address, send, 202)


def webhook(channel: str, person: str, built: webhooks.Inbound) -> Inbound:
    def send(session: requests.Session, system: System) -> requests.Response:
        return built.delivery.send(session, system.url("social-ingest") + built.path, 10)

    return Inbound(channel, built.external_id, person, send, 200)


def traffic(rng: random.Random) -> tuple[list[Inbound], list[Inbound]]:
    """The messages (each once) and the stream of deliveries (some webhooks twice)."""
    run = uuid.uuid4().hex[:8]
    messages = [email(i, run) for i in range(EMAILS)]
    for p in range(MESSENGER_PEOPLE):
        psid = f"81{p:04d}" + webhooks.fresh_digits(10)
        for n in range(MESSENGER_EACH):
            built = webhooks.messenger(psid, f"Message {n} from {p}")
            messages.append(webhook("messenger", psid, built))
    for p in range(TELEGRAM_PEOPLE):
        user = int(f"82{p:04d}" + webhooks.fresh_digits(4))
        for n in range(TELEGRAM_EACH):
            built = webhooks.telegram_text(user, f"Message {n} from {p}")
            messages.append(webhook("telegram", str(user), built))
    # Keep each sender's messages in order (a person types one after the other), interleave
    # the people and channels at random.
    by_person: dict[str, collections.deque[Inbound]] = collections.defaultdict(collections.deque)
    for message in messages:
        by_person[message.person].append(message)
    stream: list[Inbound] = []
    people = list(by_person)
    while people:
        person = rng.choice(people)
        stream.append(by_person[person].popleft())
        if not by_person[person]:
            people.remove(person)
    keyed = [(float(i), m) for i, m in enumerate(stream)]
    keyed += [
        (rng.uniform(i, len(stream)), m)
        for i, m in enumerate(stream)
        if m.channel != "email" and rng.random() < REDELIVERED
    ]
    stream = [m for _, m in sorted(keyed, key=lambda pair: pair[0])]
    return messages, stream


def query(system: System, sql: str, params: tuple = ()) -> list[tuple] | None:
    """Rows, or None while PostgreSQL is unreachable (a fresh connection each time)."""
    try:
        with psycopg.connect(system.database_url, connect_timeout=3) as connection:
            return connection.execute(sql, params).fetchall()
    except psycopg.OperationalError:
        return None


def deliver(system: System, session: requests.Session, message: Inbound, stats: Stats) -> None:
    """Deliver until accepted, as a provider or MTA does: retry 5xx and connection errors."""

    def attempt() -> bool:
        try:
            response = message.send(session, system)
        except requests.RequestException as exc:
            stats.retry(type(exc).__name__)
            return False
        if response.status_code == message.accepted:
            return True
        if response.status_code >= 500 or response.status_code == 429:
            stats.retry(str(response.status_code))
            return False
        raise AssertionError(f"{message.channel}: {response.status_code} {response.text}")

    wait_for(attempt, RETRY_FOR, interval=0.25, message=f"{message.external_id} accepted")
    with stats.lock:
        stats.delivered += 1


@dataclass
class Reply:
    channel: str
    text: str
    id: str = ""
    email_message_id: str | None = None


def answer(system: System, target: Inbound, stats: Stats) -> Reply:
    """Wait until the customer's message is stored, then answer it through the API."""
    row = wait_for(
        lambda: (
            query(
                system,
                "SELECT conversation_id, id FROM inbox.messages WHERE external_id = %s",
                (target.external_id,),
            )
            or [None]
        )[0],
        RETRY_FOR,
        interval=0.1,
        message=f"{target.external_id} stored",
    )
    conversation_id, message_id = map(str, row)
    reply = Reply(target.channel, f"Chaos answer {uuid.uuid4().hex}")
    session = requests.Session()
    tried = False

    def attempt() -> dict | None:
        nonlocal tried
        if tried:  # the last attempt may have stored the reply before its answer was lost
            found = query(
                system,
                "SELECT id, email_message_id FROM inbox.messages"
                " WHERE direction = 'outbound' AND text = %s",
                (reply.text,),
            )
            if found is None:
                return None
            if found:
                return {"id": str(found[0][0]), "email_message_id": found[0][1]}
        tried = True
        try:
            response = session.post(
                f"{system.url('inbox-api')}/api/v1/conversations/{conversation_id}/replies",
                json={"text": reply.text, "answers_message_id": message_id, "confirm": True},
                headers={"Authorization": f"Bearer {system.token}"},
                timeout=10,
            )
        except requests.RequestException as exc:
            stats.retry(f"reply {type(exc).__name__}")
            return None
        if response.status_code == 201:
            return response.json()
        if response.status_code >= 500:
            stats.retry(f"reply {response.status_code}")
            return None
        raise AssertionError(f"reply: {response.status_code} {response.text}")

    stored = wait_for(attempt, RETRY_FOR, interval=0.25, message="reply accepted")
    reply.id, reply.email_message_id = stored["id"], stored["email_message_id"]
    session.close()
    return reply


def stuck_replies(system: System) -> str:
    """What the inbox, its outbox, the notifier and the queues say about unsent replies."""
    replies = query(
        system,
        "SELECT m.id::text, m.delivery_status, m.delivery_reason, a.state, a.owner, a.attempts"
        " FROM inbox.messages m LEFT JOIN notifier.send_attempts a ON a.reply_id::text = m.id::text"
        " WHERE m.direction = 'outbound' AND m.delivery_status NOT IN ('sent', 'failed')",
    )
    outbox = query(
        system,
        "SELECT event_type, count(*) FROM inbox.outbox WHERE published_at IS NULL GROUP BY 1",
    )
    probe = rabbitmq.BrokerProbe(system.amqp_url)
    letters = {}
    try:
        for queue, count in system.queue_totals().items():
            if count and queue.endswith(".dlq"):
                letters[queue] = [
                    {
                        k: v
                        for k, v in (p.headers or {}).items()
                        if k in ("x-dead-letter-reason", "x-death", "x-delivery-count")
                    }
                    for p, _ in probe.take_all(queue)
                ]
    finally:
        probe.close()
    return f"unsent replies: {replies}\nunpublished outbox: {outbox}\ndead letters: {letters}"


def postgres_version() -> str:
    return sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]


def restart_postgres() -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", postgres_version(), "main", "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )


def all_ready(system: System, timeout: float = 120) -> None:
    wait_for(
        lambda: all(p.ready() for p in system.processes.values()),
        timeout,
        interval=0.2,
        message="every service ready",
    )


def inject_faults(system: System, rng: random.Random, stats: Stats, total: int) -> set[str]:
    """Each fault once, in random order at random moments; return the processes killed."""
    ingest = rng.choice(["email-ingest", "social-ingest"])
    faults = [f"kill {name}" for name in ("inbox-worker", "notifier", ingest)]
    faults += ["broker", "postgres"]
    rng.shuffle(faults)
    time.sleep(rng.uniform(1, 3))  # let traffic and replies get going first
    for fault in faults:
        started = time.monotonic()
        stats.faults.append(f"{fault} at {stats.delivered}/{total} delivered")
        if fault.startswith("kill "):
            process = system.processes[fault.removeprefix("kill ")]
            process.kill()
            time.sleep(rng.uniform(0.2, 1))  # the supervisor notices and restarts it
            process.restart()
        elif fault == "broker":
            rabbitmq.stop_broker()
            time.sleep(rng.uniform(2, 5))
            rabbitmq.start_broker()
        else:
            restart_postgres()
        all_ready(system)
        stats.faults[-1] += f", recovered in {time.monotonic() - started:.1f}s"
        time.sleep(rng.uniform(0.5, 2.5))
    return {f.removeprefix("kill ") for f in faults if f.startswith("kill ")}


def dead_letters(system: System) -> dict[str, tuple[int, int]]:
    """Per dead-letter queue holding anything: (messages, those without a reason header)."""
    probe = rabbitmq.BrokerProbe(system.amqp_url)
    try:
        found = {}
        for queue, count in system.queue_totals().items():
            if count and (queue.endswith(".dlq") or queue == REJECTED_QUEUE):
                taken = probe.take_all(queue)
                unexplained = [
                    p for p, _ in taken if not (p.headers or {}).get("x-dead-letter-reason")
                ]
                found[queue] = (len(taken), len(unexplained))
        return found
    finally:
        probe.close()


@pytest.mark.broker_restart
@pytest.mark.timeout(420)
def test_nothing_is_lost_or_doubled_through_crashes_and_restarts(chaos_system: System):
    seed = int(os.environ.get("SWITCHBOARD_CHAOS_SEED") or random.randrange(10**6))
    system, rng, stats = chaos_system, random.Random(seed), Stats()
    print(f"\nchaos: SWITCHBOARD_CHAOS_SEED={seed}")  # shown with a failure too
    began = time.monotonic()
    messages, stream = traffic(rng)
    pids = {name: p.process.pid for name, p in system.processes.items()}
    targets = [m for m in stream if m.channel == "email"][:EMAIL_REPLIES]
    first_dm = {}
    for message in stream:
        if message.channel == "messenger":
            first_dm.setdefault(message.person, message)
    targets += list(first_dm.values())[:MESSENGER_REPLIES]
    first = {}
    for index, message in enumerate(stream):
        first.setdefault(id(message), index)
    targets.sort(key=lambda m: first[id(m)])  # answered as their questions arrive

    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    with ThreadPoolExecutor(2) as background, ThreadPoolExecutor(SENDERS) as senders:
        faults = background.submit(inject_faults, system, rng, stats, len(stream))
        replying = background.submit(lambda: [answer(system, t, stats) for t in targets])
        for done in senders.map(lambda m: deliver(system, session(), m, stats), stream):
            assert done is None
        streamed = time.monotonic() - began
        killed = faults.result()
        replies = replying.result()
    injected = time.monotonic() - began

    # Everything arrives: every customer message stored, every reply sent, queues empty.
    expected = {m.external_id: m for m in messages}

    def stored() -> dict[str, tuple[int, str]] | None:
        rows = query(
            system,
            "SELECT external_id, count(*), min(conversation_id::text) FROM inbox.messages"
            " WHERE direction = 'inbound' GROUP BY external_id",
        )
        return {e: (n, c) for e, n, c in rows} if rows and len(rows) >= len(expected) else None

    found = wait_for(stored, 120, interval=0.5, message="every message stored")

    def statuses() -> dict[str, tuple[str, str | None]] | None:
        rows = query(
            system,
            "SELECT id::text, delivery_status, delivery_reason FROM inbox.messages"
            " WHERE direction = 'outbound'",
        )
        done = rows is not None and all(status in ("sent", "failed") for _, status, _ in rows)
        return {i: (s, r) for i, s, r in rows} if done and len(rows) >= len(replies) else None

    try:
        outbound = wait_for(statuses, 120, interval=0.5, message="every reply sent")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{stuck_replies(system)}") from None

    work_and_delay = [q.name for q in WORK_QUEUES] + [delay_name(d) for d in DELAYS_SECONDS]

    def busy() -> dict[str, int]:
        totals = system.queue_totals()
        return {q: totals[q] for q in work_and_delay if totals.get(q)}

    try:
        wait_for(lambda: not busy(), 60, interval=0.5, message="work and delay queues drained")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {busy()}") from None
    settled = time.monotonic() - began

    # What the SMTP server and the Send API received, per reply.
    smtp = collections.Counter(m.parsed()["Message-ID"] for m in system.smtp.messages)
    graph = collections.Counter(
        call.body["message"]["text"]
        for call in system.sim.calls_to("graph")
        if call.path.endswith(f"/{PAGE_ID}/messages") and call.status == 200
    )
    received = {
        r.id: smtp[r.email_message_id] if r.channel == "email" else graph[r.text] for r in replies
    }
    conversations = dict(
        query(system, "SELECT channel, count(*) FROM inbox.conversations GROUP BY channel")
    )
    letters = dead_letters(system)
    twice = [i for i, n in received.items() if n == 2]
    notifier_flagged = {
        i
        for (i,) in query(
            system, "SELECT reply_id::text FROM notifier.send_attempts WHERE possible_duplicate"
        )
    }
    flagged = [i for i, (_, reason) in outbound.items() if POSSIBLY_TWICE in (reason or "")]

    print(
        f"\nchaos (SWITCHBOARD_CHAOS_SEED={seed}): {len(messages)} messages"
        f" in {len(stream)} deliveries"
        f" ({len(stream) - len(messages)} redelivered webhooks), {len(replies)} replies"
        f"\n  faults: " + "; ".join(stats.faults) + f"\n  edge retries: {dict(stats.retries)}"
        f"\n  stored: {sum(n for n, _ in found.values())} inbound rows for"
        f" {len(found)} external ids (expected {len(expected)})"
        f"\n  conversations: {conversations}"
        f"\n  replies: {collections.Counter(s for s, _ in outbound.values())},"
        f" received once {sum(n == 1 for n in received.values())}, twice {len(twice)},"
        f" flagged possibly twice {len(flagged)} (notifier: {len(notifier_flagged)});"
        f" SMTP {len(system.smtp.messages)} mails,"
        f" Send API {sum(graph.values())} calls"
        f"\n  dead letters (messages, without reason): {letters or 'none'}"
        f"\n  time: stream {streamed:.0f}s, faults done {injected:.0f}s, settled {settled:.0f}s"
    )

    # Every inbound message stored exactly once, nothing else stored.
    assert set(found) == set(expected)
    assert {e: n for e, (n, _) in found.items() if n != 1} == {}
    # Conversations: one per email, one per Messenger and Telegram person, nothing split.
    per_person = collections.defaultdict(set)
    for external_id, (_, conversation) in found.items():
        per_person[expected[external_id].channel, expected[external_id].person].add(conversation)
    assert {k: v for k, v in per_person.items() if len(v) != 1} == {}
    assert len(set().union(*per_person.values())) == len(per_person)  # no two people share one
    assert conversations == {
        "email": EMAILS,
        "messenger": MESSENGER_PEOPLE,
        "telegram": TELEGRAM_PEOPLE,
    }
    # Every reply stored once, sent, received once (twice only inside the flagged window).
    assert len(outbound) == len(replies) == len(targets)
    assert {i: s for i, (s, _) in outbound.items() if s != "sent"} == {}
    assert {i: n for i, n in received.items() if n not in (1, 2)} == {}
    assert set(twice) <= set(flagged)
    mailed = sum(smtp[r.email_message_id] for r in replies if r.channel == "email")
    assert len(system.smtp.messages) == mailed  # nothing else mailed
    # Dead letters all explained; everything ready, and nothing but the killed processes died.
    assert {q: bad for q, (_, bad) in letters.items() if bad} == {}
    all_ready(system, 30)
    survivors = {n: p.process.pid for n, p in system.processes.items() if n not in killed}
    assert survivors == {n: pids[n] for n in survivors}
