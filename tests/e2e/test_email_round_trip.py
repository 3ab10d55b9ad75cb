"""Scenario 1: a customer's email, the agent's answer over SMTP, and the customer's replies to it.

The mail goes into Dovecot by IMAP APPEND and the IMAP poller fetches it; the customer's answer
is built with the email library from what the SMTP server received, exactly as a mail client
would (Reply-To, Re: subject, In-Reply-To, References), and reaches Dovecot the same way.
"""

from __future__ import annotations

from email.message import EmailMessage, Message
from email.utils import formatdate, make_msgid, parseaddr

from tests.e2e.mail import customer_mail
from tests.e2e.system import SUPPORT, System
from tests.integration.email_ingest.imap_harness import append_mails
from tests.simulators.replies.smtp_sink import Received
from tests.support.waiting import wait_for

CUSTOMER = "alice.e2e@customer.example"


def first_mail() -> bytes:
    return customer_mail(
        f"Alice Example <{CUSTOMER}>",
        SUPPORT,
        "My parcel never arrived",
        "Hello, order 4711 has not arrived yet. Can you check?\n\nAlice",
    ).as_bytes()


def answer_to(received: Message, text: str) -> bytes:
    """The customer's mail client replying to a mail it received."""
    answer = EmailMessage()
    answer["From"] = received["To"]
    answer["To"] = received["Reply-To"] or received["From"]
    subject = received["Subject"]
    answer["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    answer["Date"] = formatdate()
    answer["Message-ID"] = make_msgid("answer", domain="customer.example")
    answer["In-Reply-To"] = received["Message-ID"]
    answer["References"] = " ".join(filter(None, [received["References"], received["Message-ID"]]))
    quoted = "\n".join(
        f"> {line}" for line in received.get_body(("plain",)).get_content().splitlines()
    )
    answer.set_content(f"{text}\n\nOn {received['Date']}, support wrote:\n{quoted}\n")
    return answer.as_bytes()


def mail_to(system: System, address: str, count: int) -> list[Received]:
    """Wait until the SMTP server holds `count` mails for `address`; return them."""

    def arrived() -> list[Received] | None:
        mails = [m for m in system.smtp.messages if address in m.rcpt_tos]
        return mails if len(mails) >= count else None

    return wait_for(arrived, 30, interval=0.1, message=f"{count} mail(s) to {address}")


def conversations_of(system: System, email: str) -> list[dict]:
    return [c for c in system.conversations(channel="email") if c["contact_email"] == email]


def inbound(conversation: dict) -> list[dict]:
    return [m for m in conversation["messages"] if m["direction"] == "inbound"]


def wait_inbound(system: System, conversation_id: str, count: int) -> dict:
    """Wait until the conversation holds `count` customer messages; return it."""

    def arrived() -> dict | None:
        conversation = system.conversation(conversation_id)
        return conversation if len(inbound(conversation)) >= count else None

    return wait_for(arrived, 30, interval=0.1, message=f"{count} inbound in {conversation_id}")


def test_email_round_trip_threads_resolves_and_reopens(system: System):
    mailbox = system.mailboxes[SUPPORT]
    append_mails(mailbox, [first_mail()])

    # The agent sees one conversation with the customer's mail.
    (listed,) = wait_for(
        lambda: conversations_of(system, CUSTOMER), 30, interval=0.1, message="the conversation"
    )
    conversation_id = listed["id"]
    (question,) = inbound(system.conversation(conversation_id))
    assert "order 4711" in question["text"]

    # The agent answers; the SMTP server receives it, threaded under the customer's mail.
    reply = system.reply(
        conversation_id, "We are on it: it ships today.", answers_message_id=question["id"]
    )
    (sent,) = mail_to(system, CUSTOMER, 1)
    received = sent.parsed()
    assert parseaddr(received["To"])[1] == CUSTOMER
    assert parseaddr(received["From"])[1] == SUPPORT
    assert received["In-Reply-To"] == question["external_id"]
    assert question["external_id"] in received["References"]
    assert received["Message-ID"] == reply["email_message_id"]
    assert "it ships today" in received.get_body(("plain",)).get_content()
    system.wait_delivery(conversation_id, reply["id"], "sent")

    # The customer answers the mail they received: it joins the same conversation.
    append_mails(mailbox, [answer_to(received, "Thank you!")])
    conversation = wait_inbound(system, conversation_id, 2)
    thanks = inbound(conversation)[-1]
    assert thanks["text"].startswith("Thank you!")
    assert "In-Reply-To" in (thanks["thread_reason"] or ""), thanks["thread_reason"]
    assert [c["id"] for c in conversations_of(system, CUSTOMER)] == [conversation_id]

    # Resolved, then reopened by a later answer in the same thread.
    resolved = system.api("PUT", f"/conversations/{conversation_id}/status", {"status": "resolved"})
    assert resolved["status"] == "resolved"
    append_mails(
        mailbox, [answer_to(received, "Sorry, one more question: can I change the address?")]
    )
    conversation = wait_inbound(system, conversation_id, 3)
    assert conversation["status"] == "open"
    assert [c["id"] for c in conversations_of(system, CUSTOMER)] == [conversation_id]
    assert len(mail_to(system, CUSTOMER, 1)) == 1  # the answer was sent once
