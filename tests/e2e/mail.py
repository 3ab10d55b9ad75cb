"""Customers' mail in the e2e scenarios: new mails, and the HTTP ingress an MTA pipe posts to."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import requests

from tests.e2e.system import INGRESS_TOKEN, System


def customer_mail(sender: str, to: str, subject: str, text: str) -> EmailMessage:
    """A new plain-text mail from `sender` ("Name <address>") with a fresh Message-ID."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate()
    message["Message-ID"] = make_msgid("e2e", domain="customer.example")
    message.set_content(text)
    return message


def post_mime(system: System, mail: bytes, recipient: str) -> None:
    """Deliver a raw mail through `POST /inbound/mime`, as the Postfix pipe does."""
    response = requests.post(
        f"{system.url('email-ingest')}/inbound/mime",
        params={"recipient": recipient},
        data=mail,
        headers={"Authorization": f"Bearer {INGRESS_TOKEN}", "Content-Type": "message/rfc822"},
        timeout=10,
    )
    assert response.status_code == 202, response.text
