"""Reply extraction: attributions and Outlook headers in several languages, signatures."""

from __future__ import annotations

import re

import pytest

from email_ingest.reply_extraction import (
    _ATTRIBUTION_WORD,
    _CJK_WROTE,
    _WROTE,
    extract_reply,
    extract_reply_from_html,
    fold_case,
)

NEW = "Thanks, the parcel arrived today."


@pytest.mark.parametrize(
    "history",
    [
        "On Mon, Jan 8, 2024 at 10:00 AM Support <support@example.com> wrote:\n> Shipped.",
        "On Mon, Jan 8, 2024 at 10:00 AM Support <support@example.com>\nwrote:\n\n> Shipped.",
        "Am 08.01.2024 um 10:00 schrieb Support <support@example.com>:\n> Versandt.",
        "Le lun. 8 janv. 2024 à 10:00, Support <support@example.com> a écrit :\n> Expédié.",
        "El lun, 8 ene 2024 a las 10:00, Support (<support@example.com>) escribió:\n> Enviado.",
        "Il giorno lun 8 gen 2024 alle ore 10:00 Support <support@example.com> ha scritto:\n> x",
        "Op ma 8 jan. 2024 om 10:00 schreef Support <support@example.com>:\n> Verzonden.",
        "W dniu 8.01.2024 o 10:00, Support pisze:\n> Wysłano.",
        '08.01.2024, 10:00, "Support" <support@example.com>:\n> Отправлено.',
        "2024年1月8日(月) 10:00 Support <support@example.com>:\n> 発送しました。",
        "-----Original Message-----\nFrom: Support\nSent: Monday\nTo: Jane\nSubject: Parcel",
        "-----Ursprüngliche Nachricht-----\nVon: Support\nGesendet: Montag\nAn: Jane\nBetreff: x",
        "________________________________\nFrom: Support <support@example.com>\n"
        "Sent: Monday, January 8, 2024 10:00 AM\nTo: Jane\nSubject: Parcel\n\nShipped.",
        "De : Support <support@example.com>\nEnvoyé : lundi 8 janvier 2024 10:00\n"
        "À : Jane\nObjet : Colis\n\nExpédié.",
        "Von: Support <support@example.com>\nGesendet: Montag, 8. Januar 2024 10:00\n"
        "An: Jane\nBetreff: Paket\n\nVersandt.",
        "*From:* Support [mailto:support@example.com]\n*Sent:* Monday\n*To:* Jane\n*Subject:* x",
    ],
)
def test_history_is_cut(history: str) -> None:
    """Whatever the client and language, only the new text remains."""
    assert extract_reply(f"{NEW}\n\n{history}\n") == NEW


@pytest.mark.parametrize(
    "signature",
    [
        "-- \nJane Customer\nACME Ltd.",
        "--\nJane",
        "Sent from my iPhone",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "Get Outlook for Android",
        "-Jane",
    ],
)
def test_signature_is_cut(signature: str) -> None:
    """Delimited and mobile signatures are not part of the reply."""
    assert extract_reply(f"{NEW}\n\n{signature}\n") == NEW


def test_interleaved_answers_keep_the_customer_lines() -> None:
    """Answers between quoted lines stay; the quotes and their attribution go."""
    text = (
        "On Mon, Support <s@example.com> wrote:\n> Which size?\nLarge.\n\n> Which colour?\nBlue.\n"
    )
    assert extract_reply(text) == "Large.\n\nBlue."


def test_text_that_only_looks_like_history_is_kept() -> None:
    """A sentence starting with "On" or a dash in a line is not history or a signature."""
    text = "On your side, please check the box.\nThe fix -- if any -- is simple.\n\nRegards"
    assert extract_reply(text) == text


def test_fully_quoted_mail_falls_back_to_the_whole_text() -> None:
    """If nothing new is left, agents see the whole text rather than nothing."""
    assert extract_reply("> only a quote\n> nothing else\n") == "> only a quote\n> nothing else"


def test_html_reply_cut_at_gmail_quote_and_outlook_divider() -> None:
    """HTML replies are cut at the client's quote container."""
    gmail = (
        '<div>New answer</div><div class="gmail_quote">On Mon X wrote:'
        "<blockquote>old</blockquote></div>"
    )
    outlook = '<p>New answer</p><div id="divRplyFwdMsg"><b>From:</b> Support</div><p>old</p>'
    assert extract_reply_from_html(gmail) == "New answer"
    assert extract_reply_from_html(outlook) == "New answer"


def test_folded_attribution_search_finds_what_ignorecase_finds() -> None:
    """Every character re.IGNORECASE equates with a letter of the verbs folds to that letter."""
    every_character = "".join(chr(code) for code in range(0x110000))
    folded = fold_case(every_character)
    assert len(folded) == len(every_character)  # folding never shifts positions
    for letter in sorted(set(f"{_WROTE}{_CJK_WROTE}") - {"|"}):
        pattern = r"\s" if letter == " " else re.escape(letter)
        by_ignorecase = re.findall(pattern, every_character, re.I)
        by_folding = [
            every_character[m.start()]
            for m in re.finditer(re.escape(fold_case(letter)) if letter != " " else r"\s", folded)
        ]
        assert by_folding == by_ignorecase, letter


@pytest.mark.parametrize(
    "text", ["He WROTE:", "Jan SCHRIEB", "Ali yazdI:", "Ali YAZDİ", "ha\nScritto", "nothing here"]
)
def test_attribution_word_search_agrees_with_ignorecase(text: str) -> None:
    """The folded search and an IGNORECASE search of the verbs agree."""
    verbs = "|".join(w.replace(" ", r"\s+") for w in f"{_WROTE}|{_CJK_WROTE}".split("|"))
    expected = re.search(verbs, text, re.I) is not None
    assert (_ATTRIBUTION_WORD.search(fold_case(text)) is not None) == expected
