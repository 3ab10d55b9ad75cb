"""HTML bodies rendered as text, whole and above the quoted history, in one pass."""

from __future__ import annotations

import pytest

from email_ingest.html_text import html_to_text, html_to_texts


@pytest.mark.parametrize(
    "html",
    [
        '<div>New</div><div class="gmail_quote">On Mon X wrote:<blockquote>old</blockquote></div>',
        "<p>New</p><blockquote><p>old</p></blockquote><p>after</p>",
        '<head><style class="gmail_quote">x</style></head><body><p>only new</p></body>',
        "<pre>  kept  as is </pre><table><tr><td>a</td><td>b</td></tr></table>",
        "no quote at all<br>second line",
        "<p>broken <b",
    ],
)
def test_one_rendering_gives_both_texts(html: str) -> None:
    """The pair equals the whole rendering and the rendering cut at the quote."""
    assert html_to_texts(html) == (html_to_text(html), html_to_text(html, cut_at_quote=True))


def test_text_above_the_quote() -> None:
    """Everything from the quote container on is left out of the unquoted text."""
    whole, unquoted = html_to_texts("<p>New</p><blockquote>old</blockquote><p>tail</p>")
    assert (whole, unquoted) == ("New\n\nold\n\ntail", "New")
