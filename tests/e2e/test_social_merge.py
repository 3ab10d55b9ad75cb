"""Scenario 2: one customer by email, a public comment and a Messenger DM, merged into one contact.

The agent merges the comment's and the DM's contacts into the email contact, sees the whole
history on one timeline, answers the comment publicly and the DM privately; the simulator
receives a comment reply and a Send API call; the webhooks then bring our own comment and
message back (echoes), which confirm delivery and never appear as customer messages.
"""

from __future__ import annotations

from tests.e2e import webhooks
from tests.e2e.mail import customer_mail, post_mime
from tests.e2e.system import PAGE_ID, SUPPORT, System
from tests.support.waiting import wait_for

CUSTOMER = "bob.e2e@customer.example"


def send_email(system: System) -> str:
    mail = customer_mail(
        f"Bob Builder <{CUSTOMER}>", SUPPORT, "Question about my invoice", "Charged twice?"
    )
    post_mime(system, mail.as_bytes(), SUPPORT)
    return mail["Message-ID"]


def conversation_with(system: System, channel: str, external_id: str) -> dict:
    """Wait for the conversation holding the message `external_id`; return it."""

    def found() -> dict | None:
        for listed in system.conversations(channel=channel):
            conversation = system.conversation(listed["id"])
            if any(m["external_id"] == external_id for m in conversation["messages"]):
                return conversation
        return None

    return wait_for(found, 30, interval=0.1, message=f"the {channel} conversation")


def graph_calls(system: System, path_part: str) -> list:
    return [c for c in system.sim.calls_to("graph") if path_part in c.path]


def test_comment_and_dm_under_one_contact_answered_and_echoed(system: System):
    email_id = send_email(system)
    post = webhooks.fresh_digits(15)
    comment = webhooks.page_comment(
        ("7301" + webhooks.fresh_digits(12), "Bob Builder"),
        post,
        webhooks.fresh_digits(15),
        "Still waiting for an answer about my invoice!",
    )
    psid = "7302" + webhooks.fresh_digits(12)
    dm = webhooks.messenger(psid, "Hi, it's Bob from the comment: my invoice number is 881.")
    comment.send(system)
    dm.send(system)

    by_email = conversation_with(system, "email", email_id)
    on_post = conversation_with(system, "facebook_comment", comment.external_id)
    in_dm = conversation_with(system, "messenger", dm.external_id)
    person = by_email["contact_id"]
    assert len({person, on_post["contact_id"], in_dm["contact_id"]}) == 3  # not merged by guess

    # The agent merges both social contacts into the email contact: one timeline.
    for source in (on_post["contact_id"], in_dm["contact_id"]):
        system.api("POST", f"/contacts/{person}/merge", {"source_id": source}, 201)
        assert system.api("GET", f"/contacts/{source}")["merged_into"] == person
    timeline = system.api("GET", f"/contacts/{person}/timeline")["items"]
    assert {email_id, comment.external_id, dm.external_id} <= {m["external_id"] for m in timeline}
    for conversation in (on_post, in_dm):
        assert system.conversation(conversation["id"])["contact_id"] == person

    # A public answer to the comment, a private one to the DM.
    (question,) = [m for m in on_post["messages"] if m["direction"] == "inbound"]
    public = system.reply(
        on_post["id"],
        "We have replied in private.",
        visibility="public",
        answers_message_id=question["id"],
    )
    (message,) = [m for m in in_dm["messages"] if m["direction"] == "inbound"]
    private = system.reply(in_dm["id"], "Refund on its way, Bob.", answers_message_id=message["id"])
    system.wait_delivery(on_post["id"], public["id"], "sent")
    system.wait_delivery(in_dm["id"], private["id"], "sent")

    (comment_call,) = graph_calls(system, f"/{comment.external_id}/comments")
    assert comment_call.status == 200 and comment_call.body["message"] == public["text"]
    (send_call,) = [
        c
        for c in graph_calls(system, f"/{PAGE_ID}/messages")
        if (c.body.get("recipient") or {}).get("id") == psid
    ]
    assert send_call.status == 200 and send_call.body["message"]["text"] == private["text"]

    # The echoes of both answers come back through the webhooks.
    new_comment = comment_call.response["id"].split("_", 1)[1]
    echoes = [
        webhooks.page_comment(
            (PAGE_ID, "Acme"), post, new_comment, public["text"], parent_id=comment.external_id
        ),
        webhooks.messenger_echo(psid, send_call.response["message_id"], private["text"]),
    ]
    for echo in echoes:
        echo.send(system)
    system.wait_drained("inbox.messages")
    for channel in ("facebook_comment", "messenger"):
        for listed in system.conversations(channel=channel):
            stored = {m["external_id"] for m in system.conversation(listed["id"])["messages"]}
            assert not stored & {e.external_id for e in echoes}, system.conversation(listed["id"])

    for conversation, reply in ((on_post, public), (in_dm, private)):
        messages = system.conversation(conversation["id"])["messages"]
        assert [m["direction"] for m in messages] == ["inbound", "outbound"], messages
        assert messages[1]["id"] == reply["id"]
        assert messages[1]["delivery_status"] == "sent"
    assert system.dead_letters() == {}
