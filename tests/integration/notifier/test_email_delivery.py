"""Email replies through the whole notifier to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from datetime import datetime

from switchboard_shared.blobstore import FilesystemBlobStore
from tests.support.waiting import wait_for
from tests.unit.notifier.reply_builders import email_reply


def test_an_email_reply_is_sent_once_with_its_threading_headers(notifier, jobs, smtp):
    notifier()
    reply = email_reply()
    jobs.publish(reply)
    sent = jobs.wait_status(reply["reply_id"], "sent")
    assert sent["external_ids"] == [reply["email"]["message_id"]]
    assert [s["status"] for s in jobs.of(reply["reply_id"])] == ["sending", "sent"]
    (received,) = smtp.messages
    assert received.mail_from == "support@acme.example"
    assert received.rcpt_tos == ("jane@example.org", "ops@example.org")
    parsed = received.parsed()
    assert parsed["Message-ID"] == reply["email"]["message_id"]
    assert parsed["In-Reply-To"] == "<CAF=abc123@mail.gmail.com>"
    assert parsed["References"].split()[-1] == "<CAF=abc123@mail.gmail.com>"
    assert parsed["Reply-To"] == reply["email"]["reply_to"]["email"]
    assert parsed["From"].addresses[0].display_name == "Grace Hopper (Acme Support)"
    assert parsed["Subject"] == "Re: [#8812] Where is my order?"
    assert parsed["Auto-Submitted"] is None
    assert parsed["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert parsed.get_body(("html",)) is not None and parsed.get_body(("plain",)) is not None


def test_attachments_are_read_from_the_blob_store(notifier, notifier_env, jobs, smtp):
    blobs = FilesystemBlobStore(notifier_env["SWITCHBOARD_BLOB_DIR"], fsync=False)
    sha = blobs.put(b"%PDF-1.4 the invoice")
    notifier()
    reply = email_reply(
        attachments=[{"filename": "invoice.pdf", "content_type": "application/pdf", "sha256": sha}]
    )
    jobs.publish(reply)
    jobs.wait_status(reply["reply_id"], "sent")
    (attachment,) = smtp.messages[0].parsed().iter_attachments()
    assert attachment.get_filename() == "invoice.pdf"
    assert attachment.get_content() == b"%PDF-1.4 the invoice"


def test_a_missing_attachment_fails_the_reply_at_once(notifier, jobs, smtp, broker):
    notifier()
    reply = email_reply(attachments=[{"filename": "gone.pdf", "sha256": "ab" * 32}])
    jobs.publish(reply)
    failed = jobs.wait_status(reply["reply_id"], "failed")
    assert "gone.pdf" in failed["reason"] and "blob store" in failed["reason"]
    broker.wait_depth("notifier.email.dlq", 1)
    assert smtp.messages == []


def test_a_4xx_answer_is_retried_and_then_sent(notifier, jobs, smtp):
    smtp.script("451 4.3.0 Mail server temporarily rejected message")
    notifier()
    reply = email_reply()
    jobs.publish(reply)
    retrying = jobs.wait_status(reply["reply_id"], "retrying")
    assert "451 4.3.0 Mail server temporarily rejected message" in retrying["reason"]
    assert retrying["attempt"] == 1
    next_at = datetime.fromisoformat(retrying["next_attempt_at"])
    assert 0 < (next_at - datetime.fromisoformat(retrying["occurred_at"])).total_seconds() <= 2
    sent = jobs.wait_status(reply["reply_id"], "sent")
    assert sent["possible_duplicate"] is False
    assert len(smtp.messages) == 1


def test_a_5xx_answer_fails_at_once_with_the_servers_text(notifier, jobs, smtp, broker):
    smtp.script("554 5.7.1 Message rejected as spam")
    notifier()
    reply = email_reply()
    jobs.publish(reply)
    failed = jobs.wait_status(reply["reply_id"], "failed")
    assert "554 5.7.1 Message rejected as spam" in failed["reason"]
    broker.wait_depth("notifier.email.dlq", 1)
    assert [s["status"] for s in jobs.of(reply["reply_id"])] == ["sending", "failed"]


def test_every_recipient_refused_permanently_fails_with_the_servers_text(notifier, jobs, smtp):
    notifier()
    reply = email_reply()
    reply["email"].update(to=[{"email": "refuse5@example.org"}], cc=[])
    jobs.publish(reply)
    failed = jobs.wait_status(reply["reply_id"], "failed")
    assert "550 5.1.1 No such user here" in failed["reason"]


def test_a_connection_dropped_during_data_is_retried_and_flagged(notifier, jobs, smtp):
    smtp.script("drop")
    notifier()
    reply = email_reply()
    jobs.publish(reply)
    retrying = jobs.wait_status(reply["reply_id"], "retrying")
    assert "dropped" in retrying["reason"]
    sent = jobs.wait_status(reply["reply_id"], "sent")
    # The server might have kept the message it was sent before the drop.
    assert sent["possible_duplicate"] is True


def test_an_unreachable_server_is_retried(notifier, jobs, smtp):
    from tests.simulators.replies.smtp_sink import free_port

    notifier(SMTP_PORT=str(free_port()))
    reply = email_reply()
    jobs.publish(reply)
    retrying = jobs.wait_status(reply["reply_id"], "retrying")
    assert "cannot reach the SMTP server" in retrying["reason"]


def test_a_redelivered_job_for_a_sent_reply_only_announces_it_again(notifier, jobs, smtp):
    notifier()
    reply = email_reply()
    jobs.publish(reply)
    jobs.wait_status(reply["reply_id"], "sent")
    jobs.publish(reply)
    wait_for(
        lambda: [s["status"] for s in jobs.of(reply["reply_id"])] == ["sending", "sent", "sent"],
        message="the second sent",
    )
    assert len(smtp.messages) == 1
