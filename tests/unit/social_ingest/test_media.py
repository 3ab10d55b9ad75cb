"""Media fetching: allowed hosts only, size and time limits, redirects, id resolution."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from flask import Flask, Response, redirect, request

from social_ingest import media
from social_ingest.media import MediaPolicy, attach, fetch, url_refusal
from social_ingest.normalize import MediaRef
from switchboard_shared.blobstore import FilesystemBlobStore, sha256_hex
from switchboard_shared.schemas import MESSAGE_RECEIVED
from tests.simulators.replies import ReplySimulator, create_app
from tests.simulators.server import serve

JPEG = b"\xff\xd8\xff" + bytes(range(256)) * 40


def cdn(hits: list[str], other: str = "") -> Flask:
    """A stand-in CDN that records every path it is asked for."""
    app = Flask("cdn")

    @app.before_request
    def count() -> None:
        hits.append(request.path + (" auth" if request.headers.get("Authorization") else ""))

    @app.get("/photo.jpg")
    def photo() -> Response:
        return Response(JPEG, content_type="image/jpeg; charset=binary")

    @app.get("/stream")
    def stream() -> Response:
        return Response((b"x" * 65536 for _ in range(64)), content_type="video/mp4")

    @app.get("/declared")
    def declared() -> Response:
        return Response(b"x" * 2048, content_type="video/mp4")

    @app.get("/slow")
    def slow() -> Response:
        time.sleep(1)
        return Response(b"late")

    @app.get("/to-photo")
    def to_photo() -> Response:
        return redirect("/photo.jpg")

    @app.get("/to-other")
    def to_other() -> Response:
        return redirect(f"{other}/photo.jpg")

    return app


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False  # no proxy between the test and 127.0.0.1
        yield s


@pytest.fixture
def servers() -> Iterator[tuple[str, list[str], str, list[str]]]:
    other_hits: list[str] = []
    hits: list[str] = []
    with serve(cdn(other_hits)) as other, serve(cdn(hits, other)) as base:
        yield base, hits, other, other_hits


def test_fetches_from_an_allowed_host(servers, session) -> None:
    base, *_ = servers
    fetched = fetch(
        session, MediaRef(url=f"{base}/photo.jpg", content_type="image/png"), MediaPolicy((base,))
    )
    assert fetched.data == JPEG
    assert fetched.attachment == {
        "filename": "photo.jpg",
        "content_type": "image/jpeg",
        "size": len(JPEG),
        "sha256": sha256_hex(JPEG),
        "content_id": None,
        "inline": False,
        "unavailable_reason": None,
    }


def test_refuses_other_hosts_without_asking_them(servers, session) -> None:
    base, hits, other, other_hits = servers
    refused = fetch(session, MediaRef(url=f"{other}/photo.jpg"), MediaPolicy((base,)))
    assert refused.data is None and refused.attachment["sha256"] is None
    assert "not an allowed media host" in refused.attachment["unavailable_reason"]
    # A bare host entry means https on 443 only.
    https_only = fetch(session, MediaRef(url=f"{base}/photo.jpg"), MediaPolicy(("127.0.0.1",)))
    assert "(http) is not an allowed media host" in https_only.attachment["unavailable_reason"]
    assert other_hits == [] and hits == []


def test_redirects_are_checked_at_every_hop(servers, session) -> None:
    base, _, _, other_hits = servers
    assert fetch(session, MediaRef(url=f"{base}/to-photo"), MediaPolicy((base,))).data == JPEG
    away = fetch(session, MediaRef(url=f"{base}/to-other"), MediaPolicy((base,)))
    assert "not an allowed media host" in away.attachment["unavailable_reason"]
    assert other_hits == []


def test_credentials_do_not_follow_a_redirect_to_another_host(servers, session) -> None:
    base, _, other, other_hits = servers
    sim = ReplySimulator(whatsapp_tokens={"1": "wa-token"})
    sim.whatsapp_media["m1"] = (JPEG, "image/jpeg")
    with serve(create_app(sim)) as graph:
        policy = MediaPolicy(
            (graph, base, other), graph_token="wa-token", graph_api=f"{graph}/graph/v25.0"
        )
        fetched = fetch(session, MediaRef(url=None, kind="whatsapp_media", media_id="m1"), policy)
    assert fetched.data == JPEG and fetched.attachment["content_type"] == "image/jpeg"
    assert [c.headers.get("Authorization") for c in sim.calls] == ["Bearer wa-token"] * 2
    # Same origin keeps the header; a cross-origin redirect drops it.
    plain = media._download(
        session, f"{base}/to-other", MediaPolicy((base, other)), {"Authorization": "Bearer t"}
    )
    assert plain[0] == JPEG and other_hits == ["/photo.jpg"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/stream", "larger than 100000 bytes"), ("/declared", "larger than 1000 bytes")],
)
def test_size_limit(servers, session, path, reason) -> None:
    base, *_ = servers
    limit = 100_000 if path == "/stream" else 1000
    fetched = fetch(session, MediaRef(url=base + path), MediaPolicy((base,), max_bytes=limit))
    assert fetched.attachment["unavailable_reason"] == reason


def test_timeout_and_http_errors(servers, session) -> None:
    base, *_ = servers
    slow = fetch(session, MediaRef(url=f"{base}/slow"), MediaPolicy((base,), timeout=0.2))
    assert slow.attachment["unavailable_reason"] == "timed out after 0.2s"
    missing = fetch(
        session, MediaRef(url=f"{base}/nope.png", filename="n.png", size=10), MediaPolicy((base,))
    )
    assert missing.attachment["unavailable_reason"] == "HTTP 404"
    assert (missing.attachment["filename"], missing.attachment["size"]) == ("n.png", 10)
    closed = fetch(
        session, MediaRef(url="http://127.0.0.1:9/x"), MediaPolicy(("http://127.0.0.1:9",))
    )
    assert closed.attachment["unavailable_reason"] == "request failed: ConnectionError"


def test_telegram_files_resolve_with_get_file(session) -> None:
    token = "7000000001:AAH-test-token"
    sim = ReplySimulator(telegram_bots={token: (7000000001, "acme_bot")})
    sim.telegram_files["doc1"] = ("documents/file_7.pdf", b"%PDF-1.4")
    with serve(create_app(sim)) as base:
        policy = MediaPolicy((base,), telegram_token=token, telegram_api=f"{base}/telegram")
        ok = fetch(
            session,
            MediaRef(
                url=None, kind="telegram_file", media_id="doc1", content_type="application/pdf"
            ),
            policy,
        )
        bad = fetch(session, MediaRef(url=None, kind="telegram_file", media_id="gone"), policy)
    assert ok.data == b"%PDF-1.4" and ok.attachment["filename"] == "file_7.pdf"
    assert ok.attachment["content_type"] == "application/pdf"
    assert bad.attachment["unavailable_reason"] == "getFile failed: Bad Request: invalid file_id"
    no_token = fetch(
        session, MediaRef(url=None, kind="telegram_file", media_id="doc1"), MediaPolicy(())
    )
    assert (
        no_token.attachment["unavailable_reason"]
        == "cannot resolve telegram_file without its token"
    )


def test_attach_stores_bytes_and_lists_attachments(servers, session, tmp_path) -> None:
    base, *_ = servers
    store = FilesystemBlobStore(tmp_path, fsync=False)
    payload = {
        "channel": "messenger",
        "inbox": "1",
        "external_id": "m_1",
        "visibility": "private",
        "author": {"external_id": "2"},
        "text": "",
        "sent_at": "2025-01-01T00:00:00+00:00",
        "received_at": "2025-01-01T00:00:01+00:00",
        "raw_sha256": "0" * 64,
    }
    refs = [MediaRef(url=f"{base}/photo.jpg"), MediaRef(url="https://evil.example/x.exe")]
    attach(payload, refs, session, MediaPolicy((base,)), store)
    good, refused = payload["attachments"]
    assert store.get(good["sha256"]) == JPEG
    assert refused["sha256"] is None and refused["filename"] == "x.exe"
    MESSAGE_RECEIVED.validate(payload)


@pytest.mark.parametrize(
    ("url", "allowed", "ok"),
    [
        ("https://scontent.xx.fbcdn.net/v/a.jpg", ("*.fbcdn.net",), True),
        ("https://fbcdn.net/a.jpg", ("*.fbcdn.net",), False),
        ("https://evilfbcdn.net/a.jpg", ("*.fbcdn.net",), False),
        ("https://PBS.twimg.com./a.jpg", ("pbs.twimg.com",), True),
        ("https://pbs.twimg.com:8443/a.jpg", ("pbs.twimg.com",), False),
        ("https://user:pw@pbs.twimg.com/a.jpg", ("pbs.twimg.com",), False),
        ("http://pbs.twimg.com/a.jpg", ("pbs.twimg.com",), False),
        ("ftp://pbs.twimg.com/a.jpg", ("pbs.twimg.com",), False),
        ("https://pbs.twimg.com:99999/a.jpg", ("pbs.twimg.com",), False),
        ("http://127.0.0.1:8000/a", ("http://127.0.0.1:8000",), True),
        ("http://127.0.0.1:8001/a", ("http://127.0.0.1:8000",), False),
        ("/relative", ("pbs.twimg.com",), False),
    ],
)
def test_url_refusal(url, allowed, ok) -> None:
    assert (url_refusal(url, allowed) is None) is ok
