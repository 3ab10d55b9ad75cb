"""Separate what the customer just wrote from the quoted history and the signature."""

from __future__ import annotations

import re

from email_ingest.html_text import html_to_text, tidy_text

# Plain words, no regex syntax: the folded search below builds on them too.
_WROTE = (
    "wrote|writes|schrieb|a écrit|escribió|escribio|ha scritto|schreef|skrev|kirjoitti|"
    "napisał|napisal|pisze|napsal|napsala|escreveu|написал|написала|писал|yazd\u0131|έγραψε|írta|"
    "a scris|kaze"
)
_OPENER = r"(?:on|am|le|el|il|op|em|den|dne|w dniu|в|på|tanggal|\d|\w{2,10},)"
# "On <date>, <name> wrote:" and its translations; the verb may come before the name.
_ATTRIBUTION = re.compile(
    rf"^[>\s]*{_OPENER}.{{0,300}}?\b(?:{_WROTE})\b[^\n:\uff1a]{{0,120}}[:\uff1a]\s*$", re.I
)
_WRAPPED_START = re.compile(
    r"^[>\s]*(?:(?:on|am|le|el|il|op|em|den|dne|w dniu|в|på|tanggal)\b|\d)", re.I
)
_ATTRIBUTION_BARE = re.compile(rf"^.{{0,300}}?\b(?:{_WROTE})[:\uff1a]\s*$", re.I)
_CJK_WROTE = r"写道|寫道|のメッセージ|が書きました|님이 작성"
_ATTRIBUTION_CJK = re.compile(rf"^.{{0,300}}(?:{_CJK_WROTE})[:\uff1a]?\s*$")
# re.IGNORECASE equates these characters with a letter that str.lower() does not map them to.
_CASE_EQUIVALENTS = {
    "\u0130": "i",  # capital I with dot
    "\u0131": "i",  # dotless i
    "\u017f": "s",  # long s
    "\u03f5": "\u03b5",  # lunate epsilon
    "\u03f1": "\u03c1",  # rho symbol
    "\u1c83": "\u0441",  # Cyrillic wide es
}


def fold_case(text: str) -> str:
    """Lower-case `text` so that a case-sensitive search finds what re.IGNORECASE would."""
    if not text.isascii():
        # str.translate would map every character through a dict: slow on long bodies.
        for char, letter in _CASE_EQUIVALENTS.items():
            if char in text:
                text = text.replace(char, letter)
    return text.lower()


# Every attribution pattern above needs one of these words. A text without any (most mail)
# cannot hold an attribution, which spares the patterns on every line. Spaces inside a
# verb match any whitespace: an attribution may be wrapped there. The search runs
# case-sensitively on a folded copy: with re.IGNORECASE the engine cannot skip ahead to
# the possible first letters and tried every word at every position, the slowest step of
# parsing. The tests check that folding matches what re.IGNORECASE equates.
_ATTRIBUTION_WORD = re.compile(
    "|".join(fold_case(word).replace(" ", r"\s+") for word in f"{_WROTE}|{_CJK_WROTE}".split("|"))
)
# A trailing "26.06.2014, 14:41, "Alex" <a@example.com>:" left above an HTML blockquote.
_ATTRIBUTION_LOOSE = re.compile(r"^.{0,80}\d.{0,200}@.{0,120}[:\uff1a]\s*$")
_ORIGINAL_MESSAGE = re.compile(
    r"^[\s>]*-{2,}\s*(?:original message|original-nachricht|original nachricht|"
    r"ursprüngliche nachricht|message d'origine|mensaje original|messaggio originale|"
    r"oorspronkelijk bericht|originalmeddelande|alkuperäinen viesti|wiadomość oryginalna|"
    r"mensagem original|исходное сообщение|původní zpráva|oprindelig meddelelse)\s*-{2,}\s*$",
    re.I,
)
_HEADER_WORDS = {
    "from": r"from|von|de|van|da|från|fra|od|от|lähettäjä|kimden|feladó|expéditeur|"
    r"remitente|mittente|发件人|寄件者|差出人",
    "other": r"sent|date|gesendet|datum|envoyé|enviado|fecha|inviato|data|verzonden|skickat|"
    r"sendt|wysłano|отправлено|дата|lähetetty|tarih|to|an|à|a|para|aan|till|til|do|кому|"
    r"vastaanottaja|kime|subject|betreff|objet|asunto|oggetto|onderwerp|ämne|emne|temat|"
    r"тема|aihe|konu|cc|kopie|发送时间|日期|收件人|主题|主旨|件名|宛先|送信日時",
}
_FROM_LINE = re.compile(rf"^[\s*>]*(?:{_HEADER_WORDS['from']})\s*\*?\s*[:\uff1a]", re.I)
_OTHER_LINE = re.compile(rf"^[\s*>]*(?:{_HEADER_WORDS['other']})\s*\*?\s*[:\uff1a]", re.I)
_SEPARATOR = re.compile(r"^\s*(?:-{3,}|_{3,}|={3,})\s*$")
_QUOTED = re.compile(r"^\s*>")
_SIG_DELIMITER = re.compile(r"^(?:--|—|-- ?)\s*$")
_UNDERSCORES = re.compile(r"^_{2,}$")
_SIG_DASH_NAME = re.compile(r"^-\w[\w .'-]{0,40}$")
_MOBILE_SIGNATURE = re.compile(
    r"^(?:sent from (?:my |mail for |yahoo mail|outlook|samsung|aol)|sent with |sent via |"
    r"sent using |get outlook for |envoyé de mon |envoyé depuis |enviado desde mi |"
    r"enviado do meu |inviato da(?:l mio)? |von meinem .{1,40} gesendet|gesendet von |"
    r"verzonden (?:met|vanaf) (?:mijn )?|skickat från min |sendt fra min |"
    r"wysłane z (?:mojego )?|отправлено \u0441 (?:моего )?|iphone'umdan gönderildi)",
    re.I,
)
_MAX_SIGNATURE_LINES = 12
# The first character of every line _SIG_DELIMITER, _UNDERSCORES or _SIG_DASH_NAME matches.
_SIGNATURE_STARTS = frozenset("-—_")


def extract_reply(text: str) -> str:
    """Return the new part of a plain-text reply: no quoted history, no signature."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    attributed = _ATTRIBUTION_WORD.search(fold_case(text)) is not None
    lines = lines[: _history_start(lines, attributed)]
    lines = _drop_quotes(lines, attributed)
    lines = _strip_signature(lines)
    reply = tidy_text("\n".join(lines))
    return reply or tidy_text(text)


def extract_reply_from_html(html: str) -> str:
    """Return the new part of an HTML reply, as text."""
    return extract_reply(html_to_text(html, cut_at_quote=True))


def _history_start(lines: list[str], attributed: bool) -> int:
    """Index of the first line of unquoted history (Outlook style), or len(lines).

    `attributed` says whether the text holds an attribution verb at all (else no line
    can start an attribution).
    """
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        # The marker needs "--": a cheap test that spares the pattern on most lines.
        if ("--" in line and _ORIGINAL_MESSAGE.match(line)) or _is_header_block(lines, index):
            return _back_over_separators(lines, index)
        span = _attribution_span(lines, index) if attributed else 0
        if span and not _next_is_quoted(lines, index + span):
            return _back_over_separators(lines, index)
    return len(lines)


def _attribution_span(lines: list[str], index: int) -> int:
    """How many lines (1-3) an attribution starting at `index` spans, 0 if none does."""
    first = lines[index].strip()
    joined = ""
    for span in range(1, 4):
        if index + span > len(lines):
            break
        line = lines[index + span - 1].strip()
        # Clients wrap long attributions, but never across a blank line, and only ones that
        # open like an attribution ("On ...", a date).
        if not line or (span > 1 and not _WRAPPED_START.match(first)):
            break
        joined = f"{joined} {line}".strip()
        if len(joined) > 400:
            break
        if _ATTRIBUTION.match(joined) or _ATTRIBUTION_CJK.match(joined):
            return span
        if (
            span == 1
            and _ATTRIBUTION_BARE.match(joined)
            and (re.search(r"\d|@", joined) or _next_is_quoted(lines, index + 1))
        ):
            return span
    return 0


def _next_is_quoted(lines: list[str], index: int) -> bool:
    for line in lines[index:]:
        if line.strip():
            return bool(_QUOTED.match(line))
    return False


def _is_header_block(lines: list[str], index: int) -> bool:
    """A From:/Sent:/To:/Subject: block, in any order, starting with one of those lines."""
    line = lines[index]
    if ":" not in line and "\uff1a" not in line:
        return False  # every header line has a colon; spares the long patterns on most lines
    if not (_FROM_LINE.match(line) or _OTHER_LINE.match(line)):
        return False
    window = [ln for ln in lines[index : index + 7] if ln.strip()][:5]
    has_from = any(_FROM_LINE.match(ln) for ln in window)
    headers = sum(1 for ln in window if _FROM_LINE.match(ln) or _OTHER_LINE.match(ln))
    return has_from and headers >= 3


def _back_over_separators(lines: list[str], index: int) -> int:
    while index > 0 and (not lines[index - 1].strip() or _SEPARATOR.match(lines[index - 1])):
        index -= 1
    return index


def _drop_quotes(lines: list[str], attributed: bool) -> list[str]:
    """Remove `>` lines and the attributions introducing them (interleaved replies stay)."""
    kept: list[str] = []
    skip_until = -1
    for index, line in enumerate(lines):
        if index < skip_until or (">" in line and _QUOTED.match(line)):
            continue
        span = _attribution_span(lines, index) if attributed and line.strip() else 0
        if span and _next_is_quoted(lines, index + span):
            skip_until = index + span
            continue
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    if kept and (
        _ATTRIBUTION_LOOSE.match(kept[-1])
        or (attributed and _attribution_span(kept, len(kept) - 1))
    ):
        kept.pop()  # the attribution of a quote the HTML converter already cut away
    return kept


def _strip_signature(lines: list[str]) -> list[str]:
    """Cut a trailing signature: `-- `, `-Name`, a mailing-list footer, "Sent from my ..."."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    if not content:
        return lines
    last = content[-1]
    if _MOBILE_SIGNATURE.match(lines[last].strip()):
        lines = lines[:last]
        content = [i for i in content if i < last]
    # A signature starts after the first content line, with 1 to _MAX_SIGNATURE_LINES after it.
    first = max(1, len(content) - 1 - _MAX_SIGNATURE_LINES)
    for position in range(first, len(content) - 1):
        index = content[position]
        stripped = lines[index].strip()
        if stripped[0] not in _SIGNATURE_STARTS:
            continue  # none of the patterns below can match: spares them on most lines
        tail = len(content) - 1 - position
        if _SIG_DELIMITER.match(lines[index].rstrip("\n")) or _UNDERSCORES.match(stripped):
            return lines[:index]
        if _SIG_DASH_NAME.match(stripped) and tail <= 4:
            return lines[:index]
    if content and len(content) > 1 and _SIG_DASH_NAME.match(lines[content[-1]].strip()):
        return lines[: content[-1]]
    return lines
