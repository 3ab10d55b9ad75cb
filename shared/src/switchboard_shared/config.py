"""Settings read once from prefixed environment variables into frozen dataclasses.

A settings class is a frozen dataclass with a class variable `env_prefix`; each field is read
from `env_prefix + FIELD_NAME.upper()`. A field whose type is itself a settings class is a
section read with that class's own prefix, so the broker, database, blob store and logging
sections are declared once here and shared by every service. Every problem in the
environment is reported at once, and nothing else in Switchboard reads `os.environ`.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from switchboard_shared.errors import ConfigError

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Secret(str):
    """A string setting (password, token, URL with credentials) that never shows in a repr."""

    def __repr__(self) -> str:
        return "Secret('***')"


def setting(help: str, default: Any = dataclasses.MISSING, **kwargs: Any) -> Any:
    """Declare a settings field with the help text shown in errors and the README table."""
    metadata = {"help": help}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple or frozenset for a collection default")
    return field(default=default, metadata=metadata, **kwargs)


@dataclass(frozen=True)
class AmqpSettings:
    """How to reach RabbitMQ and how the bus behaves."""

    env_prefix: ClassVar[str] = "SWITCHBOARD_AMQP_"
    url: Secret = setting("RabbitMQ URL, e.g. amqp://user:pass@rabbitmq:5672/switchboard")
    heartbeat: int = setting("AMQP heartbeat in seconds", 30)
    confirm_timeout: float = setting("seconds to wait for a publisher confirm before failing", 10.0)
    connect_timeout: float = setting("seconds to wait for a broker connection", 5.0)
    delivery_limit: int = setting("deliveries of one message before the broker dead-letters it", 20)


@dataclass(frozen=True)
class DatabaseSettings:
    """How to reach PostgreSQL."""

    env_prefix: ClassVar[str] = "SWITCHBOARD_DATABASE_"
    url: Secret = setting("PostgreSQL URL, e.g. postgresql://switchboard@postgres:5432/switchboard")
    pool_size: int = setting("connections per process", 4)


@dataclass(frozen=True)
class BlobSettings:
    """Where raw payloads and attachments are archived."""

    env_prefix: ClassVar[str] = "SWITCHBOARD_BLOB_"
    dir: Path = setting("blob store directory, shared by every service (a volume in compose)")
    fsync: bool = setting("fsync each blob before it counts as archived", True)


@dataclass(frozen=True)
class LogSettings:
    """How the process logs."""

    env_prefix: ClassVar[str] = "SWITCHBOARD_LOG_"
    level: str = setting("log level: DEBUG, INFO, WARNING, ERROR", "INFO")
    format: str = setting("json (one object a line) or text (for a terminal)", "json")


def load_settings(cls: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Build `cls` from the environment; raise ConfigError naming every missing or bad value."""
    env = os.environ if environ is None else environ
    errors: list[str] = []
    result = _load(cls, env, errors)
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
    return result


def describe_settings(cls: type) -> Iterator[tuple[str, str, str]]:
    """Yield (variable, default, help) for every variable `cls` reads, sections included."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if _is_section(kind):
            yield from describe_settings(kind)
            continue
        if f.default is not dataclasses.MISSING:
            default = _render_default(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = _render_default(f.default_factory())
        else:
            default = "(required)"
        yield cls.env_prefix + f.name.upper(), default, f.metadata.get("help", "")


def _load(cls: type[T], env: Mapping[str, str], errors: list[str]) -> T:
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if _is_section(kind):
            values[f.name] = _load(kind, env, errors)
            continue
        name = cls.env_prefix + f.name.upper()
        raw = env.get(name)
        if raw is None or raw == "":
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                errors.append(f"{name} is required: {f.metadata.get('help', '')}")
            continue
        try:
            values[f.name] = _convert(raw, kind)
        except ValueError as exc:
            errors.append(f"{name} is malformed ({exc}): {f.metadata.get('help', '')}")
    if errors:
        return None  # type: ignore[return-value]  # never seen: load_settings raises
    return cls(**values)


def _is_section(kind: Any) -> bool:
    return isinstance(kind, type) and dataclasses.is_dataclass(kind) and hasattr(kind, "env_prefix")


def _convert(raw: str, kind: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _convert(raw, inner[0])
    if origin is tuple:
        (item,) = typing.get_args(kind)[:1]
        return tuple(_convert(part.strip(), item) for part in raw.split(",") if part.strip())
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"expected true or false, got {raw!r}")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
    if kind is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
    if kind is Path:
        return Path(raw)
    if kind is Secret:
        return Secret(raw)
    if kind is str:
        return raw
    raise ValueError(f"unsupported setting type {kind!r}")


def _render_default(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)
