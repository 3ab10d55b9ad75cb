"""The `switchboard-admin` command line.

Services add their own commands (e.g. `create-agent`, `migrate`) through the entry-point
group `switchboard.admin_commands`: each entry point is a function that takes the argparse
subparsers object and registers its parser with `set_defaults(run=callable)`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import ClassVar

from switchboard_shared.admin import broker_view, dead_letters
from switchboard_shared.config import (
    AmqpSettings,
    DatabaseSettings,
    describe_settings,
    load_settings,
)
from switchboard_shared.errors import ConfigError


@dataclass(frozen=True)
class AdminSettings:
    """What the operator tool needs: the broker."""

    env_prefix: ClassVar[str] = "SWITCHBOARD_ADMIN_"
    amqp: AmqpSettings


def main(argv: list[str] | None = None) -> int:
    """Run one admin command; return the exit code."""
    parser = argparse.ArgumentParser(prog="switchboard-admin", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    queues = commands.add_parser("queues", help="depth, consumers and dead letters of every queue")
    queues.add_argument("--json", action="store_true", help="print JSON instead of a table")
    queues.set_defaults(run=_queues)

    dlq = commands.add_parser("dlq", help="inspect or replay a work queue's dead letters")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True)
    show = dlq_commands.add_parser("show", help="reason, headers and body of the first N")
    show.add_argument("queue", help="the work queue, e.g. inbox.messages")
    show.add_argument("-n", "--limit", type=int, default=10)
    show.set_defaults(run=_dlq_show)
    replay = dlq_commands.add_parser("replay", help="republish dead letters to their queue")
    replay.add_argument("queue", help="the work queue, e.g. inbox.messages")
    replay.add_argument("-n", "--limit", type=int, default=None, help="at most this many")
    replay.set_defaults(run=_dlq_replay)

    env = commands.add_parser("env", help="every environment variable, as a Markdown table")
    env.add_argument(
        "--update",
        metavar="FILE",
        type=Path,
        help=f"replace the table between {ENV_TABLE_START} and {ENV_TABLE_END} in FILE",
    )
    env.set_defaults(run=_env)

    migrate = commands.add_parser("migrate", help="bring every service's tables up to date")
    migrate.set_defaults(run=_migrate)

    for extension in entry_points(group="switchboard.admin_commands"):
        extension.load()(commands)

    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


# The README's environment table lives between these markers (`make docs` refreshes it).
ENV_TABLE_START = "<!-- switchboard-admin env -->"
ENV_TABLE_END = "<!-- /switchboard-admin env -->"


@dataclass(frozen=True)
class MigrateSettings:
    """What migrations need: the database."""

    env_prefix: ClassVar[str] = "SWITCHBOARD_ADMIN_"
    database: DatabaseSettings


def _migrate(args) -> int:
    from switchboard_shared import migrations  # alembic is only needed for this command

    settings = load_settings(MigrateSettings)
    schemas = migrations.upgrade_all(settings.database.url)
    print(f"migrated: {', '.join(schemas)}" if schemas else "no service with tables is installed")
    return 0


def _env(args) -> int:
    if args.update is None:
        print(env_table())
        return 0
    text = args.update.read_text(encoding="utf-8")
    updated = replace_env_table(text, env_table())
    if updated != text:
        args.update.write_text(updated, encoding="utf-8")
        print(f"{args.update}: environment table updated")
    return 0


def replace_env_table(document: str, table: str) -> str:
    """Put `table` between the env-table markers of a Markdown document."""
    start, end = document.find(ENV_TABLE_START), document.find(ENV_TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"no {ENV_TABLE_START} ... {ENV_TABLE_END} markers in the document")
    head = document[: start + len(ENV_TABLE_START)]
    return f"{head}\n{table}\n{document[end:]}"


def env_table() -> str:
    """The Markdown table of every variable read by the tool and each installed service."""
    classes: list[tuple[str, type]] = [
        ("switchboard-admin", AdminSettings),
        ("switchboard-admin", MigrateSettings),
    ]
    for entry in sorted(entry_points(group="switchboard.settings"), key=lambda e: e.name):
        classes.append((entry.name, entry.load()))
    rows: dict[str, tuple[str, str, list[str]]] = {}
    for service, cls in classes:
        for name, default, help_text in describe_settings(cls):
            users = rows.setdefault(name, (default, help_text, []))[2]
            if service not in users:
                users.append(service)
    lines = ["| variable | default | used by | meaning |", "| --- | --- | --- | --- |"]
    for name in sorted(rows, key=lambda n: (not _shared(n), n)):
        default, help_text, users = rows[name]
        lines.append(f"| `{name}` | {default or '(empty)'} | {', '.join(users)} | {help_text} |")
    return "\n".join(lines)


def _shared(name: str) -> bool:
    return name.split("_")[1] in {"AMQP", "DATABASE", "BLOB", "LOG"}


def _broker():
    settings = load_settings(AdminSettings)
    return broker_view.connect(settings.amqp.url)


def _queues(args) -> int:
    with _broker() as connection:
        states = broker_view.queue_states(connection)
    if args.json:
        print(json.dumps([asdict(s) for s in states], indent=2))
        return 0
    print(f"{'queue':<28} {'messages':>9} {'consumers':>9} {'dead':>6}")
    for s in states:
        dead = "" if s.dead_letters is None else str(s.dead_letters)
        depth = "absent" if s.messages < 0 else str(s.messages)
        print(f"{s.name:<28} {depth:>9} {s.consumers:>9} {dead:>6}")
    return 0


def _dlq_show(args) -> int:
    with _broker() as connection:
        letters = dead_letters.show(connection, args.queue, args.limit)
    if not letters:
        print(f"{args.queue}.dlq is empty")
    for index, letter in enumerate(letters, 1):
        print(f"--- {index}\n{dead_letters.render(letter)}")
    return 0


def _dlq_replay(args) -> int:
    with _broker() as connection:
        moved = dead_letters.replay(connection, args.queue, args.limit)
    print(f"replayed {moved} message(s) into {args.queue}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
