"""Throwaway PostgreSQL databases for a test run."""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def create_database() -> tuple[str, str]:
    """Create an empty database for this test run; return (name, URL)."""
    name = f"sb_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, f"postgresql://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    """Drop a test database, disconnecting whoever still uses it."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
