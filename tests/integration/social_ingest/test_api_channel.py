"""The API channel: signed JSON from any source, all or nothing, as the README documents."""

from __future__ import annotations

import hashlib
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.social_ingest.conftest import JPEG
from tests.simulators import api_channel as sim
from tests.simulators.delivery import Delivery

README = Path(__file__).resolve().parents[3] / "services/social-ingest/README.md"


@pytest.fixture
def url(service) -> str:
    return f"{service}/webhooks/api/{sim.SOURCE}"


def test_one_message_with_html_and_an_attachment(http, url, bus, blobs, cdn):
    message = sim.message(
        "form-0001",
        "user-42",
        "Where is my order?",
        author={"id": "user-42", "name": "Jane Customer", "email": "jane@example.org"},
        html="<p>Where is <b>my</b> order?<script>alert(1)</script></p>",
        subject="Order 5521",
        sent_at="2024-06-10T14:53:54+00:00",
        thread={"root_id": "ticket-abc"},
        attachments=[{"url": f"{cdn.base}/photo.jpg", "filename": "receipt.jpg"}],
        metadata={"page": "/checkout"},
    )
    response = sim.delivery(message, int(time.time())).send(http, url)
    assert response.status_code == 200, response.text
    assert response.json()["messages"] == ["form-0001"]
    [event] = bus().messages
    assert (event["channel"], event["inbox"], event["visibility"]) == ("api", "webform", "private")
    assert event["author"] == {
        "external_id": "user-42",
        "handle": None,
        "display_name": "Jane Customer",
        "email": "jane@example.org",
    }
    assert "<script>" not in event["html"] and "<b>my</b>" in event["html"]
    assert event["thread"]["root_id"] == "ticket-abc"
    assert event["metadata"] == {"page": "/checkout"}
    [file] = event["attachments"]
    assert (file["filename"], file["sha256"]) == ("receipt.jpg", hashlib.sha256(JPEG).hexdigest())
    assert blobs.get(file["sha256"]) == JPEG


def test_a_batch_is_one_event_per_message(http, url, bus):
    batch = {"messages": [sim.message(f"b-{i}", "user-7", f"line {i}") for i in range(3)]}
    assert sim.delivery(batch, int(time.time())).send(http, url).status_code == 200
    assert [m["external_id"] for m in bus().messages] == ["b-0", "b-1", "b-2"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (
            {"messages": [sim.message("ok", "u", "fine"), {"id": "bad", "text": "no author"}]},
            "messages[1]",
        ),
        (sim.message("typo", "u", "x", visibilty="public"), "body"),
        (sim.message("naive", "u", "x", sent_at="2024-06-10T14:53:54"), "body"),
    ],
)
def test_a_body_off_the_schema_gets_400_and_nothing_is_published(http, url, bus, body, where):
    response = sim.delivery(body, int(time.time())).send(http, url)
    assert response.status_code == 400
    assert [e["where"] for e in response.json()["errors"]] == [where]
    published = bus()
    assert (published.messages, published.rejected) == ([], [])


def test_broken_json_gets_400(http, url, bus):
    now = int(time.time())
    body = b'{"id": "x", '
    headers = {"X-Switchboard-Timestamp": str(now), "X-Switchboard-Signature": sim.sign(body, now)}
    response = Delivery(body, headers).send(http, url)
    assert response.status_code == 400
    assert response.json()["errors"][0]["reason"].startswith("malformed JSON")
    assert bus().messages == []


def test_forged_stale_and_unsigned_requests_get_401(http, url, bus, archived):
    message = sim.message("f-1", "u", "x")
    now = int(time.time())
    genuine = sim.delivery(message, now)
    stale = sim.delivery(message, now - 301)
    replayed_with_new_time = Delivery(
        stale.body, {**stale.headers, "X-Switchboard-Timestamp": str(now)}
    )
    for forged in (
        sim.delivery(message, now, secret="guess"),
        stale,
        replayed_with_new_time,
        Delivery(genuine.body, {"Content-Type": "application/json"}),
        Delivery(genuine.body + b" ", genuine.headers),
    ):
        assert forged.send(http, url).status_code == 401
    assert bus().messages == [] and archived() == []


def test_an_unknown_source_gets_404(http, service):
    delivery = sim.delivery(sim.message("x", "u", "x"), int(time.time()))
    assert delivery.send(http, f"{service}/webhooks/api/nobody").status_code == 404


def test_the_readmes_curl_example_is_accepted(url, bus):
    [script] = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    script = script.replace("https://switchboard.example.com/webhooks/api/webform", url)
    script = script.replace("SECRET='the shared secret'", f"SECRET='{sim.SECRET}'")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.rstrip() + ' -o /dev/null -w "%{http_code}"'],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.stdout == "200", result.stderr
    [event] = bus().messages
    assert (event["external_id"], event["text"]) == ("form-0001", "Where is my order?")
