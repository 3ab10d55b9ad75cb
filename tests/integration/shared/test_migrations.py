"""Migrations land in their service's own schema, and running them again changes nothing."""

import subprocess
import sys
from pathlib import Path

import psycopg

from switchboard_shared.migrations import MigrationSet, upgrade

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "migrations"


def test_migrations_create_the_schema_and_are_idempotent(database_url):
    widgets = MigrationSet("widgets_demo", str(FIXTURE))
    upgrade(database_url, widgets)
    upgrade(database_url, widgets)
    with psycopg.connect(database_url) as connection:
        tables = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'widgets_demo'"
            " ORDER BY 1"
        ).fetchall()
        version = connection.execute(
            "SELECT version_num FROM widgets_demo.alembic_version"
        ).fetchone()
    assert tables == [("alembic_version",), ("widgets",)]
    assert version == ("0001",)


def test_concurrent_migrators_take_turns(database_url):
    # Separate processes, as separate migrate containers would be (alembic's context is global).
    script = (
        "import sys; from switchboard_shared.migrations import MigrationSet, upgrade; "
        "upgrade(sys.argv[1], MigrationSet('widgets_race', sys.argv[2]))"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, database_url, str(FIXTURE)], stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr.decode()
