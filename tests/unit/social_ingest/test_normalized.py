"""What a normalizer's result does with a payload its bus schema refuses."""

from __future__ import annotations

from social_ingest.normalize import MediaRef, Normalized
from social_ingest.normalize.payload import message, party, status
from social_ingest.normalize.result import Context
from tests.unit.social_ingest.conftest import RECEIVED_AT

CTX = Context(RECEIVED_AT, "ab" * 32)


def _message(external_id: str) -> dict:
    return message(
        CTX,
        channel="api",
        inbox="webform",
        external_id=external_id,
        visibility="private",
        author=party("u1"),
        text="hi",
        sent_at=None,
    )


def test_invalid_payloads_become_skips_and_media_stay_with_their_message() -> None:
    result = Normalized()
    result.messages = [_message("ok-1"), {**_message("bad"), "channel": "fax"}, _message("ok-2")]
    result.message_paths = ["a", "b", "c"]
    result.media = {1: [MediaRef(url="https://x/1")], 2: [MediaRef(url="https://x/2")]}
    result.statuses = [
        status(CTX, channel="api", inbox="webform", status="read", occurred_at=None),
    ]
    result.status_paths = ["d"]
    result.drop_invalid()
    assert [m["external_id"] for m in result.messages] == ["ok-1", "ok-2"]
    assert result.media == {1: [MediaRef(url="https://x/2")]}
    assert result.statuses == []
    assert [(s.where, s.parked) for s in result.skipped] == [("b", True), ("d", True)]
    assert result.skipped[0].reason.startswith("normalized invalid message.received/1: channel")
    assert result.skipped[1].reason.startswith("normalized invalid delivery.status/1")
