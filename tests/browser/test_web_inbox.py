"""The web inbox in a real browser over the real API, worker, broker and database."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from switchboard_shared.publisher import Publisher
from switchboard_shared.schemas import DELIVERY_STATUS, MESSAGE_RECEIVED, Event
from tests.browser.conftest import Inbox, RecordedPage
from tests.support.builders import delivery_status, message_received

expect.set_options(timeout=20_000)

CUSTOMER = {
    "external_id": "lin@example.net",
    "email": "lin@example.net",
    "display_name": "Lin Customer",
}
FIRST_ID = "<first-7c1d@mail.example.net>"
# Sanitized upstream, but the page must not rely on it: a script, an event handler on an
# image that fails to load, and a tracking pixel on another host.
HOSTILE_HTML = (
    '<p id="customer-html">Here is a photo of the broken part.</p>'
    '<script>parent.__customerScriptRan = "script";</script>'
    '<img src="/no-such-image.png" onerror="parent.__customerScriptRan = \'onerror\'">'
    '<img src="https://tracker.example.org/pixel.gif">'
)
# The HTML email's frame, and whether its failing image has been handled.
EMAIL_WINDOW = "document.querySelector('iframe.message-html').contentWindow"
IMAGE_HANDLED = f"""() => {{
    const image = {EMAIL_WINDOW}.document.querySelector('img[src="/no-such-image.png"]');
    return image !== null && image.complete;
}}"""


def publish(amqp_settings, event: Event) -> None:
    publisher = Publisher(amqp_settings)
    try:
        publisher.publish_many([event])
    finally:
        publisher.close()


def customer_writes(amqp_settings, **overrides) -> None:
    """An email from the customer reaches the bus, as email-ingest would publish it."""
    publish(amqp_settings, Event(MESSAGE_RECEIVED, message_received(author=CUSTOMER, **overrides)))


def notifier_reports(amqp_settings, reply_id: str, status: str) -> None:
    """The notifier's delivery report for one of our email replies."""
    payload = delivery_status(
        channel="email",
        inbox="support@example.com",
        status=status,
        reply_id=reply_id,
        external_ids=[f"<{reply_id}@inbox.example.com>"],
        occurred_at=datetime.now(UTC),
    )
    publish(amqp_settings, Event(DELIVERY_STATUS, payload))


def sign_in(page: Page, inbox: Inbox) -> None:
    page.goto(inbox.base_url)
    page.get_by_label("Email").fill(inbox.agent_email)
    page.get_by_label("Password").fill(inbox.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#me")).to_have_text("Grace")
    expect(page.locator("#live")).to_have_attribute("data-state", "on")


def send(page: Page, text: str) -> None:
    page.get_by_label("Reply or note").fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def test_an_agent_answers_a_new_customer_live_and_safely(
    inbox: Inbox, recorded_page: RecordedPage, amqp_settings
):
    page = recorded_page.page
    sign_in(page, inbox)
    expect(page.locator("#list-empty")).to_be_visible()
    page.evaluate("window.__sameDocument = true")

    customer_writes(
        amqp_settings,
        external_id=FIRST_ID,
        subject="The blender arrived broken",
        text="The lid is cracked.\nCan you send a new one?",
    )
    # Live: the new conversation appears without a reload.
    item = page.locator(".conversation-item", has_text="Lin Customer")
    expect(item).to_contain_text("The blender arrived broken")
    item.get_by_role("link").click()
    expect(page.locator("#subject")).to_have_text("The blender arrived broken")
    inbound = page.locator(".message.inbound")
    expect(inbound.first.locator(".message-text")).to_have_text(
        "The lid is cracked.\nCan you send a new one?"
    )
    expect(inbound.first.locator(".thread-reason")).to_contain_text("Threaded:")

    customer_writes(
        amqp_settings,
        subject="Re: The blender arrived broken",
        text="Here is a photo of the broken part.",
        html=HOSTILE_HTML,
        thread={"in_reply_to": FIRST_ID, "references": [FIRST_ID]},
    )
    # The open conversation shows the customer's HTML email as it arrives...
    expect(inbound).to_have_count(2)
    frame = inbound.nth(1).frame_locator("iframe.message-html")
    expect(frame.locator("#customer-html")).to_have_text("Here is a photo of the broken part.")
    expect(inbound.nth(1).locator(".thread-reason")).to_contain_text(FIRST_ID)
    # ...and once its failing image has been handled, nothing of it has run.
    page.wait_for_function(IMAGE_HANDLED)
    assert page.evaluate("window.__customerScriptRan") is None
    assert page.evaluate(f"{EMAIL_WINDOW}.__customerScriptRan") is None

    send(page, "Sorry about that! A new lid is on its way.")
    reply = page.locator(".message.outbound", has_text="A new lid is on its way.")
    expect(reply.locator(".delivery")).to_have_text("queued")
    expect(page.get_by_label("Reply or note")).to_have_value("")
    # The notifier's report arrives on the bus; the reply's state follows live.
    notifier_reports(amqp_settings, reply.get_attribute("data-message-id"), "sent")
    expect(reply.locator(".delivery")).to_have_text("sent")

    # The customer writes again while the agent types: sending asks to read it first.
    page.get_by_label("Reply or note").fill("Could you tell me your order number?")
    customer_writes(
        amqp_settings,
        subject="Re: The blender arrived broken",
        text="Also, the base wobbles.",
        thread={"in_reply_to": FIRST_ID, "references": [FIRST_ID]},
    )
    expect(inbound).to_have_count(3)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#collision")).to_be_visible()
    page.get_by_role("button", name="Send anyway").click()
    expect(page.locator(".message.outbound", has_text="order number")).to_be_visible()
    expect(page.locator("#collision")).to_be_hidden()

    page.get_by_role("radio", name="Note").check()
    send(page, "Reseller account: check stock first.")
    note = page.locator(".message.note", has_text="Reseller account")
    expect(note).to_contain_text("internal note")
    expect(note.locator(".delivery")).to_have_count(0)

    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator("#assignee")).to_have_text("Assigned to you")
    expect(item).to_contain_text("Grace")

    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#status")).to_have_text("resolved")
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    expect(page.locator(".conversation-item")).to_have_count(0)  # the list shows open ones
    page.get_by_label("Status").select_option("resolved")
    page.get_by_label("Assignee").select_option("me")
    expect(item).to_contain_text("resolved")
    page.get_by_label("Assignee").select_option("unassigned")
    expect(page.locator("#list-empty")).to_be_visible()

    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert recorded_page.errors == []
    # Chromium reports a request the page's policy refused as requested, then failed "csp".
    assert recorded_page.left_the_browser(inbox.base_url) == []
    assert recorded_page.failures["https://tracker.example.org/pixel.gif"] == "csp"
    assert any(re.search(r"/api/v1/events$", u) for u in recorded_page.requests)
