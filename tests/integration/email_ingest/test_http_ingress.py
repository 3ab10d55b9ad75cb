"""The HTTP ingress against the real broker and database: every provider, every refusal."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest

import email_ingest
from email_ingest.app import create_app
from email_ingest.config import EmailIngestSettings
from switchboard_shared.blobstore import FilesystemBlobStore
from switchboard_shared.config import Secret, load_settings
from switchboard_shared.errors import ConfigError
from switchboard_shared.migrations import MigrationSet, upgrade
from tests.support import rabbitmq

TOKEN = "pipe-token-123"
MAILGUN_KEY = "test_signing_key"


@pytest.fixture(scope="module")
def migrated(database_url):
    upgrade(
        database_url,
        MigrationSet("email_ingest", str(Path(email_ingest.__file__).parent / "migrations")),
    )
    return database_url


@pytest.fixture
def settings(amqp_url, migrated, tmp_path):
    return load_settings(
        EmailIngestSettings,
        {
            "SWITCHBOARD_AMQP_URL": amqp_url,
            "SWITCHBOARD_AMQP_CONFIRM_TIMEOUT": "5",
            "SWITCHBOARD_DATABASE_URL": migrated,
            "SWITCHBOARD_BLOB_DIR": str(tmp_path / "blobs"),
            "SWITCHBOARD_BLOB_FSYNC": "false",
            "SWITCHBOARD_EMAIL_INGEST_INGRESS_TOKEN": TOKEN,
            "SWITCHBOARD_EMAIL_INGEST_MAX_MESSAGE_BYTES": "200000",
            "SWITCHBOARD_EMAIL_INGEST_MAILGUN_SIGNING_KEY": MAILGUN_KEY,
            "SWITCHBOARD_EMAIL_INGEST_SENDGRID_PASSWORD": "sg-pass",
            "SWITCHBOARD_EMAIL_INGEST_POSTMARK_PASSWORD": "pm-pass",
        },
    )


@pytest.fixture
def client(settings, broker):
    app = create_app(settings)
    yield app.test_client()
    app.extensions["email_ingest.pool"].close()


def raw_email(subject: str = "Where is my order?", body: str = "It has not arrived.") -> bytes:
    message = EmailMessage()
    message["From"] = "Jane Customer <jane@example.org>"
    message["To"] = "support@example.com"
    message["Subject"] = subject
    message["Date"] = "Fri, 01 Aug 2025 16:45:32 -0400"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.org>"
    message.set_content(body)
    return message.as_bytes()


def published(broker) -> list[dict]:
    return [json.loads(body) for _, body in broker.take_all("inbox.messages")]


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def mailgun_form(raw: bytes, timestamp: int | None = None, token: str | None = None) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    token = token or uuid.uuid4().hex
    signature = hmac.new(
        MAILGUN_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    return {
        "body-mime": raw.decode(),
        "recipient": "help@example.com",
        "timestamp": str(timestamp),
        "token": token,
        "signature": signature,
    }


def test_the_mime_pipe_archives_publishes_and_answers_202(client, broker, settings):
    raw = raw_email()
    response = client.post(
        "/inbound/mime?recipient=billing@example.com",
        data=raw,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 202, response.json
    [event] = published(broker)
    assert response.json["message_id"] == event["external_id"]
    assert event["inbox"] == "billing@example.com"
    assert event["author"]["email"] == "jane@example.org"
    assert event["subject"] == "Where is my order?"
    store = FilesystemBlobStore(settings.blob.dir)
    assert store.get(event["raw_sha256"]) == raw


@pytest.mark.parametrize(
    ("query", "header"),
    [
        ("", "support+billing@example.com"),
        ("?recipient=somebody%20else@example.com", "support+billing@example.com"),
        ("?recipient=support%2Bbilling%40example.com", None),
    ],
    ids=["header", "header-wins", "encoded-query"],
)
def test_the_mime_pipe_keeps_a_plus_address_recipient(client, broker, query, header):
    # Postfix does not URL-encode ${recipient}: its transport passes it in the header.
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if header is not None:
        headers["X-Switchboard-Recipient"] = header
    response = client.post(f"/inbound/mime{query}", data=raw_email(), headers=headers)
    assert response.status_code == 202, response.json
    [event] = published(broker)
    assert event["inbox"] == "support+billing@example.com"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}]
)
def test_the_mime_pipe_refuses_a_bad_token(client, broker, headers):
    response = client.post("/inbound/mime", data=raw_email(), headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == "missing or wrong bearer token"
    assert published(broker) == []


def test_an_oversized_email_gets_413(client, broker):
    raw = raw_email(body="x" * 400_000)
    response = client.post("/inbound/mime", data=raw, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 413
    assert response.json["limit_bytes"] == 200_000
    assert published(broker) == []


@pytest.mark.parametrize("body", [b"", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)])
def test_a_body_that_is_not_email_gets_400_with_the_reason(client, broker, body):
    response = client.post("/inbound/mime", data=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400
    assert response.is_json and response.json["error"]
    assert published(broker) == []


def test_mailgun_raw_mime_with_a_valid_signature(client, broker):
    response = client.post("/inbound/mailgun/mime", data=mailgun_form(raw_email()))
    assert response.status_code == 202, response.json
    [event] = published(broker)
    assert event["inbox"] == "help@example.com"


def test_mailgun_forged_stale_and_replayed_deliveries_get_401(client, broker):
    forged = {**mailgun_form(raw_email()), "signature": "0" * 64}
    assert client.post("/inbound/mailgun/mime", data=forged).status_code == 401
    stale = mailgun_form(raw_email(), timestamp=int(time.time()) - 10 * 3600)
    assert client.post("/inbound/mailgun/mime", data=stale).status_code == 401
    assert published(broker) == []
    first = mailgun_form(raw_email())
    assert client.post("/inbound/mailgun/mime", data=first).status_code == 202
    replay = client.post("/inbound/mailgun/mime", data=first)
    assert replay.status_code == 401
    assert "replay" in replay.json["error"]
    assert len(published(broker)) == 1


def test_mailgun_non_email_gets_406_so_it_is_not_retried(client, broker):
    form = mailgun_form(b"\x00\x01\x02 binary junk")
    assert client.post("/inbound/mailgun/mime", data=form).status_code == 406
    assert published(broker) == []


def test_sendgrid_raw_mode_with_basic_auth(client, broker):
    form = {
        "email": raw_email().decode(),
        "envelope": json.dumps({"to": ["sales@example.com"], "from": "jane@example.org"}),
    }
    assert client.post("/inbound/sendgrid", data=form).status_code == 401
    response = client.post("/inbound/sendgrid", data=form, headers=basic("sendgrid", "sg-pass"))
    assert response.status_code == 202, response.json
    [event] = published(broker)
    assert event["inbox"] == "sales@example.com"


POSTMARK_SAMPLE = {  # ../shared/channels.md section 4.1
    "FromName": "Jane Customer",
    "From": "jane@example.org",
    "FromFull": {"Email": "jane@example.org", "Name": "Jane Customer", "MailboxHash": ""},
    "To": '"Support" <support+ticket-8812@inbound.example.com>',
    "ToFull": [
        {
            "Email": "support+ticket-8812@inbound.example.com",
            "Name": "Support",
            "MailboxHash": "ticket-8812",
        }
    ],
    "Cc": "",
    "CcFull": [],
    "Bcc": "",
    "BccFull": [],
    "OriginalRecipient": "support+ticket-8812@inbound.example.com",
    "ReplyTo": "",
    "Subject": "Re: [#8812] Where is my order?",
    "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
    "MessageStream": "inbound",
    "Date": "Fri, 1 Aug 2014 16:45:32 -04:00",
    "MailboxHash": "ticket-8812",
    "TextBody": "Still nothing arrived.\n\nOn Thu, Support wrote:\n> Your order shipped.",
    "HtmlBody": "<p>Still nothing arrived.</p>",
    "StrippedTextReply": "Still nothing arrived.",
    "Tag": "",
    "Headers": [
        {"Name": "Message-ID", "Value": "<CAF=abc123@mail.gmail.com>"},
        {"Name": "In-Reply-To", "Value": "<conv-8812.msg-3@mail.example.com>"},
        {
            "Name": "References",
            "Value": "<CAF=first@mail.gmail.com> <conv-8812.msg-3@mail.example.com>",
        },
        {"Name": "X-Spam-Status", "Value": "No"},
    ],
    "Attachments": [
        {
            "Name": "receipt.txt",
            "Content": base64.b64encode(b"paid").decode(),
            "ContentType": "text/plain",
            "ContentLength": 4,
            "ContentID": "",
        }
    ],
}


def test_postmark_json_is_rebuilt_into_the_same_message(client, broker):
    assert client.post("/inbound/postmark", json=POSTMARK_SAMPLE).status_code == 401
    response = client.post(
        "/inbound/postmark", json=POSTMARK_SAMPLE, headers=basic("postmark", "pm-pass")
    )
    assert response.status_code == 202, response.json
    [event] = published(broker)
    assert event["external_id"] == "<CAF=abc123@mail.gmail.com>"
    assert event["thread"]["in_reply_to"] == "<conv-8812.msg-3@mail.example.com>"
    assert event["thread"]["references"] == [
        "<CAF=first@mail.gmail.com>",
        "<conv-8812.msg-3@mail.example.com>",
    ]
    assert event["inbox"] == "support+ticket-8812@inbound.example.com"
    assert event["author"]["display_name"] == "Jane Customer"
    assert event["text"].startswith("Still nothing arrived.")
    assert [a["filename"] for a in event["attachments"]] == ["receipt.txt"]
    assert event["attachments"][0]["sha256"] == hashlib.sha256(b"paid").hexdigest()


def test_postmark_garbage_gets_403_so_it_is_not_retried(client, broker):
    response = client.post(
        "/inbound/postmark",
        data=b"{not json",
        headers={**basic("postmark", "pm-pass"), "Content-Type": "application/json"},
    )
    assert response.status_code == 403
    assert published(broker) == []


def test_an_unreachable_broker_gets_503_with_retry_after(settings, broker, monkeypatch):
    unreachable = replace(
        settings,
        amqp=replace(
            settings.amqp, url=Secret("amqp://guest:guest@127.0.0.1:1/"), connect_timeout=1.0
        ),
    )
    app = create_app(unreachable)
    response = app.test_client().post(
        "/inbound/mime", data=raw_email(), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    app.extensions["email_ingest.pool"].close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert published(broker) == []


@pytest.mark.broker_restart
def test_the_broker_stopped_gives_503_and_nothing_is_acknowledged(client, broker):
    rabbitmq.stop_broker()
    try:
        response = client.post(
            "/inbound/mime", data=raw_email(), headers={"Authorization": f"Bearer {TOKEN}"}
        )
    finally:
        rabbitmq.start_broker()
    assert response.status_code == 503
    broker.close()
    assert published(broker) == []
    # Back up: the same app (no restart) accepts again.
    again = client.post(
        "/inbound/mime", data=raw_email(), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert again.status_code == 202


def test_the_ingress_refuses_to_start_without_its_token(settings):
    with pytest.raises(ConfigError, match="SWITCHBOARD_EMAIL_INGEST_INGRESS_TOKEN is required"):
        create_app(replace(settings, ingress_token=None))
