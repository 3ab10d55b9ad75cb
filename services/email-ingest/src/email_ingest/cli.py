"""`email-ingest` command line: `parse FILE...` prints raw mails as JSON; `imap` polls mailboxes."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from email_ingest import imap_worker
from email_ingest.errors import NotEmailError
from email_ingest.mime_parser import parse_email
from switchboard_shared.errors import InvalidEventError
from switchboard_shared.schemas import MESSAGE_RECEIVED

DEFAULT_INBOX = "support@localhost"


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser; each subcommand registers itself in `_COMMANDS`."""
    parser = argparse.ArgumentParser(prog="email-ingest", description=__doc__)
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _COMMANDS:
        register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    args = build_parser().parse_args(argv)
    return args.handler(args)


def _register_parse(subcommands: argparse._SubParsersAction) -> None:
    parse = subcommands.add_parser(
        "parse", help="print the normalized message.received JSON of raw mail files"
    )
    parse.add_argument("files", nargs="+", metavar="FILE", type=Path, help="raw RFC 5322 file")
    parse.add_argument("--inbox", default=DEFAULT_INBOX, help="support address that received it")
    parse.add_argument(
        "--received-at",
        type=_aware_datetime,
        default=None,
        help="ISO 8601 receive time (default: now), used when Date is missing",
    )
    parse.add_argument("--compact", action="store_true", help="one JSON document per line")
    parse.set_defaults(handler=_parse_files)


def _register_imap(subcommands: argparse._SubParsersAction) -> None:
    imap = subcommands.add_parser(
        "imap",
        help="poll the IMAP mailboxes of the mailboxes file until SIGTERM",
        description=(
            "Poll the mailboxes listed in SWITCHBOARD_EMAIL_INGEST_MAILBOXES_FILE and publish"
            " every new mail as message.received; replicas share the mailboxes through leases"
            " in PostgreSQL. Settings come from the environment (see `switchboard-admin env`)."
            " SIGTERM finishes the batch in hand and exits 0; a bad setting exits 2."
        ),
    )
    imap.set_defaults(handler=_run_imap)


def _run_imap(_args: argparse.Namespace) -> int:
    return imap_worker.main()


def _parse_files(args: argparse.Namespace) -> int:
    status = 0
    received_at = args.received_at or datetime.now(UTC)
    for path in args.files:
        try:
            raw = path.read_bytes()
            parsed = parse_email(raw, inbox=args.inbox, received_at=received_at)
            payload = MESSAGE_RECEIVED.validate(parsed.payload)
        except (OSError, NotEmailError, InvalidEventError) as exc:
            print(f"{path}: {_reason(exc)}", file=sys.stderr)
            status = 1
            continue
        document = {"file": str(path), "payload": payload}
        if args.compact:
            print(json.dumps(document, ensure_ascii=False))
        else:
            print(json.dumps(document, ensure_ascii=False, indent=2))
    return status


def _reason(exc: Exception) -> str:
    if isinstance(exc, NotEmailError):
        return f"not an email: {exc.reason}"
    if isinstance(exc, InvalidEventError):
        return f"invalid message.received payload: {exc.reason}"
    return str(exc)


def _aware_datetime(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Subcommands in the order `--help` lists them.
_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_register_parse, _register_imap]


if __name__ == "__main__":
    sys.exit(main())
