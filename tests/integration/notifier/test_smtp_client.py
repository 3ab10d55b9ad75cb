"""The SMTP client against aiosmtpd: STARTTLS, implicit TLS, AUTH, a reused connection."""

from __future__ import annotations

import ssl
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notifier.clients.smtp import SmtpClient, SmtpSettings
from notifier.delivery_errors import PermanentFailure, TransientFailure
from notifier.email_message import build_message
from tests.simulators.replies.smtp_sink import smtp_sink
from tests.unit.notifier.reply_builders import email_reply, loaded


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and its key)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


def message():
    return build_message(loaded(email_reply()), datetime.now(UTC), lambda a: None)


def client(sink, **kwargs) -> SmtpClient:
    return SmtpClient(SmtpSettings(host=sink.host, port=sink.port, timeout=5, **kwargs))


def test_starttls_with_login(certificate):
    with smtp_sink(server_context(certificate), logins={"notifier": "s3cret"}) as sink:
        sender = client(
            sink, security="starttls", username="notifier", password="s3cret",
            ca_file=str(certificate[0]),
        )  # fmt: skip
        delivered = sender.send(*message())
        sender.close()
    assert len(sink.messages) == 1
    assert delivered.provider_message_id == sink.messages[0].parsed()["Message-ID"]


def test_a_wrong_password_is_permanent(certificate):
    with smtp_sink(server_context(certificate), logins={"notifier": "s3cret"}) as sink:
        sender = client(
            sink, security="starttls", username="notifier", password="wrong",
            ca_file=str(certificate[0]),
        )  # fmt: skip
        with pytest.raises(PermanentFailure, match="refused our login"):
            sender.send(*message())
    assert sink.messages == []


def test_an_untrusted_certificate_is_not_accepted(certificate):
    with (
        smtp_sink(server_context(certificate)) as sink,
        pytest.raises(TransientFailure, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client(sink, security="starttls").send(*message())


def test_implicit_tls(certificate):
    with smtp_sink(server_context(certificate), implicit_tls=True) as sink:
        sender = client(sink, security="tls", ca_file=str(certificate[0]))
        sender.send(*message())
        sender.close()
    assert len(sink.messages) == 1


def test_one_connection_serves_many_messages_and_a_stale_one_is_replaced():
    with smtp_sink() as sink:
        sender = client(sink)
        sender.send(*message())
        first = sender._connection
        sender.send(*message())
        assert sender._connection is first
        first.sock.close()  # as if the server had timed the idle connection out
        sender.send(*message())
        sender.close()
    assert len(sink.messages) == 3


def test_some_recipients_refused_still_sends_and_says_who(certificate):
    reply = email_reply()
    reply["email"]["cc"] = [{"email": "refuse5@example.org"}]
    with smtp_sink() as sink:
        delivered = client(sink).send(*build_message(loaded(reply), datetime.now(UTC), None))
    assert sink.messages[0].rcpt_tos == ("jane@example.org",)
    assert "refuse5@example.org (550" in delivered.detail


def test_every_recipient_deferred_is_transient():
    reply = email_reply()
    reply["email"].update(to=[{"email": "defer4@example.org"}], cc=[])
    with smtp_sink() as sink, pytest.raises(TransientFailure, match=r"450 4\.2\.1"):
        client(sink).send(*build_message(loaded(reply), datetime.now(UTC), None))
