"""Uploading a file for a reply, and downloading a message's attachments."""

from __future__ import annotations

import io

from switchboard_shared.blobstore import FilesystemBlobStore
from switchboard_shared.schemas import REPLY_REQUESTED
from tests.integration.inbox.api_support import conversation_of, make_agent, receive
from tests.support.builders import message_received


def test_upload_reply_with_it_and_download_attachments(client, pool, db, inbox_settings):
    ann = make_agent(pool, "ann@example.com")
    blobs = FilesystemBlobStore(inbox_settings.blob.dir, fsync=False)
    # Packed with others, as email-ingest stores a mail's attachments.
    [invoice] = blobs.put_many([b"%PDF-1.4 invoice"])
    assert not blobs._path(invoice).exists()
    receive(
        pool,
        message_received(
            external_id="<att@example.net>",
            attachments=[
                {"filename": "invoice.pdf", "content_type": "application/pdf", "sha256": invoice},
                {"filename": "huge.mov", "unavailable_reason": "larger than 25 MiB"},
            ],
        ),
    )
    conversation = conversation_of(db, "<att@example.net>")
    detail = ann.get(client, f"/api/v1/conversations/{conversation}").get_json()
    by_name = {a["filename"]: a for a in detail["messages"][0]["attachments"]}
    download = ann.get(client, f"/api/v1/attachments/{by_name['invoice.pdf']['id']}")
    assert download.status_code == 200
    assert download.data == b"%PDF-1.4 invoice"
    assert download.mimetype == "application/pdf"
    missing = ann.get(client, f"/api/v1/attachments/{by_name['huge.mov']['id']}")
    assert missing.status_code == 404
    assert missing.get_json()["message"] == "larger than 25 MiB"

    upload = client.post(
        "/api/v1/attachments",
        headers=ann.headers,
        data={"file": (io.BytesIO(b"label data"), "label.png", "image/png")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201
    uploaded = upload.get_json()
    assert blobs.get(uploaded["sha256"]) == b"label data"
    reply = ann.send(
        client,
        "POST",
        f"/api/v1/conversations/{conversation}/replies",
        {"text": "Here is the label", "attachments": [uploaded]},
    )
    assert reply.status_code == 201
    assert [a["filename"] for a in reply.get_json()["attachments"]] == ["label.png"]
    (payload,) = [
        row[0]
        for row in db.execute(
            "SELECT payload FROM inbox.outbox WHERE event_type = %s", (REPLY_REQUESTED.header,)
        )
    ]
    assert payload["attachments"][0]["sha256"] == uploaded["sha256"]
