"""Error classification as channels.md 1.9, 2.5 and 3 say, on the simulators' own bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from notifier.delivery_errors import PermanentFailure, RateLimited, TransientFailure, WindowClosed
from notifier.provider_errors import graph_error, telegram_error, x_error
from tests.simulators.replies.faults import (
    META_ERRORS,
    WHATSAPP_ERRORS,
    gateway_error,
    meta_error,
    whatsapp_error,
    x_problem,
    x_rate_limited,
)
from tests.simulators.replies.faults import (
    telegram_error as telegram_fault,
)

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
META_CLASSES = {
    "unknown_1": TransientFailure,
    "service_2": TransientFailure,
    "app_limit_4": RateLimited,
    "user_limit_17": RateLimited,
    "page_limit_32": RateLimited,
    "rate_limit_613": RateLimited,
    "buc_80006": RateLimited,
    "policy_368": RateLimited,
    "temporary_1200": TransientFailure,
    "token_190": PermanentFailure,
    "window_2018278": WindowClosed,
    "unavailable_551": PermanentFailure,
    "bad_param_100": PermanentFailure,
}
WHATSAPP_CLASSES = {
    "reengagement_131047": WindowClosed,
    "throughput_130429": RateLimited,
    "pair_rate_131056": RateLimited,
    "undeliverable_131026": PermanentFailure,
}


def graph(fault, product="Messenger"):
    return graph_error(fault.status, json.loads(fault.payload()), fault.headers, NOW, product)


def test_every_simulated_meta_error_has_a_class():
    assert set(META_CLASSES) == set(META_ERRORS)
    assert set(WHATSAPP_CLASSES) == set(WHATSAPP_ERRORS)


@pytest.mark.parametrize(("name", "kind"), sorted(META_CLASSES.items()))
def test_meta_errors_are_classified_on_the_code(name, kind):
    failure = graph(meta_error(name))
    assert type(failure) is kind
    code, _, message = META_ERRORS[name]
    assert f"code {code}" in failure.reason
    if kind is not WindowClosed:
        assert message in failure.reason


@pytest.mark.parametrize(("name", "kind"), sorted(WHATSAPP_CLASSES.items()))
def test_whatsapp_errors_are_classified_on_the_code(name, kind):
    failure = graph(whatsapp_error(name), "WhatsApp")
    assert type(failure) is kind


def test_the_whatsapp_window_error_says_what_the_agent_can_do():
    failure = graph(whatsapp_error("reengagement_131047"), "WhatsApp")
    assert "24 hours" in failure.reason and "template" in failure.reason


def test_a_business_use_case_limit_waits_the_estimated_time():
    failure = graph(meta_error("buc_80006", buc_minutes=19))
    assert failure.not_before == NOW + timedelta(minutes=19)
    assert graph(meta_error("rate_limit_613")).not_before is None


def test_a_policy_block_waits_long_and_asks_for_a_person():
    failure = graph(meta_error("policy_368"))
    assert failure.not_before >= NOW + timedelta(minutes=30)
    assert "administrator" in failure.reason


def test_an_expired_token_asks_for_re_authorization():
    assert "re-authorize" in graph(meta_error("token_190")).reason


def test_a_graph_answer_without_its_error_body_goes_by_the_http_status():
    page = gateway_error(502)
    assert type(graph_error(502, page.payload().decode(), {}, NOW, "Messenger")) is TransientFailure
    assert type(graph_error(429, None, {}, NOW, "Messenger")) is RateLimited
    assert type(graph_error(404, "", {}, NOW, "Messenger")) is PermanentFailure


@pytest.mark.parametrize("form", ["problem", "v1.1"])
def test_x_429_waits_for_the_reset_in_either_body_form(form):
    reset = int((NOW + timedelta(minutes=12)).timestamp())
    fault = x_rate_limited(reset, form)
    failure = x_error(429, fault.body, fault.headers, NOW)
    assert type(failure) is RateLimited
    assert failure.not_before == NOW + timedelta(minutes=12)
    expected = "Too Many Requests" if form == "problem" else "Rate limit exceeded (code 88)"
    assert expected in failure.reason


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, TransientFailure),
        (503, TransientFailure),
        (400, PermanentFailure),
        (401, PermanentFailure),
        (403, PermanentFailure),
        (404, PermanentFailure),
    ],
)
def test_x_errors_by_status(status, kind):
    fault = x_problem(status, "Problem", "the detail")
    failure = x_error(status, fault.body, {}, NOW)
    assert type(failure) is kind
    assert "the detail" in failure.reason


def test_telegram_429_waits_retry_after():
    fault = telegram_fault(429, "Too Many Requests: retry after 5", retry_after=5)
    failure = telegram_error(429, fault.body, NOW)
    assert type(failure) is RateLimited
    assert failure.not_before == NOW + timedelta(seconds=5)


@pytest.mark.parametrize(
    ("code", "description", "kind"),
    [
        (403, "Forbidden: bot was blocked by the user", PermanentFailure),
        (400, "Bad Request: chat not found", PermanentFailure),
        (401, "Unauthorized", PermanentFailure),
        (502, "Bad Gateway", TransientFailure),
    ],
)
def test_telegram_errors(code, description, kind):
    failure = telegram_error(code, telegram_fault(code, description).body, NOW)
    assert type(failure) is kind
    assert description in failure.reason
