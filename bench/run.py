"""`make bench`: run every bench/*_bench.py, then write bench/results.json and BENCHMARKS.md.

Each module defines `measure() -> list[dict]` (figures built with bench/support.py's `figure`)
and runs in a process of its own, so one that crashes, hangs or leaves threads behind cannot
skew or stop the others: it is reported, the rest still run, and the exit status is 1.
`--only PREFIX` runs the modules whose name starts with it (`--only email` runs
email_bench.py) and keeps every other figure results.json already holds.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/run.py` puts bench/, not the repo, on the path
    sys.path.insert(0, str(REPO))

from bench.support import FIGURE_KEYS  # noqa: E402 - needs the repo on sys.path first

log = logging.getLogger("bench")

BENCH = REPO / "bench"
RESULTS = BENCH / "results.json"
REPORT = REPO / "BENCHMARKS.md"
SUFFIX = "_bench"
DEFAULT_TIMEOUT = 3600.0


@dataclass(frozen=True)
class Outcome:
    """What one module's run produced: its figures, or why it has none."""

    module: str
    figures: list[dict]
    error: str | None = None


def short_name(path: Path) -> str:
    """`email_bench.py` -> `email`: the module's name in --only and its figures' prefix."""
    return path.stem.removesuffix(SUFFIX)


def discover(only: Sequence[str]) -> list[Path]:
    """The benchmark modules, sorted; with `only`, those whose short name matches a prefix."""
    paths = sorted(BENCH.glob(f"*{SUFFIX}.py"))
    if not only:
        return paths
    prefixes = [p.rstrip(".") for p in only]
    return [p for p in paths if any(short_name(p).startswith(prefix) for prefix in prefixes)]


def validate(figures: object) -> list[dict]:
    """Check what `measure()` returned; raise ValueError naming the first bad figure."""
    if not isinstance(figures, list) or not figures:
        raise ValueError(f"measure() must return a non-empty list, got {figures!r:.200}")
    for item in figures:
        if not isinstance(item, dict) or any(key not in item for key in FIGURE_KEYS):
            raise ValueError(f"a figure needs the keys {', '.join(FIGURE_KEYS)}: {item!r:.300}")
        if not isinstance(item["value"], int | float) or isinstance(item["value"], bool):
            raise ValueError(f"figure {item['name']}: value {item['value']!r} is not a number")
        for key in ("name", "unit", "command", "limit"):
            if not isinstance(item[key], str) or not item[key].strip():
                raise ValueError(f"figure {item.get('name')!r}: {key} must be a non-empty string")
    names = [item["name"] for item in figures]
    if len(set(names)) != len(names):
        raise ValueError(f"figure names repeat: {names}")
    return figures


def measure_here(path: Path, output: Path) -> int:
    """Child mode: import one module, call measure(), write its validated figures as JSON."""
    module = importlib.import_module(f"bench.{path.stem}")
    figures = validate(module.measure())
    output.write_text(json.dumps(figures))
    return 0


def run_module(path: Path, timeout: float) -> Outcome:
    """Run one module in a child process; its output goes straight to our terminal."""
    name = short_name(path)
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        output = Path(scratch) / "figures.json"
        command = [sys.executable, __file__, "--measure", str(path), "--output", str(output)]
        try:
            result = subprocess.run(command, cwd=REPO, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return Outcome(name, [], f"timed out after {timeout:.0f}s")
        if result.returncode != 0:
            return Outcome(name, [], f"exited with status {result.returncode} (traceback above)")
        return Outcome(name, json.loads(output.read_text()))


def merge(previous: list[dict], outcomes: list[Outcome], partial: bool) -> list[dict]:
    """This run's figures, plus (with --only) the earlier ones this run did not re-measure.

    A module that failed keeps its earlier figures under --only (dated, so the report can
    say they are older); a full run reports only what it measured.
    """
    fresh = [figure for outcome in outcomes for figure in outcome.figures]
    if not partial:
        return fresh
    replaced = {figure["name"] for figure in fresh}
    redone = tuple(f"{o.module}." for o in outcomes if o.error is None)
    kept = [
        figure
        for figure in previous
        if figure["name"] not in replaced and not figure["name"].startswith(redone)
    ]
    return sorted(kept + fresh, key=lambda figure: figure["name"])


def machine() -> dict:
    """CPU, Python, RabbitMQ and PostgreSQL versions of the machine the figures come from."""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "rabbitmq": _version(_rabbitmq_version),
        "postgresql": _version(_postgresql_version),
        "platform": platform.platform(terse=True),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(read) -> str:
    try:
        return read()
    except Exception as exc:  # the report must still be written; say what is unknown and why
        return f"unknown ({exc!r:.100})"


def _rabbitmq_version() -> str:
    from tests.support.rabbitmq import rabbitmqctl

    return rabbitmqctl("-q", "version", timeout=60).strip()


def _postgresql_version() -> str:
    import psycopg

    from tests.support.postgres import ADMIN_URL

    with psycopg.connect(ADMIN_URL, connect_timeout=5) as connection:
        return str(connection.execute("SHOW server_version").fetchone()[0])


def git_commit() -> str:
    """The commit measured: short hash, `-dirty` when the tree has uncommitted changes."""
    result = subprocess.run(
        ["git", "describe", "--always", "--dirty", "--abbrev=12"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "unknown"


def format_value(value: float) -> str:
    """Readable, with the precision a noisy measurement deserves."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def render_report(results: dict, failures: list[Outcome]) -> str:
    """BENCHMARKS.md: the machine, the run, the figures with what limits each, how to rerun."""
    host = results["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py) from bench/results.json; do not edit by hand.",
        "Absolute figures vary between machines; ratios measured in one run are what compare.",
        "",
        f"- Machine: {host['cpus']} CPUs ({host['cpu_model']}), {host['platform']}",
        f"- Python {host['python']}, RabbitMQ {host['rabbitmq']}, PostgreSQL {host['postgresql']}",
        f"- Date: {results['date']}",
        f"- Commit: {results['commit']}",
        "",
    ]
    if failures:
        lines += ["## Failed in this run", ""]
        lines += [f"- `{o.module}`: {o.error}" for o in failures]
        lines.append("")
    lines += [
        "## Figures",
        "",
        "| figure | value | unit | what limits it |",
        "| --- | ---: | --- | --- |",
    ]
    older = []
    for item in results["figures"]:
        name = f"`{item['name']}`"
        if item.get("date") != results["date"]:
            name += " *"
            older.append(item)
        limit = item.get("limit", "").replace("|", "\\|")
        lines.append(f"| {name} | {format_value(item['value'])} | {item['unit']} | {limit} |")
    if older:
        lines += ["", "\\* kept from an earlier run (`--only` did not re-measure it):"]
        lines += [f"  `{item['name']}` {item['date']}, {item['commit']}." for item in older]
    lines += pipeline_section(results["figures"])
    lines += [
        "",
        "## Reproducing a figure",
        "",
        "| figure | command |",
        "| --- | --- |",
    ]
    lines += [f"| `{item['name']}` | `{item['command']}` |" for item in results["figures"]]
    lines += [
        "",
        "## How to run",
        "",
        "`make bench` starts RabbitMQ, PostgreSQL and Dovecot if needed (`make services`) and",
        "runs every `bench/*_bench.py`, each in its own process against a throwaway vhost and",
        "database. `.venv/bin/python bench/run.py --only email` runs the modules whose name",
        "starts with `email` and keeps the other figures. Run on an otherwise idle machine:",
        "other load on the cores shows up in every figure.",
        "",
    ]
    return "\n".join(lines)


PIPELINE_SCALING = (
    ("stored per second at saturation", "pipeline.e2e_msgs_per_s", "msg/s"),
    ("p50 latency at saturation", "pipeline.p50_ms_at_saturation", "ms"),
    ("p99 latency at saturation", "pipeline.p99_ms_at_saturation", "ms"),
)
PIPELINE_TARGETS = (
    ("pipeline.ratio", ">=", 0.5),
    ("pipeline.p99_ms_at_200", "<", 250.0),
)


def pipeline_section(figures: list[dict]) -> list[str]:
    """The pipeline's one-vs-two inbox workers table and its targets, if it was measured."""
    values = {item["name"]: item["value"] for item in figures}
    if "pipeline.e2e_msgs_per_s" not in values:
        return []
    lines = [
        "",
        "## Pipeline: one vs two inbox workers",
        "",
        "The whole system end to end (bench/pipeline_bench.py): the mix of emails and signed",
        "webhooks posted by 32 clients, with one inbox-worker process, then with a second one",
        "competing on the queue. Latency runs from the ingest's HTTP answer to the row committed.",
        "",
        "| | one worker | two workers |",
        "| --- | ---: | ---: |",
    ]
    for label, name, unit in PIPELINE_SCALING:
        one, two = values.get(name), values.get(f"{name}_2workers")
        cells = [f"{format_value(v)} {unit}" if v is not None else "-" for v in (one, two)]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    lines += ["", "Targets (issue 7, 2-core machine):", ""]
    for name, relation, target in PIPELINE_TARGETS:
        if name in values:
            value = values[name]
            met = value >= target if relation == ">=" else value < target
            verdict = "met" if met else "NOT met"
            lines.append(f"- `{name}` {relation} {target:g}: {format_value(value)}, {verdict}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks and write the results; 1 if any module failed."""
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__)
    parser.add_argument(
        "--only", action="append", default=[], metavar="PREFIX", help="run matching modules"
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="per module, s")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    log.setLevel(logging.INFO)  # bench.* progress; libraries only when something is wrong
    if args.measure:
        return measure_here(args.measure, args.output)

    paths = discover(args.only)
    if not paths:
        log.error("no benchmark module matches %s", ", ".join(args.only) or "bench/*_bench.py")
        return 1
    date = datetime.now(UTC).replace(microsecond=0).isoformat()
    commit = git_commit()
    outcomes = []
    for path in paths:
        log.info("running %s", path.name)
        outcome = run_module(path, args.timeout)
        for item in outcome.figures:
            item.update(date=date, commit=commit)
            log.info("%s = %s %s", item["name"], format_value(item["value"]), item["unit"])
        if outcome.error:
            log.error("%s failed: %s", path.name, outcome.error)
        outcomes.append(outcome)

    previous = json.loads(RESULTS.read_text())["figures"] if RESULTS.exists() else []
    results = {
        "figures": merge(previous, outcomes, partial=bool(args.only)),
        "machine": machine(),
        "date": date,
        "commit": commit,
    }
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    failures = [o for o in outcomes if o.error]
    REPORT.write_text(render_report(results, failures))
    log.info("wrote %s and %s", RESULTS.relative_to(REPO), REPORT.relative_to(REPO))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
