"""Threading rules: clues an email carries, and which conversation admits its sender."""

from __future__ import annotations

from inbox.conversation_matching import (
    ConversationRef,
    email_clues,
    match_email,
    plus_address,
    references_for_reply,
    subject_with_token,
)

OURS = ConversationRef("conv-1", "contact-ada", "abcdefgh", "open", {"ada@x.example"})


def payload(**fields) -> dict:
    return {"subject": None, "thread": {}, "recipients": {}, **fields}


def test_clues_put_in_reply_to_first_then_the_newest_reference():
    clues = email_clues(
        payload(thread={"in_reply_to": "<c@x>", "references": ["<a@x> <b@x>", "<c@x>"]})
    )
    assert clues.message_ids == (
        ("In-Reply-To", "<c@x>"),
        ("References", "<b@x>"),
        ("References", "<a@x>"),
    )


def test_tokens_come_from_the_subject_and_plus_addresses():
    clues = email_clues(
        payload(
            subject="Re: Re: [#ABCDEFGH] hello",
            recipients={"cc": [{"email": "Support+abcdefgh@Example.com"}]},
        )
    )
    assert clues.tokens == (
        ("abcdefgh", "subject"),
        ("abcdefgh", "address support+abcdefgh@example.com"),
    )


def test_a_participant_joins_by_reference_and_a_stranger_does_not():
    clues = email_clues(payload(thread={"in_reply_to": "<m@x>"}))
    joined = match_email(clues, "ada@x.example", "contact-other", {"<m@x>": OURS}, {})
    assert joined.conversation is OURS
    refused = match_email(clues, "eve@y.example", "contact-eve", {"<m@x>": OURS}, {})
    assert refused.conversation is None
    assert "not a participant" in refused.reason


def test_the_contact_joins_even_from_a_new_address():
    clues = email_clues(payload(subject="[#abcdefgh]"))
    match = match_email(clues, "ada@new.example", "contact-ada", {}, {"abcdefgh": OURS})
    assert match.conversation is OURS
    assert "in the subject" in match.reason


def test_unknown_references_start_a_new_conversation_saying_so():
    clues = email_clues(payload(thread={"in_reply_to": "<gone@x>"}))
    assert "none of the referenced" in match_email(clues, "a@x", "c", {}, {}).reason
    assert "references no earlier" in match_email(email_clues(payload()), "a@x", "c", {}, {}).reason


def test_reply_subjects_and_addresses_carry_the_token_once():
    assert subject_with_token("Broken", "abcdefgh") == "Re: Broken [#abcdefgh]"
    assert subject_with_token("RE: Broken [#abcdefgh]", "abcdefgh") == "RE: Broken [#abcdefgh]"
    assert plus_address("support+old@example.com", "abcdefgh") == "support+abcdefgh@example.com"


def test_references_of_a_reply_end_with_the_answered_message():
    chain = [f"<{n}@x>" for n in range(30)]
    references = references_for_reply("<30@x>", chain)
    assert references[-1] == "<30@x>"
    assert len(references) == 20
