"""switchboard-admin create-agent and seed-demo, as `make run` uses them."""

from __future__ import annotations

import os
import subprocess

from inbox.demo_data import demo_events
from inbox.handlers.message_received import MessageReceivedHandler
from tests.integration.inbox.conftest import consumed, count


def admin(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [".venv/bin/switchboard-admin", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_create_agent_then_sign_in(db, client, migrated_database_url):
    env = {"SWITCHBOARD_DATABASE_URL": migrated_database_url, "DEMO_PASSWORD": "a long secret"}
    arguments = [
        "create-agent",
        "Boss@Example.com",
        "--role",
        "admin",
        "--password-env",
        "DEMO_PASSWORD",
        "--token",
    ]
    created = admin(*arguments, **env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.split("API token (shown once): ")[1].strip()
    assert admin(*arguments, **env).returncode == 1
    assert admin(*arguments, "--if-missing", **env).returncode == 0
    me = client.get("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert me.get_json()["agent"]["role"] == "admin"
    login = client.post(
        "/api/v1/session", json={"email": "boss@example.com", "password": "a long secret"}
    )
    assert login.status_code == 200


def test_seed_demo_publishes_messages_the_worker_stores_once(db, pool, broker, amqp_url):
    seeded = admin("seed-demo", SWITCHBOARD_AMQP_URL=amqp_url)
    assert seeded.returncode == 0, seeded.stderr
    broker.wait_depth("inbox.messages", len(demo_events()))
    handler = MessageReceivedHandler(pool)
    handler.handle_batch([consumed(e.payload) for e in demo_events()])
    handler.handle_batch([consumed(e.payload) for e in demo_events()])
    assert count(db, "messages") == len(demo_events())
    assert count(db, "conversations") == 4
