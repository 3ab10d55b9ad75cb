"""The social-ingest service on a real port, against the test vhost, with media servers.

`service` is the base URL of the receiver (create_app served by werkzeug in a thread);
`cdn` and `elsewhere` are two file servers, only the first of them an allowed media host;
`reply_api` serves the Graph media and Telegram getFile endpoints from tests/simulators.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from flask import Flask, Response, request

from social_ingest.app import create_app
from social_ingest.config import SocialIngestSettings, load_service_accounts
from switchboard_shared.blob_pack import records
from switchboard_shared.blobstore import FilesystemBlobStore
from switchboard_shared.config import load_settings
from tests.simulators.accounts import ENVIRON, accounts_data
from tests.simulators.replies import ReplySimulator
from tests.simulators.replies import create_app as reply_app
from tests.simulators.server import serve
from tests.simulators.telegram import BOT_TOKEN

MAX_BODY_BYTES = 64 * 1024
MEDIA_MAX_BYTES = 100_000
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20
WHATSAPP_MEDIA_ID = "1037543291543636"
WHATSAPP_IMAGE = b"\x89PNG\r\n\x1a\n" + b"wa" * 300
TELEGRAM_FILE_ID = "AgACAgQAAxkBAAIBYmZ"
TELEGRAM_PHOTO = b"\xff\xd8\xff\xe1" + b"tg" * 300


@dataclass
class FileServer:
    """A stand-in CDN: serves a photo and an oversized file, and records every request."""

    base: str = ""
    hits: list[str] = field(default_factory=list)

    def app(self) -> Flask:
        app = Flask("cdn")

        @app.before_request
        def record() -> None:
            self.hits.append(request.path)

        @app.get("/photo.jpg")
        def photo() -> Response:
            return Response(JPEG, content_type="image/jpeg")

        @app.get("/huge.bin")
        def huge() -> Response:
            return Response(b"x" * (MEDIA_MAX_BYTES + 1), content_type="video/mp4")

        return app


def _running(server: FileServer) -> Iterator[FileServer]:
    with serve(server.app()) as base:
        server.base = base
        yield server


@pytest.fixture(scope="module")
def cdn() -> Iterator[FileServer]:
    """The allowed media host of Meta, X and the API source."""
    yield from _running(FileServer())


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[FileServer]:
    """A host no account allows: a payload naming it must not make us call it."""
    yield from _running(FileServer())


@pytest.fixture(scope="module")
def reply_api() -> Iterator[str]:
    """The Graph API (WhatsApp media) and Telegram Bot API (getFile) simulators."""
    sim = ReplySimulator(
        whatsapp_tokens={"106540352242922": ENVIRON["WA_TOKEN"]},
        telegram_bots={BOT_TOKEN: (7000000001, "acme_bot")},
    )
    sim.whatsapp_media[WHATSAPP_MEDIA_ID] = (WHATSAPP_IMAGE, "image/png")
    sim.telegram_files[TELEGRAM_FILE_ID] = ("photos/file_3.jpg", TELEGRAM_PHOTO)
    with serve(reply_app(sim)) as base:
        yield base


@pytest.fixture
def settings(amqp_url, tmp_path, cdn, reply_api) -> SocialIngestSettings:
    """Settings as an operator writes them, with the accounts file on disk."""
    accounts_file = tmp_path / "accounts.json"
    hosts = {"meta": [cdn.base], "x": [cdn.base], "whatsapp": [reply_api], "telegram": [reply_api]}
    accounts_file.write_text(json.dumps(accounts_data(hosts, api_media_hosts=(cdn.base,))))
    return load_settings(
        SocialIngestSettings,
        {
            "SWITCHBOARD_AMQP_URL": amqp_url,
            "SWITCHBOARD_AMQP_CONFIRM_TIMEOUT": "5",
            "SWITCHBOARD_AMQP_CONNECT_TIMEOUT": "2",
            "SWITCHBOARD_BLOB_DIR": str(tmp_path / "blobs"),
            "SWITCHBOARD_BLOB_FSYNC": "false",
            "SWITCHBOARD_SOCIAL_INGEST_ACCOUNTS_FILE": str(accounts_file),
            "SWITCHBOARD_SOCIAL_INGEST_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            "SWITCHBOARD_SOCIAL_INGEST_MEDIA_MAX_BYTES": str(MEDIA_MAX_BYTES),
            "SWITCHBOARD_SOCIAL_INGEST_MEDIA_TIMEOUT": "5",
            "SWITCHBOARD_SOCIAL_INGEST_GRAPH_API_URL": f"{reply_api}/graph/v25.0",
            "SWITCHBOARD_SOCIAL_INGEST_TELEGRAM_API_URL": f"{reply_api}/telegram",
        },
    )


@pytest.fixture
def service(settings, broker) -> Iterator[str]:
    """The receiver's base URL, its queues empty."""
    app = create_app(settings, load_service_accounts(settings, ENVIRON))
    with serve(app) as base:
        yield base


@pytest.fixture
def blobs(settings) -> FilesystemBlobStore:
    """The blob store the service archives into."""
    return FilesystemBlobStore(settings.blob.dir, fsync=False)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """The networks' side of the connection."""
    with requests.Session() as session:
        session.trust_env = False
        yield session


@dataclass
class Published:
    """Everything the service put on the bus, taken off the queues in publish order."""

    messages: list[dict]
    statuses: list[dict]
    rejected: list[dict]
    headers: list[dict]

    def by_id(self) -> dict[str, dict]:
        """Messages by external id."""
        return {m["external_id"]: m for m in self.messages}


@pytest.fixture
def bus(broker):
    """Call it to take what was published so far."""

    def take() -> Published:
        messages = broker.take_all("inbox.messages")
        statuses = broker.take_all("inbox.statuses")
        rejected = broker.take_all("switchboard.rejected")
        return Published(
            [json.loads(body) for _, body in messages],
            [json.loads(body) for _, body in statuses],
            [json.loads(body) for _, body in rejected],
            [props.headers for props, _ in messages + statuses],
        )

    return take


@pytest.fixture
def archived(settings):
    """Call it to list the sha256 of every copy of a blob stored so far (raw bodies, media)."""

    def blobs() -> list[str]:
        root = Path(settings.blob.dir)
        names = [p.name for p in root.rglob("*") if p.is_file() and ".packs" not in p.parts]
        for pack in root.glob(".packs/*.pack"):
            names += [raw.hex() for raw, _, _ in records(pack.read_bytes())]
        return names

    return blobs
