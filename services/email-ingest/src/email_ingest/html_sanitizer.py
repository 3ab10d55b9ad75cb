"""Sanitize mail HTML for display with nh3: no scripts, no remote content, cid: images mapped."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from urllib.parse import unquote

import nh3

logger = logging.getLogger(__name__)

# Where the inbox serves an attachment by its blob name; cid: images point there.
INLINE_IMAGE_URL = "/blobs/{sha256}"

_TAGS = set(nh3.ALLOWED_TAGS) | {"font"}
_ATTRIBUTES = copy.deepcopy(nh3.ALLOWED_ATTRIBUTES)
_ATTRIBUTES.setdefault("*", set()).update({"style", "dir", "lang", "title"})
_ATTRIBUTES["font"] = {"color", "face", "size"}
_ATTRIBUTES["img"] = {"src", "alt", "width", "height", "align"}
_ATTRIBUTES["a"] = {"href", "hreflang", "name"}
for _cell in ("td", "th", "table"):
    _ATTRIBUTES[_cell] = set(_ATTRIBUTES.get(_cell, set())) | {"width", "valign", "colspan"}
# No property that can load a URL (background, list-style-image, border-image, content).
_STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "text-align",
    "text-decoration",
    "text-indent",
    "line-height",
    "vertical-align",
    "white-space",
    "width",
    "height",
    "max-width",
    "margin",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "padding",
    "padding-top",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "border",
    "border-top",
    "border-bottom",
    "border-left",
    "border-right",
    "border-color",
    "border-style",
    "border-width",
    "border-collapse",
    "direction",
}
# cid must pass the scheme check: the attribute filter below then rewrites or drops it.
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}


@dataclass
class SanitizedHtml:
    """Display-safe HTML and the content ids it references."""

    html: str
    referenced: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    removed_images: int = 0


def sanitize_html(html: str, inline_images: dict[str, str]) -> SanitizedHtml:
    """Clean `html`; `inline_images` maps lower-cased content ids to attachment sha256s."""
    result = SanitizedHtml("")

    def rewrite(tag: str, attr: str, value: str) -> str | None:
        if attr not in ("src", "href"):
            return value
        if value[:4].lower() == "cid:":
            content_id = unquote(value[4:]).strip().strip("<>").lower()
            sha256 = inline_images.get(content_id)
            if sha256 is None:
                result.missing.add(content_id)
                return None
            result.referenced.add(content_id)
            return INLINE_IMAGE_URL.format(sha256=sha256)
        if tag == "img":
            # Remote images are tracking pixels as often as content: never load them.
            result.removed_images += 1
            return None
        return value

    try:
        result.html = nh3.clean(
            html,
            tags=_TAGS,
            clean_content_tags={"script", "style", "template"},
            attributes=_ATTRIBUTES,
            attribute_filter=rewrite,
            url_schemes=_URL_SCHEMES,
            filter_style_properties=_STYLE_PROPERTIES,
            link_rel="noopener noreferrer nofollow",
        )
    except Exception:
        logger.warning("nh3 could not sanitize an HTML body", exc_info=True)
        result.html = nh3.clean_text(html)
    return result
