"""email.*: corpus parse rate, IMAP import rate from Dovecot, and the publish ceiling beside it.

The import runs the real worker (`email-ingest imap`, production settings: blobs fsynced,
its default parse processes) against a 10,000-mail Dovecot mailbox written straight into
its maildir, in a throwaway vhost and database and a blob store whose directories exist (as
in a store in use), and counts until `inbox.messages` holds
every mail. Over the same window it reads the worker's per-stage busy seconds
(`switchboard_imap_stage_seconds_total` on its metrics port) and the machine's CPU use, so
the report can say which stage bounds the import. The ceiling publishes the same events
with `publish_many` in batches of the worker's size, in the same run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import re
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from bench.support import (
    REPO,
    Stopwatch,
    figure,
    median_seconds,
    rerun_command,
    steady_state_store,
    throwaway_database,
    throwaway_vhost,
)
from email_ingest import NotEmailError, parse_email
from email_ingest.config import EmailIngestSettings
from switchboard_shared.blobstore import FilesystemBlobStore
from switchboard_shared.publisher import Publisher
from switchboard_shared.schemas import MESSAGE_RECEIVED, Event
from tests.integration.email_ingest import imap_harness
from tests.simulators.replies.smtp_sink import free_port
from tests.support.waiting import wait_for

log = logging.getLogger(__name__)

COMMAND = rerun_command("email")
INBOX = "support@example.com"
PARSE_ROUNDS = 5
MAILBOX_SIZE = 10_000
BODY_LINES = 20  # about 650 bytes a mail, below the 1 KiB messages of design.md's limits
BATCH = 100  # the worker's default imap_batch_size
PUBLISH_ROUNDS = 3
QUEUE = "inbox.messages"
STAGES = ("fetch", "parse", "archive", "publish", "sync", "cursor")
PROCESSES = next(f.default for f in fields(EmailIngestSettings) if f.name == "imap_parse_processes")


def measure() -> list[dict]:
    """Parse figures first (quiet machine), then the IMAP import and its publish ceiling."""
    return [*parse_figures(), *import_figures()]


def corpus_mails() -> list[bytes]:
    """Every raw mail of the corpus: Zammad, Chatwoot, talon replies and malformed MIME."""
    root = Path(os.environ.get("SWITCHBOARD_CORPUS") or REPO.parent / "shared" / "corpus")
    patterns = [
        "zammad/mail/*.box",
        "chatwoot/eml/*.eml",
        "talon/standard_replies/*.eml",
        "malformed-mime/mail_*",
    ]
    mails = [path.read_bytes() for pattern in patterns for path in sorted(root.glob(pattern))]
    if not mails:
        raise RuntimeError(f"no corpus at {root}: set SWITCHBOARD_CORPUS")
    return mails


def parse_all(mails: list[bytes]) -> None:
    """Parse every mail as the ingestor would (non-email refused, as it would be)."""
    received_at = datetime.now(UTC)
    for raw in mails:
        with contextlib.suppress(NotEmailError):
            parse_email(raw, inbox=INBOX, received_at=received_at)


def parse_figures() -> list[dict]:
    """email.parse_msgs_per_s and email.parse_mb_per_s: the whole corpus, median of rounds."""
    mails = corpus_mails()
    seconds = median_seconds(lambda: parse_all(mails), PARSE_ROUNDS)
    megabytes = sum(map(len, mails)) / 1e6
    limit = (
        f"CPU-bound Python on one core: {len(mails)} mails, {megabytes:.1f} MB; the stdlib MIME"
        " parser, charset decoding and HTML sanitizing (nh3) take most of the time"
    )
    return [
        figure("email.parse_msgs_per_s", len(mails) / seconds, "msg/s", COMMAND, limit),
        figure("email.parse_mb_per_s", megabytes / seconds, "MB/s", COMMAND, limit),
    ]


def import_figures() -> list[dict]:
    """email.imap_import_per_s, the ceiling, their ratio and where the import's time goes."""
    subprocess.run([str(REPO / "scripts" / "dovecot.sh")], check=True)
    mails = [
        imap_harness.build_mail(i, "bench", body_lines=BODY_LINES) for i in range(MAILBOX_SIZE)
    ]
    with (
        throwaway_vhost() as vhost,
        throwaway_database() as database_url,
        tempfile.TemporaryDirectory(prefix="email-bench-") as scratch,
    ):
        imap_harness.migrate(database_url)
        steady_state_store(Path(scratch) / "blobs")
        steady_state_store(Path(scratch) / "archive")
        user = imap_harness.new_user()
        fill_maildir(user, mails)
        run = run_import(vhost, database_url, user, Path(scratch))
        parse_rate, events = timed_parse(mails)
        archive_rate = timed_archive(mails, Path(scratch) / "archive")
        ceiling = publish_ceiling(vhost, events)
    command = f"{COMMAND}  # {MAILBOX_SIZE:,} mails, batches of {BATCH}"
    share = run.rate / ceiling
    busy = run.busy()
    explanation = import_explanation(run, busy, ceiling, parse_rate, archive_rate)
    stage_limit = (
        "share of the import's wall time the stage was busy (parse and archive, i.e. writing"
        f" the blobs: per preparing process, {PROCESSES} of them; publish: until confirmed;"
        " sync: the publisher thread's wait for the blobs' sync once its batch is confirmed)"
    )
    return [
        figure("email.imap_import_per_s", run.rate, "msg/s", command, explanation),
        figure(
            "email.confirmed_publish_ceiling_per_s",
            ceiling,
            "msg/s",
            command,
            f"RabbitMQ's confirmed publish into a quorum queue (fsync per confirm batch),"
            f" publish_many of the same {MAILBOX_SIZE:,} events in batches of {BATCH}, one"
            " connection",
        ),
        figure("email.imap_ratio", share, "ratio", command, "import rate / ceiling, one run"),
        *(
            figure(f"email.imap_busy.{stage}", busy[stage] * 100, "%", command, stage_limit)
            for stage in STAGES
        ),
        figure(
            "email.imap_cpu_busy",
            run.cpu_busy * 100,
            "%",
            command,
            f"the machine's CPUs ({os.cpu_count()}) busy during the import, every process"
            " (worker, its parse processes, RabbitMQ, Dovecot, PostgreSQL)",
        ),
    ]


@dataclass(frozen=True)
class ImportRun:
    """What the import measured: its rate, busy seconds per stage and the machine's CPU use."""

    rate: float
    seconds: float
    stage_seconds: dict[str, float]
    cpu_busy: float

    def busy(self) -> dict[str, float]:
        """Each stage's busy share of the wall time (parse and archive: per process)."""
        per_process = {"parse": PROCESSES, "archive": PROCESSES}
        return {
            stage: self.stage_seconds.get(stage, 0.0)
            / (self.seconds * max(1, per_process.get(stage, 1)))
            for stage in STAGES
        }


def import_explanation(
    run: ImportRun, busy: dict[str, float], ceiling: float, parse_rate: float, archive_rate: float
) -> str:
    """Say how the import runs, which stage was the busy one and what that means."""
    preparing = busy["parse"] + busy["archive"]
    publishing = busy["publish"] + busy["sync"] + busy["cursor"]
    if publishing >= max(preparing, busy["fetch"]) and busy["publish"] >= busy["sync"]:
        bound = "the publisher thread, i.e. the broker's confirms"
    elif publishing >= max(preparing, busy["fetch"]):
        bound = "the publisher thread waiting for the blobs' sync (the disk), not the broker"
    elif preparing >= busy["fetch"]:
        bound = "parsing and archiving (the preparing processes), not the broker's confirms"
    else:
        bound = "fetching from Dovecot, not the broker's confirms"
    return (
        f"pipelined: the IMAP thread fetches batch n+1 while {PROCESSES} processes parse and"
        f" archive (busy {preparing:.0%} each: parse {busy['parse']:.0%}, archive"
        f" {busy['archive']:.0%}; alone on one core {parse_rate:,.0f}/s parse,"
        f" {archive_rate:,.0f}/s archive with its sync) and one thread publishes batch n-1"
        f" with every confirm in flight while its blobs are synced, then moves the cursor"
        f" (busy {publishing:.0%}: publish {busy['publish']:.0%}, then waiting for the sync"
        f" {busy['sync']:.0%}, cursor {busy['cursor']:.0%}); fetch busy"
        f" {busy['fetch']:.0%}. Bound by {bound}; the machine's CPUs were"
        f" {run.cpu_busy:.0%} busy (RabbitMQ and Dovecot share them):"
        f" {run.rate / ceiling:.0%} of the ceiling ({ceiling:,.0f}/s)"
    )


def fill_maildir(user: imap_harness.ImapUser, mails: list[bytes]) -> None:
    """Write the mails straight into the user's maildir; Dovecot indexes them on SELECT.

    Seconds instead of minutes of APPEND; the messages are the same to an IMAP client.
    """
    with user.client() as client:
        client.select_folder("INBOX")  # makes Dovecot create the maildir
    maildir = imap_harness.DOVECOT_DIR / "mail" / user.name / "Maildir"
    owner = maildir.stat()
    stamp = int(time.time())
    for index, raw in enumerate(mails):
        # <time>.<unique>.<host>,S=<size>:2, is a delivered message; S= saves Dovecot a stat.
        path = maildir / "cur" / f"{stamp}.M{index}P{os.getpid()}.bench,S={len(raw)}:2,"
        path.write_bytes(raw)
        if os.getuid() == 0:
            os.chown(path, owner.st_uid, owner.st_gid)
    with user.client() as client:
        found = client.select_folder("INBOX", readonly=True)[b"EXISTS"]
    if found != len(mails):
        raise RuntimeError(f"Dovecot sees {found} of {len(mails)} mails in {maildir}")
    # A mailbox's mails are on disk long before an import, not 50 MB of dirty pages that
    # the import's first blob sync (a syncfs of the whole filesystem) would write out.
    os.sync()
    log.info("maildir of %s filled with %d mails (owner %s)", user.name, found, _name(owner))


def _name(owner: os.stat_result) -> str:
    try:
        return pwd.getpwuid(owner.st_uid).pw_name
    except KeyError:
        return str(owner.st_uid)


def run_import(vhost, database_url: str, user: imap_harness.ImapUser, scratch: Path) -> ImportRun:
    """Start `email-ingest imap`; measure from the first batch on the bus to the last."""
    env = imap_harness.worker_env(vhost.url, database_url, scratch / "blobs")
    port = free_port()
    env["SWITCHBOARD_EMAIL_INGEST_HEALTH_PORT"] = str(port)
    factory = imap_harness.WorkerFactory(env, scratch)
    factory.configure([user])
    probe = vhost.probe()
    worker = factory.start()
    try:
        first = wait_for(lambda: probe.depth(QUEUE), timeout=120, message="the first batch")
        stages_before, cpu_before = stage_seconds(port), cpu_times()
        watch = Stopwatch()
        wait_for(
            lambda: probe.depth(QUEUE) >= MAILBOX_SIZE or worker.process.poll() is not None,
            timeout=1800,
            interval=0.05,
            message=f"{MAILBOX_SIZE} messages in {QUEUE}",
        )
        seconds = watch.seconds
        cpu_after, stages_after = cpu_times(), stage_seconds(port)
        depth = probe.depth(QUEUE)
        if depth < MAILBOX_SIZE:
            raise RuntimeError(f"worker exited with {depth} imported:\n{worker.log()[-3000:]}")
        if worker.terminate() != 0:
            raise RuntimeError(f"worker did not stop cleanly:\n{worker.log()[-3000:]}")
    finally:
        worker.close()
        probe.purge_all()
        probe.close()
    busy_cpu = (cpu_after[0] - cpu_before[0]) / max(1, cpu_after[1] - cpu_before[1])
    return ImportRun(
        (MAILBOX_SIZE - first) / seconds,
        seconds,
        {stage: stages_after.get(stage, 0.0) - stages_before.get(stage, 0.0) for stage in STAGES},
        busy_cpu,
    )


def stage_seconds(port: int) -> dict[str, float]:
    """The worker's busy seconds per import stage so far, from its /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    pattern = r'^switchboard_imap_stage_seconds_total\{stage="(\w+)"\} (\S+)$'
    return {m[1]: float(m[2]) for m in re.finditer(pattern, text, re.M)}


def cpu_times() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


def timed_parse(mails: list[bytes]) -> tuple[float, list[Event]]:
    """Parse the benchmark's mails alone; return (mails/s, their events)."""
    received_at = datetime.now(UTC)
    watch = Stopwatch()
    events = [
        Event(MESSAGE_RECEIVED, parse_email(raw, inbox=INBOX, received_at=received_at).payload)
        for raw in mails
    ]
    return len(mails) / watch.seconds, events


def timed_archive(mails: list[bytes], directory: Path) -> float:
    """Archive the benchmark's mails: write a batch, then sync it (put_many, fsync on); mails/s."""
    blobs = FilesystemBlobStore(directory, True)
    watch = Stopwatch()
    for start in range(0, len(mails), BATCH):
        blobs.put_many(mails[start : start + BATCH])
    return len(mails) / watch.seconds


def publish_ceiling(vhost, events: list[Event]) -> float:
    """publish_many of the events in the worker's batches; median rate of a few rounds."""
    publisher = Publisher(vhost.settings())
    probe = vhost.probe()

    def publish_all() -> None:
        for start in range(0, len(events), BATCH):
            publisher.publish_many(events[start : start + BATCH])

    try:
        seconds = median_seconds(publish_all, PUBLISH_ROUNDS, setup=probe.purge_all)
    finally:
        publisher.close()
        probe.purge_all()
        probe.close()
    return len(events) / seconds
