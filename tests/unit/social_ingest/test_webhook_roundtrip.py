"""Simulated networks talk HTTP to a minimal receiver wired the way the HTTP layer will be.

The receiver is test code (the real Flask layer belongs to the service): it shows the calls the
layer makes, and proves the simulators' requests verify and normalize end to end.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
from flask import Flask, abort, jsonify, request

from social_ingest import signatures
from social_ingest.accounts import Accounts
from social_ingest.normalize import Normalized, api_channel, meta, telegram, x
from tests.simulators import api_channel as api_sim
from tests.simulators import meta as meta_sim
from tests.simulators import telegram as telegram_sim
from tests.simulators import x as x_sim
from tests.simulators.delivery import redelivered
from tests.simulators.server import serve


def receiver(accounts: Accounts) -> Flask:
    app = Flask("receiver")

    def answer(result: Normalized) -> dict:
        return {
            "messages": [m["external_id"] for m in result.messages],
            "statuses": len(result.statuses),
            "skipped": [s.reason for s in result.skipped],
        }

    def context() -> dict:
        raw = request.get_data()
        return {"received_at": datetime.now(UTC), "raw_sha256": hashlib.sha256(raw).hexdigest()}

    @app.get("/meta/<name>")
    def meta_handshake(name: str):
        challenge = signatures.meta_challenge(request.args, accounts.meta_apps[name].verify_token)
        return (challenge, 200, {"Content-Type": "text/plain"}) if challenge else abort(403)

    @app.post("/meta/<name>")
    def meta_events(name: str):
        app_ = accounts.meta_apps[name]
        raw = request.get_data()
        if not signatures.verify_meta(
            raw, request.headers.get("X-Hub-Signature-256"), app_.app_secret
        ):
            abort(403)
        return jsonify(answer(meta.normalize(raw, accounts=accounts, app=app_, **context())))

    @app.get("/x/<name>")
    def x_crc(name: str):
        body = signatures.x_crc_response(
            request.args.get("crc_token"), accounts.x_apps[name].consumer_secret
        )
        return jsonify(body) if body else abort(400)

    @app.post("/x/<name>")
    def x_events(name: str):
        app_ = accounts.x_apps[name]
        raw = request.get_data()
        if not signatures.verify_x(
            raw, request.headers.get(signatures.X_SIGNATURE_HEADER), app_.consumer_secret
        ):
            abort(403)
        return jsonify(answer(x.normalize(raw, accounts=accounts, app=app_, **context())))

    @app.post("/telegram/<bot_id>")
    def telegram_update(bot_id: str):
        bot = accounts.telegram_bots[bot_id]
        if not signatures.verify_telegram(
            request.headers.get(signatures.TELEGRAM_SECRET_HEADER), bot.secret_token
        ):
            abort(403)
        return jsonify(answer(telegram.normalize(request.get_data(), bot=bot, **context())))

    @app.post("/api/<name>")
    def api_messages(name: str):
        source = accounts.api_sources[name]
        raw = request.get_data()
        verdict = signatures.verify_api(
            raw,
            request.headers.get(signatures.API_SIGNATURE_HEADER),
            request.headers.get(signatures.API_TIMESTAMP_HEADER),
            source.secret,
            now=time.time(),
            tolerance_seconds=source.tolerance_seconds,
        )
        if not verdict:
            return jsonify({"error": verdict.reason}), 401
        result = api_channel.normalize(raw, source=source, **context())
        return jsonify(answer(result)), 400 if result.skipped else 200

    return app


@pytest.fixture
def base(accounts) -> Iterator[str]:
    with serve(receiver(accounts)) as url:
        yield url


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False
        yield s


def test_meta_subscription_and_signed_batches(base, session) -> None:
    assert meta_sim.subscribe(session, f"{base}/meta/main")
    assert not meta_sim.subscribe(session, f"{base}/meta/main", verify_token="guess")
    body = meta_sim.envelope(
        "page",
        meta_sim.entry(
            "682498302938465",
            1,
            messaging=[
                meta_sim.text_message("1", "682498302938465", "m_1", "héllo", 1_700_000_000_000),
                meta_sim.read_receipt("1", "682498302938465", 1_700_000_000_000, 1_700_000_000_001),
            ],
        ),
    )
    signed = meta_sim.delivery(body)
    for response in (d.send(session, f"{base}/meta/main") for d in redelivered(signed)):
        assert response.json() == {"messages": ["m_1"], "statuses": 1, "skipped": []}
    forged = meta_sim.delivery(body, app_secret="other_secret")
    assert forged.send(session, f"{base}/meta/main").status_code == 403


def test_x_crc_and_events(base, session) -> None:
    assert x_sim.crc_check(session, f"{base}/x/main")
    assert not x_sim.crc_check(session, f"{base}/x/main", consumer_secret="wrong")
    author = x_sim.user("3001969357", "furiouscamper", "Jordan Brinks")
    tweet = x_sim.tweet(
        "10",
        author,
        "@TwitterDev hi",
        1_600_000_000_000,
        mentions=[(x_sim.BRAND_ID, "TwitterDev", "Twitter Dev")],
    )
    response = x_sim.delivery(x_sim.envelope(tweet_create_events=[tweet])).send(
        session, f"{base}/x/main"
    )
    assert response.json()["messages"] == ["10"]


def test_telegram_secret_token(base, session) -> None:
    sender, chat = telegram_sim.private_chat(5, "Ann")
    update = telegram_sim.message_update(1, 9, sender, chat, 1_718_031_234, text="hi")
    url = f"{base}/telegram/{telegram_sim.BOT_ID}"
    assert telegram_sim.delivery(update).send(session, url).json()["messages"] == ["5:9"]
    assert telegram_sim.delivery(update, secret_token="wrong").send(session, url).status_code == 403
    assert telegram_sim.delivery(update, secret_token=None).send(session, url).status_code == 403


def test_api_channel(base, session) -> None:
    now = int(time.time())
    good = api_sim.delivery(
        api_sim.message("form-1", "user-42", "Where is my order?"), timestamp=now
    )
    assert good.send(session, f"{base}/api/webform").json()["messages"] == ["form-1"]
    stale = api_sim.delivery(api_sim.message("form-2", "u", "x"), timestamp=now - 3600)
    assert "more than 300s" in stale.send(session, f"{base}/api/webform").json()["error"]
    invalid = api_sim.delivery({"id": "form-3", "text": "no author"}, timestamp=now)
    assert invalid.send(session, f"{base}/api/webform").status_code == 400
