"""HTML to readable plain text, optionally stopping where a mail client put the quoted history."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser

logger = logging.getLogger(__name__)

_BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
        "caption",
    ]
)
_PARAGRAPH = frozenset(
    ["p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "ul", "ol", "pre"]
)
_SKIP = frozenset(["script", "style", "head", "title", "template", "noscript", "xml"])
# Where mail clients start the quoted message in their HTML (class or id, lower-case).
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "outlookmessageheader")
_QUOTE_IDS = frozenset(
    [
        "divrplyfwdmsg",
        "x_divrplyfwdmsg",
        "olk_src_body_section",
        "appendonsend",
        "stopspelling",
        "zwchr",
        "mail-editor-reference-message-container",
    ]
)
# Outlook's separator above its "From: ... Sent: ..." block is a div with a top border.
_OUTLOOK_BORDER = re.compile(r"border-top:\s*solid\s*#(?:b5c4df|e1e1e1)", re.I)
_SPACES = re.compile(r"[ \t\f\v\r\n\u00a0\u200b]+")


class _TextExtractor(HTMLParser):
    """Render the whole document, noting where in `parts` the quoted history starts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0
        self.quote_start: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.skip_depth = 0  # a <head> that never closed ends here
        if tag in _SKIP:
            self.skip_depth += 1
            return
        if self.quote_start is None and _starts_quote(tag, attrs):
            self.quote_start = len(self.parts)
        if tag == "br":
            self.parts.append("\n")
        elif tag == "pre":
            self.pre_depth += 1
        elif tag in ("td", "th"):
            self.parts.append(" ")
        if tag == "li":
            self.parts.append("\n- ")
        elif tag in _PARAGRAPH:
            self.parts.append("\n\n")
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
        if tag in _BLOCK:
            self.parts.append("\n\n" if tag in _PARAGRAPH else "\n")

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        self.parts.append(data if self.pre_depth else _SPACES.sub(" ", data))


def _starts_quote(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    if tag == "blockquote":
        return True
    values = {name: (value or "") for name, value in attrs}
    classes = values.get("class", "").lower()
    if any(name in classes for name in _QUOTE_CLASSES):
        return True
    if values.get("id", "").lower() in _QUOTE_IDS:
        return True
    return tag == "div" and bool(_OUTLOOK_BORDER.search(values.get("style", "")))


def html_to_text(html: str, *, cut_at_quote: bool = False) -> str:
    """Render HTML as plain text; with `cut_at_quote`, stop where the quoted history starts."""
    parts, quote_start = _render(html)
    return tidy_text("".join(parts[:quote_start] if cut_at_quote else parts))


def html_to_texts(html: str) -> tuple[str, str]:
    """Render HTML as plain text once: the whole text, and the text above the quoted history."""
    parts, quote_start = _render(html)
    return tidy_text("".join(parts)), tidy_text("".join(parts[:quote_start]))


def _render(html: str) -> tuple[list[str], int | None]:
    """The text pieces of the document, and the index of the first quoted piece (or None)."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        logger.debug("HTML to text conversion stopped early", exc_info=True)
    return parser.parts, parser.quote_start


def tidy_text(text: str) -> str:
    """Trim each line, drop blank runs longer than one line, and trim the whole text."""
    lines = [line.strip(" \t\u00a0") for line in text.replace("\u00a0", " ").split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip()
