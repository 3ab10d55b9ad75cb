"""Signature and handshake checks against channels.md's test vectors."""

from __future__ import annotations

import pytest

from social_ingest import signatures
from tests.simulators import api_channel as api_sim
from tests.simulators import meta as meta_sim
from tests.simulators import telegram as telegram_sim
from tests.simulators import x as x_sim

# channels.md 1.2: the body is ASCII with a \u00e9 escape, exactly as Meta sends it.
META_BODY = (
    b'{"object":"page","entry":[{"id":"1234","time":1700000000000,"messaging":[{"sender":'
    b'{"id":"5678"},"recipient":{"id":"1234"},"timestamp":1700000000000,"message":'
    b'{"mid":"m_abc","text":"h\\u00e9llo"}}]}]}'
)
META_SHA256 = "sha256=02a11d1266fbba95991c3aba91ee7ee884a440c3144e9bb7315cdcc20532d1af"
META_SHA1 = "sha1=7ea356d02473393fc608940fe9e8e97c7c7cf953"
X_BODY = b'{"for_user_id":"2244994945","tweet_create_events":[]}'
X_BODY_SIGNATURE = "sha256=Lss4bxd6weR99So6MmhnJFpNn8h7oFFhZH5um9Z5oF4="
X_CRC_TOKEN = "sha256=583uAmerwtjpykYEAEm+CEIRm6dOywK4QKRr0ha/Pd4="


def test_meta_vector_matches_and_simulator_agrees() -> None:
    assert signatures.meta_signature(META_BODY, "test_app_secret") == META_SHA256
    assert signatures.meta_signature_sha1(META_BODY, "test_app_secret") == META_SHA1
    headers = meta_sim.signature_headers(META_BODY)
    assert headers["X-Hub-Signature-256"] == META_SHA256
    assert headers["X-Hub-Signature"] == META_SHA1
    assert meta_sim.delivery(meta_sim.delivery(_meta_payload()).payload()).body == META_BODY


def _meta_payload() -> dict:
    return {
        "object": "page",
        "entry": [
            {
                "id": "1234",
                "time": 1700000000000,
                "messaging": [
                    meta_sim.text_message("5678", "1234", "m_abc", "héllo", 1700000000000)
                ],
            }
        ],
    }


@pytest.mark.parametrize(
    ("header", "ok", "reason"),
    [
        (META_SHA256, True, ""),
        (META_SHA256.upper().replace("SHA256=", "sha256="), True, ""),
        (META_SHA256[:-1] + "0", False, "does not match"),
        ("sha1=7ea356d02473393fc608940fe9e8e97c7c7cf953", False, "does not match"),
        (None, False, "missing"),
        ("", False, "missing"),
        ("sha256=é", False, "does not match"),
    ],
)
def test_verify_meta(header: str | None, ok: bool, reason: str) -> None:
    verdict = signatures.verify_meta(META_BODY, header, "test_app_secret")
    assert bool(verdict) is ok
    assert reason in verdict.reason


def test_meta_signature_covers_raw_bytes_not_reserialised_json() -> None:
    unescaped = META_BODY.replace(b"\\u00e9", "é".encode())
    assert not signatures.verify_meta(unescaped, META_SHA256, "test_app_secret")
    assert not signatures.verify_meta(META_BODY, META_SHA256, "wrong_secret")


def test_meta_handshake() -> None:
    good = meta_sim.handshake().query
    assert signatures.meta_challenge(good, "meatyhamhock") == "1158201444"
    wrong = meta_sim.handshake(verify_token="guess").query
    assert signatures.meta_challenge(wrong, "meatyhamhock") is None
    assert (
        signatures.meta_challenge(meta_sim.handshake(mode="unsubscribe").query, "meatyhamhock")
        is None
    )
    assert signatures.meta_challenge({"hub.mode": "subscribe"}, "meatyhamhock") is None
    script = meta_sim.handshake(challenge="<script>").query
    assert signatures.meta_challenge(script, "meatyhamhock") is None


def test_meta_handshake_replayed_against_another_app_is_refused() -> None:
    captured = meta_sim.handshake(verify_token="meatyhamhock").query
    assert signatures.meta_challenge(captured, "other_token") is None


def test_x_crc_vector() -> None:
    assert signatures.x_crc_response("challenge_string", "test_consumer_secret") == {
        "response_token": X_CRC_TOKEN
    }
    assert x_sim.sign(b"challenge_string") == X_CRC_TOKEN
    assert signatures.x_crc_response(None, "test_consumer_secret") is None
    assert signatures.x_crc_response("", "test_consumer_secret") is None


def test_x_body_signature_vector() -> None:
    assert signatures.x_signature(X_BODY, "test_consumer_secret") == X_BODY_SIGNATURE
    assert signatures.verify_x(X_BODY, X_BODY_SIGNATURE, "test_consumer_secret")
    assert (
        x_sim.delivery({"for_user_id": "2244994945", "tweet_create_events": []}).headers[
            "x-twitter-webhooks-signature"
        ]
        == X_BODY_SIGNATURE
    )
    forged = signatures.verify_x(X_BODY + b" ", X_BODY_SIGNATURE, "test_consumer_secret")
    assert not forged
    assert "does not match" in forged.reason
    assert "missing" in signatures.verify_x(X_BODY, None, "test_consumer_secret").reason
    # X signs in base64; a hex digest of the same HMAC is not accepted.
    hex_form = "sha256=" + signatures.meta_signature(X_BODY, "test_consumer_secret")[7:]
    assert not signatures.verify_x(X_BODY, hex_form, "test_consumer_secret")


def test_telegram_secret_token() -> None:
    headers = telegram_sim.delivery({"update_id": 1}).headers
    header = headers["X-Telegram-Bot-Api-Secret-Token"]
    assert signatures.verify_telegram(header, telegram_sim.SECRET_TOKEN)
    assert not signatures.verify_telegram(header + "x", telegram_sim.SECRET_TOKEN)
    assert "missing" in signatures.verify_telegram(None, telegram_sim.SECRET_TOKEN).reason
    assert not signatures.verify_telegram("ünïcode", telegram_sim.SECRET_TOKEN)


def test_api_channel_signature() -> None:
    sent = 1_700_000_000
    request = api_sim.delivery(api_sim.message("m1", "u1", "hi"), timestamp=sent)
    signature = request.headers["X-Switchboard-Signature"]
    stamp = request.headers["X-Switchboard-Timestamp"]
    assert signature == signatures.api_signature(request.body, api_sim.SECRET, sent)

    def check(
        body: bytes = request.body,
        sig: str | None = signature,
        ts: str | None = stamp,
        now: float = sent + 10,
    ):
        return signatures.verify_api(body, sig, ts, api_sim.SECRET, now=now, tolerance_seconds=300)

    assert check()
    assert "more than 300s" in check(now=sent + 301).reason
    assert "more than 300s" in check(now=sent - 301).reason
    assert "does not match" in check(body=request.body + b" ").reason
    # Replaying the body with a fresh timestamp fails: the timestamp is signed too.
    assert "does not match" in check(ts=str(sent + 200), now=sent + 200).reason
    assert "missing" in check(sig=None).reason
    assert "missing" in check(ts=None).reason
    assert "not a Unix time" in check(ts="soon").reason
