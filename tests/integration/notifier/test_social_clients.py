"""Each provider client against the reply simulators: what it sends, what it makes of answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifier.accounts import Tokens
from notifier.clients.http import Timeouts
from notifier.clients.meta import GraphClient
from notifier.clients.telegram import TelegramClient
from notifier.clients.whatsapp import WhatsAppClient
from notifier.clients.x import XClient
from notifier.delivery_errors import PermanentFailure, RateLimited, TransientFailure, WindowClosed
from tests.simulators.replies.faults import gateway_error, meta_error, slow, x_rate_limited
from tests.unit.notifier.reply_builders import (
    BOT_TOKEN,
    IG_ID,
    PAGE_ID,
    PHONE_NUMBER_ID,
    X_USER_ID,
    loaded,
    social_reply,
)

TOKENS = Tokens(
    {
        ("meta", PAGE_ID): "page-token",
        ("meta", IG_ID): "ig-token",
        ("whatsapp", PHONE_NUMBER_ID): "wa-token",
        ("x", X_USER_ID): "x-user-token",
    },
    {"telegram": BOT_TOKEN},
)
TIMEOUTS = Timeouts(connect=2, read=0.5)


@pytest.fixture
def clients(sim_url):
    made = {
        "graph": GraphClient(f"{sim_url}/graph/v25.0", TOKENS, TIMEOUTS),
        "whatsapp": WhatsAppClient(f"{sim_url}/graph/v25.0", TOKENS, TIMEOUTS),
        "x": XClient(f"{sim_url}/x", TOKENS, TIMEOUTS),
        "telegram": TelegramClient(f"{sim_url}/telegram", TOKENS, TIMEOUTS),
    }
    yield made
    for client in made.values():
        client.close()


def send(clients, channel, **overrides):
    client = {"whatsapp": "whatsapp", "telegram": "telegram", "x_dm": "x", "x_mention": "x"}
    return clients[client.get(channel, "graph")].send(loaded(social_reply(channel, **overrides)))


def test_messenger_replies_inside_the_window_as_a_response(clients, sim):
    delivered = send(clients, "messenger")
    (call,) = sim.calls_to("graph")
    assert call.path == f"/graph/v25.0/{PAGE_ID}/messages"
    assert call.headers["Authorization"] == "Bearer page-token"
    assert call.body["recipient"] == {"id": "1254459154682919"}
    assert call.body["messaging_type"] == "RESPONSE"
    assert delivered.provider_message_id == call.response["message_id"]


def test_messenger_outside_24_hours_uses_the_human_agent_tag(clients, sim):
    sim.last_customer_message[(PAGE_ID, "1254459154682919")] = datetime.now(UTC) - timedelta(days=2)
    send(clients, "messenger")
    refused, accepted = sim.calls_to("graph")
    assert refused.status == 403 and refused.body["messaging_type"] == "RESPONSE"
    assert accepted.status == 200
    assert (accepted.body["messaging_type"], accepted.body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_messenger_knowing_the_last_message_time_tags_at_once(clients, sim):
    last = datetime.now(UTC) - timedelta(days=2)
    sim.last_customer_message[(PAGE_ID, "1254459154682919")] = last
    send(clients, "messenger", metadata={"last_customer_message_at": last.isoformat()})
    (call,) = sim.calls_to("graph")
    assert call.body["tag"] == "HUMAN_AGENT"


def test_messenger_past_seven_days_fails_clearly(clients, sim):
    sim.last_customer_message[(PAGE_ID, "1254459154682919")] = datetime.now(UTC) - timedelta(days=8)
    with pytest.raises(WindowClosed, match="must write again"):
        send(clients, "messenger")


def test_an_automatic_messenger_reply_never_uses_the_human_agent_tag(clients, sim):
    sim.last_customer_message[(PAGE_ID, "1254459154682919")] = datetime.now(UTC) - timedelta(days=2)
    with pytest.raises(WindowClosed):
        send(clients, "messenger", automatic=True)
    assert len(sim.calls_to("graph")) == 1


def test_instagram_dm(clients, sim):
    send(clients, "instagram_dm")
    (call,) = sim.calls_to("graph")
    assert call.path == f"/graph/v25.0/{IG_ID}/messages"
    assert call.body["recipient"] == {"id": "6513927395316798"}


def test_facebook_comment_reply_and_private_reply(clients, sim):
    public = send(clients, "facebook_comment")
    comment = "122131676912594941_1213590066982748"
    sim.comment_times[comment] = datetime.now(UTC)
    send(clients, "facebook_comment", visibility="private")
    reply_call, private_call = sim.calls_to("graph")
    assert reply_call.path == f"/graph/v25.0/{comment}/comments"
    assert reply_call.body == {"message": "Sorry about that, it ships tomorrow."}
    assert public.provider_message_id == reply_call.response["id"]
    assert private_call.path == f"/graph/v25.0/{PAGE_ID}/messages"
    assert private_call.body["recipient"] == {"comment_id": comment}
    with pytest.raises(PermanentFailure, match="10900"):
        send(clients, "facebook_comment", visibility="private")


def test_instagram_comment_reply_and_private_reply(clients, sim):
    send(clients, "instagram_comment")
    send(clients, "instagram_comment", visibility="private")
    reply_call, private_call = sim.calls_to("graph")
    assert reply_call.path == "/graph/v25.0/17919697626119712/replies"
    assert reply_call.query["message"] == "Sorry about that, it ships tomorrow."
    assert private_call.path == f"/graph/v25.0/{IG_ID}/messages"
    assert private_call.body["recipient"] == {"comment_id": "17919697626119712"}


def test_whatsapp_quotes_the_customers_message(clients, sim):
    delivered = send(clients, "whatsapp")
    (call,) = sim.calls_to("graph")
    assert call.path == f"/graph/v25.0/{PHONE_NUMBER_ID}/messages"
    assert call.body["to"] == "16505551234"
    assert call.body["context"]["message_id"].startswith("wamid.")
    assert delivered.provider_message_id.startswith("wamid.")


def test_whatsapp_outside_the_window_fails_naming_templates(clients, sim):
    sim.last_customer_message[(PHONE_NUMBER_ID, "16505551234")] = datetime.now(UTC) - timedelta(
        hours=25
    )
    with pytest.raises(WindowClosed, match="template"):
        send(clients, "whatsapp")


def test_x_mention_reply_and_dm(clients, sim):
    post = send(clients, "x_mention")
    dm = send(clients, "x_dm")
    post_call, dm_call = sim.calls_to("x")
    assert post_call.path == "/x/2/tweets"
    assert post_call.body["reply"] == {"in_reply_to_tweet_id": "1307025659294674945"}
    assert post.provider_message_id == post_call.response["data"]["id"]
    assert dm_call.path == "/x/2/dm_conversations/with/3001969357/messages"
    assert dm.provider_message_id == dm_call.response["data"]["dm_event_id"]


def test_x_not_summoned_is_permanent(clients, sim):
    sim.x_summoned = set()
    with pytest.raises(PermanentFailure, match="403"):
        send(clients, "x_mention")


@pytest.mark.parametrize("form", ["problem", "v1.1"])
def test_x_429_waits_for_the_reset_header(clients, sim, form):
    reset = int(datetime.now(UTC).timestamp()) + 300
    sim.inject("x", x_rate_limited(reset, form))
    with pytest.raises(RateLimited) as caught:
        send(clients, "x_dm")
    assert caught.value.not_before == datetime.fromtimestamp(reset, UTC)


def test_x_spent_quota_is_reported_with_the_delivery(clients, sim):
    sim.x_limit = 1
    delivered = send(clients, "x_dm")
    assert delivered.quota_reset is not None and delivered.quota_reset > datetime.now(UTC)


def test_telegram_replies_to_the_customers_message(clients, sim):
    delivered = send(clients, "telegram")
    (call,) = sim.calls_to("telegram")
    assert call.path == f"/telegram/bot{BOT_TOKEN}/sendMessage"
    assert call.body["chat_id"] == 52147321
    assert call.body["reply_parameters"]["message_id"] == 1187
    assert delivered.provider_message_id == f"52147321:{call.response['result']['message_id']}"


def test_telegram_blocked_is_permanent(clients, sim):
    sim.telegram_blocked.add(52147321)
    with pytest.raises(PermanentFailure, match="blocked"):
        send(clients, "telegram")


@pytest.mark.parametrize("channel", ["messenger", "whatsapp", "x_dm", "telegram"])
def test_a_timeout_is_transient_and_may_have_been_delivered(clients, sim, channel):
    provider = {"x_dm": "x", "telegram": "telegram"}.get(channel, "graph")
    sim.inject(provider, slow(1.5))
    with pytest.raises(TransientFailure) as caught:
        send(clients, channel)
    assert caught.value.maybe_delivered
    assert "did not answer" in caught.value.reason
    assert BOT_TOKEN not in caught.value.reason


def test_a_gateway_error_page_is_transient(clients, sim):
    sim.inject("graph", gateway_error(502))
    with pytest.raises(TransientFailure, match="502"):
        send(clients, "messenger")


def test_an_unreachable_provider_was_never_sent_to(clients):
    client = TelegramClient("http://127.0.0.1:9", TOKENS, TIMEOUTS)
    with pytest.raises(TransientFailure) as caught:
        client.send(loaded(social_reply("telegram")))
    assert not caught.value.maybe_delivered
    assert BOT_TOKEN not in caught.value.reason


def test_a_meta_rate_limit_with_usage_header(clients, sim):
    sim.inject("graph", meta_error("buc_80006", buc_minutes=3))
    with pytest.raises(RateLimited) as caught:
        send(clients, "messenger")
    remaining = caught.value.not_before - datetime.now(UTC)
    assert timedelta(minutes=2) < remaining <= timedelta(minutes=3)


def test_no_token_for_an_account_is_permanent(clients):
    with pytest.raises(PermanentFailure, match="no meta token"):
        send(clients, "messenger", inbox="999")
