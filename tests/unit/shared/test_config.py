from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from switchboard_shared.config import (
    AmqpSettings,
    BlobSettings,
    Secret,
    describe_settings,
    load_settings,
    setting,
)
from switchboard_shared.errors import ConfigError


@dataclass(frozen=True)
class DemoSettings:
    env_prefix: ClassVar[str] = "SWITCHBOARD_DEMO_"
    amqp: AmqpSettings
    blob: BlobSettings
    port: int = setting("port", 8000)
    debug: bool = setting("debug", False)
    hosts: tuple[str, ...] = setting("hosts", ())
    token: Secret | None = setting("token", None)


BASE = {"SWITCHBOARD_AMQP_URL": "amqp://u:p@h/", "SWITCHBOARD_BLOB_DIR": "/tmp/b"}


def test_reads_prefixed_values_and_sections():
    settings = load_settings(
        DemoSettings,
        {
            **BASE,
            "SWITCHBOARD_DEMO_PORT": "9000",
            "SWITCHBOARD_DEMO_DEBUG": "yes",
            "SWITCHBOARD_DEMO_HOSTS": "a.example, b.example",
            "SWITCHBOARD_AMQP_HEARTBEAT": "5",
        },
    )
    assert settings.port == 9000
    assert settings.debug is True
    assert settings.hosts == ("a.example", "b.example")
    assert settings.amqp.heartbeat == 5
    assert settings.blob.dir == Path("/tmp/b")
    assert settings.token is None


def test_is_frozen():
    settings = load_settings(DemoSettings, BASE)
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


def test_reports_every_missing_and_malformed_value_at_once():
    with pytest.raises(ConfigError) as raised:
        load_settings(
            DemoSettings, {"SWITCHBOARD_DEMO_PORT": "eighty", "SWITCHBOARD_DEMO_DEBUG": "maybe"}
        )
    text = str(raised.value)
    assert "SWITCHBOARD_AMQP_URL is required" in text
    assert "SWITCHBOARD_BLOB_DIR is required" in text
    assert "SWITCHBOARD_DEMO_PORT is malformed (expected a whole number, got 'eighty')" in text
    assert "SWITCHBOARD_DEMO_DEBUG is malformed" in text


def test_secrets_never_show_in_a_repr():
    settings = load_settings(DemoSettings, {**BASE, "SWITCHBOARD_DEMO_TOKEN": "hunter2"})
    assert settings.token == "hunter2"
    assert "hunter2" not in repr(settings)
    assert "u:p@h" not in repr(settings)


def test_describes_every_variable_for_the_readme():
    rows = {name: (default, help) for name, default, help in describe_settings(DemoSettings)}
    assert rows["SWITCHBOARD_AMQP_URL"][0] == "(required)"
    assert rows["SWITCHBOARD_DEMO_PORT"] == ("8000", "port")
    assert rows["SWITCHBOARD_BLOB_FSYNC"][0] == "true"
