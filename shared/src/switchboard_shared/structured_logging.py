"""JSON logs with the service name and the trace and event ids, addresses and tokens redacted.

`configure_logging` is called once by each process; `log_context` binds `trace_id` and
`event_id` for the work in hand, so every line logged inside carries them.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

from switchboard_shared.config import LogSettings

_trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)
_event_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_KEY_VALUE = re.compile(
    r"(?i)\b(access_token|token|secret|password|passwd|signature|api_key|apikey|sig)"
    r"(\"?\s*[=:]\s*\"?)[^\s&\"',;]+"
)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@/\s]+@")
_SENSITIVE_KEYS = re.compile(r"(?i)(token|secret|password|signature|authorization|cookie)")


def redact(text: str) -> str:
    """Mask email addresses, bearer tokens, key=value secrets and URL passwords in `text`."""
    text = _URL_PASSWORD.sub(r"\1***@", text)
    text = _BEARER.sub(r"\1 ***", text)
    text = _KEY_VALUE.sub(r"\1\2***", text)
    return _EMAIL.sub(r"\1***@\2", text)


@contextmanager
def log_context(trace_id: str | None = None, event_id: str | None = None) -> Iterator[None]:
    """Bind trace and event ids to every log line written inside the block."""
    trace_token = _trace_id.set(trace_id)
    event_token = _event_id.set(event_id)
    try:
        yield
    finally:
        _trace_id.reset(trace_token)
        _event_id.reset(event_token)


def current_trace_id() -> str | None:
    """Return the trace id bound by the enclosing `log_context`, if any."""
    return _trace_id.get()


class _ContextFilter(logging.Filter):
    """Add service/trace/event ids and redact the rendered message and sensitive extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.trace_id = _trace_id.get()
        record.event_id = _event_id.get()
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key in _STANDARD_ATTRS:
                continue
            if _SENSITIVE_KEYS.search(key):
                record.__dict__[key] = "***"
            elif isinstance(value, str):
                record.__dict__[key] = redact(value)
        return True


_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "service", "trace_id", "event_id", "taskName"}
)


class _RedactingJsonFormatter(JsonFormatter):
    """JSON formatter whose tracebacks are redacted too."""

    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))


class _RedactingTextFormatter(logging.Formatter):
    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))


def configure_logging(service: str, settings: LogSettings, stream: TextIO | None = None) -> None:
    """Send this process's logs to stderr (or `stream`) as JSON or text, ids added, redacted."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_ContextFilter(service))
    if settings.format == "text":
        handler.setFormatter(
            _RedactingTextFormatter(
                "%(asctime)s %(levelname)s %(service)s %(name)s [%(trace_id)s] %(message)s"
            )
        )
    else:
        handler.setFormatter(
            _RedactingJsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s"
                " %(service)s %(trace_id)s %(event_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level.upper())
    # kombu/amqp log every reconnect attempt at WARNING with a traceback; ours say it once.
    logging.getLogger("kombu").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("pika").setLevel(max(logging.WARNING, root.level))
