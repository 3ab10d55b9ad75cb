"""The IMAP mailboxes to poll, loaded from the JSON file named by `mailboxes_file`.

The file is a list of objects; passwords are not in it but in environment variables it names
(`password_env`), resolved from the environ mapping the caller passes, so the file can sit in
a repository or a config map while the secrets stay in the environment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from switchboard_shared.config import Secret
from switchboard_shared.errors import ConfigError

SECURITY_MODES = ("tls", "starttls", "none")
_DEFAULT_PORTS = {"tls": 993, "starttls": 143, "none": 143}
_AFTER_IMPORT = r"^(none|seen|move:.+)$"
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


@dataclass(frozen=True)
class AfterImport:
    """What to do with a message on the server once its event is confirmed."""

    action: str  # "none", "seen" or "move"
    folder: str | None = None  # the destination of "move"

    @classmethod
    def parse(cls, text: str) -> AfterImport:
        """Read `none`, `seen` or `move:<Folder>`."""
        action, _, folder = text.partition(":")
        return cls(action, folder or None)


@dataclass(frozen=True)
class Mailbox:
    """One IMAP account to import from, and the support address (inbox) it serves."""

    name: str
    address: str
    host: str
    port: int
    security: str
    user: str
    password: Secret
    folders: tuple[str, ...]
    after_import: AfterImport

    def __repr__(self) -> str:
        return f"Mailbox({self.name!r}, {self.host}:{self.port}, folders={list(self.folders)})"


class MailboxSchema(Schema):
    """One entry of the mailboxes file; unknown keys are errors (a typo must not pass)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    address = fields.Email(required=True)
    host = fields.String(required=True, validate=validate.Length(min=1))
    port = fields.Integer(load_default=None, validate=validate.Range(min=1, max=65535))
    security = fields.String(load_default="tls", validate=validate.OneOf(SECURITY_MODES))
    user = fields.String(required=True, validate=validate.Length(min=1))
    password_env = fields.String(required=True, validate=validate.Regexp(_ENV_NAME))
    folders = fields.List(
        fields.String(validate=validate.Length(min=1)),
        load_default=lambda: ["INBOX"],
        validate=validate.Length(min=1),
    )
    after_import = fields.String(
        load_default="none",
        validate=validate.Regexp(_AFTER_IMPORT, error="must be none, seen or move:<Folder>"),
    )

    @validates_schema
    def _distinct_folders(self, data: dict, **_kwargs: Any) -> None:
        folders = data.get("folders") or []
        if len(set(folders)) != len(folders):
            raise ValidationError("a folder is listed twice", "folders")


def load_mailboxes(path: Path, environ: Mapping[str, str]) -> tuple[Mailbox, ...]:
    """Read and validate the mailboxes file; raise ConfigError naming the bad field or variable."""
    try:
        document = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise ConfigError(f"mailboxes file {path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise ConfigError(f"mailboxes file {path}: not valid JSON ({exc})") from None
    return parse_mailboxes(document, environ, source=str(path))


def parse_mailboxes(
    document: Any, environ: Mapping[str, str], source: str = "mailboxes"
) -> tuple[Mailbox, ...]:
    """Validate an already-decoded mailboxes document (a JSON list)."""
    if not isinstance(document, list):
        raise ConfigError(f"{source}: expected a JSON list of mailboxes")
    try:
        entries = MailboxSchema(many=True).load(document)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc.messages, document)}") from None
    errors = []
    names = [entry["name"] for entry in entries]
    for duplicate in sorted({n for n in names if names.count(n) > 1}):
        errors.append(f"mailbox name {duplicate!r} is used twice (it keys the cursor and lease)")
    for entry in entries:
        variable = entry["password_env"]
        if not environ.get(variable):
            errors.append(f"mailbox {entry['name']!r}: environment variable {variable} is not set")
    if errors:
        raise ConfigError(f"{source}: " + "; ".join(errors))
    return tuple(_mailbox(entry, environ) for entry in entries)


def _mailbox(entry: dict, environ: Mapping[str, str]) -> Mailbox:
    security = entry["security"]
    return Mailbox(
        name=entry["name"],
        address=entry["address"],
        host=entry["host"],
        port=entry["port"] or _DEFAULT_PORTS[security],
        security=security,
        user=entry["user"],
        password=Secret(environ[entry["password_env"]]),
        folders=tuple(entry["folders"]),
        after_import=AfterImport.parse(entry["after_import"]),
    )


def _describe(messages: Any, document: list) -> str:
    """Turn marshmallow's {index: {field: [msg]}} into `mailbox 0 ('name'): field: msg`."""
    if not isinstance(messages, dict):
        return str(messages)
    parts = []
    for index, fields_errors in sorted(messages.items(), key=lambda item: str(item[0])):
        label = f"mailbox {index}"
        if isinstance(index, int) and isinstance(document[index], dict):
            name = document[index].get("name")
            label += f" ({name!r})" if name else ""
        if not isinstance(fields_errors, dict):
            parts.append(f"{label}: {_flatten(fields_errors)}")
            continue
        for field_name, field_messages in sorted(fields_errors.items()):
            where = "" if field_name == "_schema" else f" {field_name}:"
            parts.append(f"{label}:{where} {_flatten(field_messages)}")
    return "; ".join(parts)


def _flatten(messages: Any) -> str:
    if isinstance(messages, dict):
        return ", ".join(f"{key}: {_flatten(value)}" for key, value in messages.items())
    if isinstance(messages, list):
        return " ".join(_flatten(m) for m in messages)
    return str(messages)
