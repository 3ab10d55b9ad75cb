"""Social replies through the whole notifier: statuses per error class, and provider isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.simulators.replies.faults import (
    meta_error,
    slow,
    telegram_error,
    whatsapp_error,
    x_rate_limited,
)
from tests.support.waiting import wait_for
from tests.unit.notifier.reply_builders import PHONE_NUMBER_ID, SOCIAL_CHANNELS, social_reply


@pytest.mark.parametrize("channel", SOCIAL_CHANNELS)
def test_every_social_channel_is_sent_and_reports_the_providers_id(notifier, jobs, sim, channel):
    notifier()
    reply = social_reply(channel)
    jobs.publish(reply)
    sent = jobs.wait_status(reply["reply_id"], "sent")
    (call,) = [c for c in sim.calls if c.status < 300]
    response = call.response
    provider_id = (
        response.get("message_id")
        or response.get("id")
        or (response.get("messages") or [{}])[0].get("id")
        or (response.get("data") or {}).get("id")
        or (response.get("data") or {}).get("dm_event_id")
        or f"52147321:{(response.get('result') or {}).get('message_id')}"
    )
    assert sent["external_ids"] == [provider_id]
    assert sent["channel"] == channel


def test_a_transient_meta_error_is_retried_then_sent(notifier, jobs, sim):
    sim.inject("graph", meta_error("temporary_1200"))
    notifier()
    reply = social_reply("messenger")
    jobs.publish(reply)
    retrying = jobs.wait_status(reply["reply_id"], "retrying")
    assert "1200" in retrying["reason"] and retrying["next_attempt_at"]
    jobs.wait_status(reply["reply_id"], "sent")


def test_a_permanent_meta_error_fails_at_once_with_the_providers_reason(
    notifier, jobs, sim, broker
):
    sim.inject("graph", meta_error("unavailable_551"))
    notifier()
    reply = social_reply("messenger")
    jobs.publish(reply)
    failed = jobs.wait_status(reply["reply_id"], "failed")
    assert "This person isn't available right now" in failed["reason"]
    broker.wait_depth("notifier.meta.dlq", 1)
    assert len(sim.calls_to("graph")) == 1


def test_whatsapp_outside_the_window_fails_for_the_agent(notifier, jobs, sim):
    sim.last_customer_message[(PHONE_NUMBER_ID, "16505551234")] = datetime.now(UTC) - timedelta(
        days=2
    )
    notifier()
    reply = social_reply("whatsapp")
    jobs.publish(reply)
    failed = jobs.wait_status(reply["reply_id"], "failed")
    assert "template" in failed["reason"]


def test_a_whatsapp_pair_rate_limit_is_retried(notifier, jobs, sim):
    sim.inject("graph", whatsapp_error("pair_rate_131056"))
    notifier()
    reply = social_reply("whatsapp")
    jobs.publish(reply)
    assert "131056" in jobs.wait_status(reply["reply_id"], "retrying")["reason"]
    jobs.wait_status(reply["reply_id"], "sent")


@pytest.mark.parametrize("form", ["problem", "v1.1"])
def test_an_x_429_retries_at_the_reset_time(notifier, jobs, sim, form):
    reset = int(datetime.now(UTC).timestamp()) + 45
    sim.inject("x", x_rate_limited(reset, form))
    notifier()
    reply = social_reply("x_dm")
    jobs.publish(reply)
    retrying = jobs.wait_status(reply["reply_id"], "retrying")
    next_at = datetime.fromisoformat(retrying["next_attempt_at"])
    # The delay queue that covers the reset: 60 s for a reset 45 s away.
    assert (
        datetime.fromtimestamp(reset, UTC) <= next_at <= datetime.now(UTC) + timedelta(seconds=61)
    )


def test_a_telegram_429_waits_retry_after(notifier, jobs, sim):
    sim.inject("telegram", telegram_error(429, "Too Many Requests: retry after 1", retry_after=1))
    notifier()
    reply = social_reply("telegram")
    jobs.publish(reply)
    assert "retry after 1" in jobs.wait_status(reply["reply_id"], "retrying")["reason"]
    jobs.wait_status(reply["reply_id"], "sent")


def test_a_timed_out_send_is_retried_and_its_success_flagged_as_possible_duplicate(
    notifier, jobs, sim
):
    sim.inject("telegram", slow(3))
    notifier()
    reply = social_reply("telegram")
    jobs.publish(reply)
    assert "did not answer" in jobs.wait_status(reply["reply_id"], "retrying")["reason"]
    sent = jobs.wait_status(reply["reply_id"], "sent")
    assert sent["possible_duplicate"] is True


def test_a_burst_of_429s_on_one_provider_neither_blocks_others_nor_spins(notifier, jobs, sim):
    """X answers 429 for 10 minutes: Telegram replies all go out, and X is asked only once."""
    reset = int(datetime.now(UTC).timestamp()) + 600
    sim.inject("x", x_rate_limited(reset), times=1000)
    running = notifier()
    x_replies = [social_reply("x_dm") for _ in range(30)]
    telegram_replies = [social_reply("telegram") for _ in range(30)]
    jobs.publish(*[r for pair in zip(x_replies, telegram_replies, strict=True) for r in pair])
    for reply in telegram_replies:
        jobs.wait_status(reply["reply_id"], "sent")
    for reply in x_replies:
        retrying = jobs.wait_status(reply["reply_id"], "retrying")
        assert datetime.fromisoformat(retrying["next_attempt_at"]) >= datetime.now(UTC) + timedelta(
            seconds=500
        )
    # The first 429 closed the gate: the others waited for the reset without a request (but
    # for those the queue's other consumer threads had already sent).
    assert 1 <= len(sim.calls_to("x")) <= running.settings.consumers_per_queue
    assert len([c for c in sim.calls_to("telegram") if c.status == 200]) == 30


def test_a_slow_provider_does_not_hold_up_the_others(notifier, jobs, sim):
    sim.inject("graph", slow(1.5), times=5)
    notifier(HTTP_READ_TIMEOUT="5")
    slow_replies = [social_reply("messenger") for _ in range(5)]
    quick = social_reply("telegram")
    jobs.publish(*slow_replies, quick)
    jobs.wait_status(quick["reply_id"], "sent", timeout=3)

    def last_status(reply_id: str) -> str | None:
        statuses = jobs.of(reply_id)
        return statuses[-1]["status"] if statuses else None

    wait_for(lambda: all(last_status(r["reply_id"]) == "sent" for r in slow_replies), timeout=20)
