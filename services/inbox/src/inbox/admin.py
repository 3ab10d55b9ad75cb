"""`switchboard-admin create-agent` (and `create-token`): the first admin, and scripted setups."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import dataclass
from typing import ClassVar

import psycopg

from inbox.credentials import hash_password, new_api_token, token_digest
from inbox.demo_data import demo_events
from inbox.repository.agents import AgentRepository
from switchboard_shared.config import AmqpSettings, DatabaseSettings, load_settings
from switchboard_shared.publisher import Publisher


@dataclass(frozen=True)
class AgentAdminSettings:
    """What the agent commands need: the database."""

    env_prefix: ClassVar[str] = "SWITCHBOARD_ADMIN_"
    database: DatabaseSettings


def register(commands) -> None:
    """Add inbox's subcommands to switchboard-admin."""
    create = commands.add_parser("create-agent", help="create an inbox agent (or admin)")
    create.add_argument("email")
    create.add_argument("--name", help="display name (default: the email's local part)")
    create.add_argument("--role", choices=("admin", "agent"), default="agent")
    create.add_argument(
        "--password-env",
        metavar="VAR",
        help="read the password from this environment variable instead of prompting",
    )
    create.add_argument("--token", action="store_true", help="also create and print an API token")
    create.add_argument(
        "--if-missing", action="store_true", help="succeed quietly if the agent already exists"
    )
    create.set_defaults(run=create_agent)
    seed = commands.add_parser(
        "seed-demo", help="publish demo conversations for the inbox worker (idempotent)"
    )
    seed.set_defaults(run=seed_demo)


def create_agent(args: argparse.Namespace) -> int:
    """Create an agent with a password (and optionally an API token)."""
    settings = load_settings(AgentAdminSettings)
    password = _password(args)
    if len(password) < 8:
        print("error: the password needs at least 8 characters", file=sys.stderr)
        return 2
    with psycopg.connect(settings.database.url) as connection:
        repository = AgentRepository(connection)
        existing = repository.by_email(args.email)
        if existing is not None:
            if args.if_missing:
                print(f"agent {args.email} already exists")
                return 0
            print(f"error: agent {args.email} already exists", file=sys.stderr)
            return 1
        name = args.name or args.email.partition("@")[0]
        agent = repository.create(args.email, name, args.role, hash_password(password))
        repository.audit(None, "agent_created", details={"agent_id": str(agent["id"]), "by": "cli"})
        print(f"created {args.role} {agent['email']} ({agent['id']})")
        if args.token:
            token = new_api_token()
            repository.add_token(agent["id"], "created by switchboard-admin", token_digest(token))
            print(f"API token (shown once): {token}")
    return 0


@dataclass(frozen=True)
class SeedSettings:
    """What seeding needs: the broker."""

    env_prefix: ClassVar[str] = "SWITCHBOARD_ADMIN_"
    amqp: AmqpSettings


def seed_demo(args: argparse.Namespace) -> int:
    """Publish the demo messages; the worker stores them (again: deduplicated)."""
    settings = load_settings(SeedSettings)
    publisher = Publisher(settings.amqp)
    try:
        events = demo_events()
        publisher.publish_many(events)
    finally:
        publisher.close()
    print(f"published {len(events)} demo messages for the inbox worker")
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_env:
        # The operator names the variable: reading it here is the command's input, not config.
        return os.environ.get(args.password_env, "")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        print("error: the passwords differ", file=sys.stderr)
        return ""
    return first
