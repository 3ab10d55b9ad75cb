"""SIGKILL the notifier while it holds 100 unacknowledged jobs: after a restart every reply is
sent, and only the sends caught inside the documented window (the provider accepted, the
process died before recording it) reach the customer twice, each flagged as such.
"""

from __future__ import annotations

import collections

from tests.simulators.replies.faults import slow
from tests.support.waiting import wait_for
from tests.unit.notifier.reply_builders import email_reply, social_reply

HANG = 8.0


def test_sigkill_with_100_unacked_jobs_loses_none_and_flags_the_only_duplicates(
    notifier_process, jobs, smtp, sim, broker
):
    emails = [email_reply(text=f"email reply {i}") for i in range(60)]
    telegrams = [social_reply("telegram", text=f"telegram reply {i}") for i in range(40)]
    replies = emails + telegrams
    jobs.publish(*replies)
    # The first send on each channel reaches the provider and then hangs: the kill lands
    # between the provider's acceptance and our record of it.
    smtp.script(f"accept-then-hang:{HANG}")
    sim.inject("telegram", slow(HANG))
    # One consumer thread per queue, so each queue's other jobs wait behind its hung send.
    first = notifier_process(
        PREFETCH="100", CONSUMERS_PER_QUEUE="1", HTTP_READ_TIMEOUT="15", SMTP_TIMEOUT="15"
    )
    wait_for(lambda: len(smtp.messages) == 1, timeout=15, message="the first email accepted")
    wait_for(
        lambda: len([s for s in jobs.collect() if s["status"] == "sending"]) == 2,
        timeout=5,
        message="both first sends under way",
    )
    assert broker.depth("notifier.email") == 0 and broker.depth("notifier.telegram") == 0
    assert not [s for s in jobs.collect() if s["status"] == "sent"]
    first.kill()  # SIGKILL: 100 jobs unacknowledged, two of them inside the window

    notifier_process(PREFETCH="100")
    for reply in replies:
        jobs.wait_status(reply["reply_id"], "sent", timeout=60)

    # Count what the SMTP server and the Telegram simulator received, once the hung
    # requests of the killed process have been answered too.
    wait_for(lambda: len(sim.calls_to("telegram")) >= 41, timeout=HANG + 5)
    by_message_id = collections.Counter(m.parsed()["Message-ID"] for m in smtp.messages)
    by_text = collections.Counter(
        c.body["text"] for c in sim.calls_to("telegram") if c.status == 200
    )
    assert set(by_message_id) == {r["email"]["message_id"] for r in emails}
    assert set(by_text) == {r["text"] for r in telegrams}
    twice = {m for m, n in by_message_id.items() if n > 1} | {
        t for t, n in by_text.items() if n > 1
    }
    assert max([*by_message_id.values(), *by_text.values()]) == 2
    assert twice == {emails[0]["email"]["message_id"], telegrams[0]["text"]}

    flagged = {
        s["reply_id"] for s in jobs.collect() if s["status"] == "sent" and s["possible_duplicate"]
    }
    assert flagged == {emails[0]["reply_id"], telegrams[0]["reply_id"]}
    sent_counts = collections.Counter(
        s["reply_id"] for s in jobs.collect() if s["status"] == "sent"
    )
    assert set(sent_counts) == {r["reply_id"] for r in replies}
