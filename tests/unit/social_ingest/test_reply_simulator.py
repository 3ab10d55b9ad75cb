"""The reply simulator answers like the providers (channels.md 1.8, 1.9, 2.4, 2.5, 3.1, 3.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.simulators.channels_md import find, json_blocks
from tests.simulators.replies import ReplySimulator, create_app
from tests.simulators.replies.faults import (
    META_ERRORS,
    WHATSAPP_ERRORS,
    gateway_error,
    meta_error,
    slow,
    telegram_error,
    whatsapp_error,
    x_rate_limited,
)
from tests.simulators.server import serve

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
PAGE, IG, NUMBER = "682498302938465", "17841405309211844", "106540352242922"
BOT = "7000000001:AAH-test-token"


@pytest.fixture
def sim() -> ReplySimulator:
    return ReplySimulator(
        page_tokens={PAGE: "page-token"},
        instagram_tokens={IG: "ig-token"},
        whatsapp_tokens={NUMBER: "wa-token"},
        x_tokens={"x-user-token": "4337869213"},
        telegram_bots={BOT: (7000000001, "acme_bot")},
        now=lambda: NOW,
    )


@pytest.fixture
def client(sim):
    return create_app(sim).test_client()


def send(client, body: dict, access: str = "page-token", node: str = PAGE):
    return client.post(f"/graph/v25.0/{node}/messages?access_token={access}", json=body)


def test_send_api_success_and_recording(client, sim, channels_md) -> None:
    example = find(
        json_blocks(channels_md), recipient={"id": "1254459154682919"}, messaging_type="RESPONSE"
    )
    response = send(client, example)
    assert response.status_code == 200
    success = find(json_blocks(channels_md), recipient_id="1254459154682919")
    assert (
        set(response.json) == set(success) and response.json["recipient_id"] == "1254459154682919"
    )
    (call,) = sim.calls_to("graph")
    assert (call.method, call.path, call.body, call.status) == (
        "POST",
        f"/graph/v25.0/{PAGE}/messages",
        example,
        200,
    )


@pytest.mark.parametrize(
    ("body", "token", "code"),
    [
        (
            {"recipient": {"id": "1"}, "messaging_type": "RESPONSE", "message": {"text": "x"}},
            "",
            2500,
        ),
        (
            {"recipient": {"id": "1"}, "messaging_type": "RESPONSE", "message": {"text": "x"}},
            "stolen",
            190,
        ),
        ({"messaging_type": "RESPONSE", "message": {"text": "x"}}, "page-token", 100),
        ({"recipient": {"id": "1"}, "message": {"text": "x"}}, "page-token", 100),
        (
            {"recipient": {"id": "1"}, "messaging_type": "MESSAGE_TAG", "message": {"text": "x"}},
            "page-token",
            100,
        ),
        (
            {"recipient": {"id": "1"}, "messaging_type": "RESPONSE", "message": {}},
            "page-token",
            100,
        ),
    ],
)
def test_send_api_validates_like_graph(client, body, token, code) -> None:
    response = send(client, body, access=token)
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == code and {"message", "type", "fbtrace_id"} <= set(error)


def test_messaging_window_and_human_agent_tag(client, sim) -> None:
    sim.last_customer_message[(PAGE, "1")] = NOW - timedelta(hours=25)
    base = {"recipient": {"id": "1"}, "message": {"text": "x"}}
    late = send(client, {**base, "messaging_type": "RESPONSE"})
    assert late.status_code == 403
    assert (late.json["error"]["code"], late.json["error"]["error_subcode"]) == (10, 2018278)
    assert (
        send(client, {**base, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}).status_code
        == 200
    )
    sim.last_customer_message[(PAGE, "1")] = NOW - timedelta(days=8)
    assert (
        send(client, {**base, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}).status_code
        == 403
    )


def test_private_replies_once_within_seven_days(client, sim) -> None:
    body = {"recipient": {"comment_id": "9_1"}, "message": {"text": "details in DM"}}
    assert set(send(client, body).json) == {"recipient_id", "message_id"}
    assert send(client, body).json["error"]["code"] == 10900
    sim.comment_times["9_2"] = NOW - timedelta(days=8)
    assert send(client, {**body, "recipient": {"comment_id": "9_2"}}).json["error"]["code"] == 10903


def test_comment_replies(client) -> None:
    page = client.post(
        "/graph/v25.0/122131676912594941_1213590066982748/comments",
        json={"message": "yes"},
        headers={"Authorization": "Bearer page-token"},
    )
    assert page.json["id"].startswith("122131676912594941_")
    ig = client.post("/graph/v25.0/17870913679156914/replies?message=*sniff*&access_token=ig-token")
    assert set(ig.json) == {"id"}
    assert (
        client.post("/graph/v25.0/1/replies?message=x&access_token=page-token").json["error"][
            "code"
        ]
        == 190
    )
    assert client.post("/graph/vX/1/replies?message=x").status_code == 400


def test_whatsapp_send_and_window(client, sim, channels_md) -> None:
    request_body = find(json_blocks(channels_md), messaging_product="whatsapp", to="16505551234")
    headers = {"Authorization": "Bearer wa-token"}
    sim.last_customer_message[(NUMBER, "16505551234")] = NOW - timedelta(hours=1)
    response = client.post(f"/graph/v25.0/{NUMBER}/messages", json=request_body, headers=headers)
    success = find(
        json_blocks(channels_md),
        messaging_product="whatsapp",
        contacts=[{"input": "16505551234", "wa_id": "16505551234"}],
    )
    assert set(response.json) == set(success) and response.json["contacts"] == success["contacts"]
    assert response.json["messages"][0]["id"].startswith("wamid.")
    sim.last_customer_message[(NUMBER, "16505551234")] = NOW - timedelta(hours=25)
    late = client.post(f"/graph/v25.0/{NUMBER}/messages", json=request_body, headers=headers)
    assert late.json["error"]["code"] == 131047
    missing = client.post(f"/graph/v25.0/{NUMBER}/messages", json={"to": "1"}, headers=headers)
    assert missing.json["error"]["code"] == 100


@pytest.mark.parametrize("name", sorted(META_ERRORS))
def test_every_meta_error_class_can_be_injected(client, sim, name) -> None:
    sim.inject("graph", meta_error(name, buc_minutes=19))
    body = {"recipient": {"id": "1"}, "messaging_type": "RESPONSE", "message": {"text": "x"}}
    response = send(client, body)
    code, subcode, message = META_ERRORS[name]
    error = response.json["error"]
    assert (error["code"], error.get("error_subcode"), error["message"]) == (code, subcode, message)
    assert '"estimated_time_to_regain_access": 19' in response.headers["X-Business-Use-Case-Usage"]
    assert send(client, body).status_code == 200  # one-shot


@pytest.mark.parametrize("name", sorted(WHATSAPP_ERRORS))
def test_whatsapp_errors_can_be_injected(client, sim, name) -> None:
    sim.inject("graph", whatsapp_error(name), path_contains=NUMBER)
    response = client.post(
        f"/graph/v25.0/{NUMBER}/messages", json={}, headers={"Authorization": "Bearer wa-token"}
    )
    assert response.json["error"]["code"] == WHATSAPP_ERRORS[name][0]
    assert response.json["error"]["error_data"]["messaging_product"] == "whatsapp"


def test_x_posts_dms_and_rate_limit_headers(client, sim, channels_md) -> None:
    headers = {"Authorization": "Bearer x-user-token"}
    request_body = find(
        json_blocks(channels_md), reply={"in_reply_to_tweet_id": "1307025659294674945"}
    )
    tweet = client.post("/x/2/tweets", json=request_body, headers=headers)
    assert tweet.status_code == 201 and set(tweet.json["data"]) == {"id", "text"}
    assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(
        tweet.headers.keys(lower=True)
    )
    dm = client.post(
        "/x/2/dm_conversations/with/3001969357/messages", json={"text": "hi"}, headers=headers
    )
    assert (
        dm.status_code == 201 and dm.json["data"]["dm_conversation_id"] == "3001969357-4337869213"
    )
    sim.x_summoned = {"1"}
    refused = client.post("/x/2/tweets", json=request_body, headers=headers)
    assert refused.status_code == 403 and refused.json["title"] == "Forbidden"
    assert client.post("/x/2/tweets", json={"text": "x"}).status_code == 401
    oauth1 = {
        "Authorization": 'OAuth oauth_consumer_key="k", oauth_token="x-user-token", '
        'oauth_signature="s"'
    }
    assert client.post("/x/2/tweets", json={"text": "x"}, headers=oauth1).status_code == 201


@pytest.mark.parametrize(("form", "key"), [("problem", "title"), ("v1", "errors")])
def test_x_429_in_both_forms(client, sim, form, key) -> None:
    sim.inject("x", x_rate_limited(1_750_000_000, form))
    response = client.post(
        "/x/2/tweets", json={"text": "x"}, headers={"Authorization": "Bearer x-user-token"}
    )
    assert response.status_code == 429 and key in response.json
    assert response.headers["x-rate-limit-reset"] == "1750000000"


def test_x_quota_runs_out(client, sim) -> None:
    sim.x_limit = 2
    statuses = [
        client.post(
            "/x/2/tweets", json={"text": "x"}, headers={"Authorization": "Bearer x-user-token"}
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [201, 201, 429]


def test_telegram_send_message(client, sim) -> None:
    ok = client.post(
        f"/telegram/bot{BOT}/sendMessage",
        json={"chat_id": 52147321, "text": "Sorry Jane", "reply_parameters": {"message_id": 1187}},
    )
    assert ok.json["ok"] is True and ok.json["result"]["reply_to_message"]["message_id"] == 1187
    assert client.post("/telegram/botnope/sendMessage", json={}).json == {
        "ok": False,
        "error_code": 401,
        "description": "Unauthorized",
    }
    assert (
        client.post(f"/telegram/bot{BOT}/sendMessage", data={"chat_id": "5"}).json["description"]
        == "Bad Request: message text is empty"
    )
    sim.telegram_blocked.add(5)
    assert client.get(f"/telegram/bot{BOT}/sendMessage?chat_id=5&text=hi").status_code == 403
    sim.telegram_chats = {}
    assert (
        client.get(f"/telegram/bot{BOT}/sendMessage?chat_id=6&text=hi").json["description"]
        == "Bad Request: chat not found"
    )
    sim.inject("telegram", telegram_error(429, "Too Many Requests: retry after 5", retry_after=5))
    limited = client.get(f"/telegram/bot{BOT}/sendMessage?chat_id=6&text=hi")
    assert limited.status_code == 429 and limited.json["parameters"] == {"retry_after": 5}


def test_5xx_and_timeouts_over_real_http(sim) -> None:
    sim.inject("graph", gateway_error(502))
    sim.inject("x", slow(0.5))
    with serve(create_app(sim)) as base:
        gateway = requests.post(f"{base}/graph/v25.0/{PAGE}/messages", timeout=5)
        assert gateway.status_code == 502 and gateway.headers["Content-Type"].startswith(
            "text/html"
        )
        with pytest.raises(requests.Timeout):
            requests.post(f"{base}/x/2/tweets", json={"text": "x"}, timeout=0.1)
    assert [c.status for c in sim.calls_to("graph")] == [502]
