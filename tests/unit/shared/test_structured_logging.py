import io
import json
import logging

import pytest

from switchboard_shared.config import LogSettings
from switchboard_shared.structured_logging import configure_logging, log_context, redact


@pytest.mark.parametrize(
    ("text", "hidden", "kept"),
    [
        ("from ada.lovelace@example.net", "ada.lovelace", "example.net"),
        ("Authorization: Bearer abc.def-123", "abc.def-123", "Bearer"),
        ("GET /hook?access_token=EAAB123&x=1", "EAAB123", "x=1"),
        ("amqp://switchboard:s3cret@rabbitmq:5672/", "s3cret", "rabbitmq"),
        ('{"password": "pw123"}', "pw123", "password"),
    ],
)
def test_redacts_addresses_and_secrets(text, hidden, kept):
    redacted = redact(text)
    assert hidden not in redacted
    assert kept in redacted


@pytest.fixture
def json_lines():
    stream = io.StringIO()
    configure_logging("demo", LogSettings(level="INFO", format="json"), stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logging.getLogger().handlers.clear()


def test_json_lines_carry_service_trace_and_event_ids(json_lines):
    log = logging.getLogger("demo.module")
    with log_context("trace-1", "event-1"):
        log.info("stored message from %s", "bob@example.org", extra={"api_token": "t0k3n"})
    log.warning("outside")
    inside, outside = json_lines()
    assert inside["service"] == "demo"
    assert inside["trace_id"] == "trace-1"
    assert inside["event_id"] == "event-1"
    assert inside["level"] == "INFO"
    assert inside["logger"] == "demo.module"
    assert "bob@" not in inside["message"] and "b***@example.org" in inside["message"]
    assert inside["api_token"] == "***"
    assert outside["trace_id"] is None


def test_tracebacks_are_redacted_too(json_lines):
    try:
        raise ValueError("bad address carol@example.org")
    except ValueError:
        logging.getLogger("demo").exception("failed")
    (line,) = json_lines()
    assert "carol@" not in json.dumps(line)
    assert "ValueError" in line["exc_info"]
