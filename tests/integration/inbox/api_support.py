"""Helpers for API tests: agents with tokens, and conversations made by the worker's handler."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from flask.testing import FlaskClient
from psycopg_pool import ConnectionPool

from inbox.credentials import hash_password, new_api_token, token_digest
from inbox.handlers.message_received import MessageReceivedHandler
from inbox.repository.agents import AgentRepository
from tests.integration.inbox.conftest import consumed

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Caller:
    """An agent and the headers that authenticate them."""

    agent: dict
    token: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, client: FlaskClient, path: str, **kwargs):
        return client.get(path, headers=self.headers, **kwargs)

    def send(self, client: FlaskClient, method: str, path: str, json=None):
        return client.open(path, method=method, headers=self.headers, json=json)


def make_agent(pool: ConnectionPool, email: str, role: str = "agent") -> Caller:
    """Create an agent with a password and an API token."""
    token = new_api_token()
    with pool.connection() as connection:
        repository = AgentRepository(connection)
        agent = repository.create(
            email, email.partition("@")[0].title(), role, hash_password(PASSWORD)
        )
        repository.add_token(agent["id"], "tests", token_digest(token))
    return Caller(agent, token)


def receive(pool: ConnectionPool, *payloads: dict) -> None:
    """Store inbound messages the way the worker does."""
    MessageReceivedHandler(pool).handle_batch([consumed(p) for p in payloads])


def conversation_of(db: psycopg.Connection, external_id: str) -> str:
    """The conversation an inbound message was threaded into."""
    return str(
        db.execute(
            "SELECT conversation_id FROM inbox.messages WHERE external_id = %s", (external_id,)
        ).fetchone()[0]
    )


def message_id_of(db: psycopg.Connection, external_id: str) -> str:
    """Our id of an inbound message."""
    return str(
        db.execute(
            "SELECT id FROM inbox.messages WHERE external_id = %s", (external_id,)
        ).fetchone()[0]
    )
