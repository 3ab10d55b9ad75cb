"""The README tells the truth about what can be configured."""

from __future__ import annotations

from pathlib import Path

from switchboard_shared.admin.cli import env_table, replace_env_table

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_environment_table_lists_every_setting_of_every_installed_service():
    text = README.read_text(encoding="utf-8")
    assert replace_env_table(text, env_table()) == text, "run `make docs` and commit README.md"


def test_replacing_the_table_keeps_the_rest_of_the_document():
    document = "intro\n<!-- switchboard-admin env -->\nold\n<!-- /switchboard-admin env -->\nend\n"
    updated = replace_env_table(document, "| new |")
    assert updated == (
        "intro\n<!-- switchboard-admin env -->\n| new |\n<!-- /switchboard-admin env -->\nend\n"
    )
