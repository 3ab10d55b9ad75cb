"""Turn bytes of a declared, misdeclared or undeclared charset into text, never raising."""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Iterable

from charset_normalizer import from_bytes

logger = logging.getLogger(__name__)

# Labels mail software writes that Python does not know, or knows as a narrower charset than
# the one the sender's software really used (decoding with the superset loses nothing).
_ALIASES = {
    "unicode-1-1-utf-7": "utf-7",
    "x-unicode-2-0-utf-7": "utf-7",
    "utf7": "utf-7",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cn-gb": "gb18030",
    "x-euc-cn": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-8-e": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "x-sjis": "cp932",
    "shift-jis": "cp932",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "windows-31j": "cp932",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso_8859-1": "cp1252",
    "us-ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    "x-user-defined": "cp1252",
    "csiso2022jp": "iso2022_jp",
}
# Charsets whose real-world senders use vendor extensions of the registered charset.
_SUPERSETS = {
    "iso2022_jp": ("iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_3"),
    "euc_jp": ("euc_jis_2004", "cp932"),
    "big5hkscs": ("cp950",),
    "ascii": ("utf-8", "cp1252"),
}
_UNKNOWN_LABELS = {"", "unknown-8bit", "x-unknown", "unknown", "8bit", "default", "none"}
# Charsets undeclared mail is really written in. Left free, charset-normalizer picks exotic
# code pages (cp1006, mac_iceland, utf_16) for short samples such as one header value.
_GUESS_CANDIDATES = [
    "cp1252",
    "cp1250",
    "cp1251",
    "koi8_r",
    "koi8_u",
    "iso8859_15",
    "iso8859_2",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "cp1258",
    "cp874",
    "gb18030",
    "big5",
    "cp932",
    "euc_jp",
    "cp949",
    "iso8859_7",
    "mac_roman",
]


_MULTIBYTE_UTF8 = re.compile(rb"[\xc2-\xf4][\x80-\xbf]{1,3}")
_MIXED_HANDLER = "switchboard-cp1252-fallback"


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Decode the bytes UTF-8 rejected as cp1252 (latin-1 for its five unassigned bytes)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return bad.decode("cp1252", errors="replace"), error.end


codecs.register_error(_MIXED_HANDLER, _cp1252_fallback)


def codec_name(label: str | None) -> str | None:
    """Return the Python codec for a MIME charset label, or None if Python has none."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if name in _UNKNOWN_LABELS:
        return None
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    # Codecs such as rot13 or base64 are not text encodings.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def _candidates(declared: str | None, hints: Iterable[str]) -> list[str]:
    names: list[str] = []
    if declared:
        names.append(declared)
        names.extend(_SUPERSETS.get(declared, ()))
    names.append("utf-8")
    for hint in hints:
        codec = codec_name(hint)
        if codec and codec not in names:
            names.append(codec)
    return names


def guess_charset(data: bytes) -> str | None:
    """Guess the charset of undeclared 8-bit bytes with charset-normalizer."""
    try:
        best = from_bytes(data, cp_isolation=_GUESS_CANDIDATES).best()
    except Exception:
        logger.debug("charset guess failed", exc_info=True)
        return None
    return best.encoding if best is not None else None


def decode_bytes(
    data: bytes,
    label: str | None,
    defects: list[str],
    where: str,
    hints: Iterable[str] = (),
) -> str:
    """Decode `data` declared as `label`; fall back to UTF-8, hints, a guess, then cp1252."""
    declared = codec_name(label)
    if label and not declared and label.strip().lower() not in _UNKNOWN_LABELS:
        defects.append(f"{where}: unknown charset {label!r}")
    if not data:
        return ""
    if declared is None and data.isascii():
        return data.decode("ascii")
    expected = (declared, *_SUPERSETS.get(declared or "", ())) if declared else ("utf-8",)
    for name in _candidates(declared, hints):
        try:
            text = data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
        if name not in expected:
            defects.append(f"{where}: not valid {label or 'undeclared'} text, decoded as {name}")
        return text
    if _MULTIBYTE_UTF8.search(data):
        # Mostly UTF-8 with some legacy bytes: a forwarded or concatenated mixed-charset body.
        defects.append(f"{where}: mixed UTF-8 and 8-bit bytes, decoded as UTF-8 with cp1252")
        return data.decode("utf-8", errors=_MIXED_HANDLER)
    guessed = guess_charset(data)
    if guessed:
        try:
            text = data.decode(guessed)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            defects.append(f"{where}: charset {label or 'undeclared'}, guessed {guessed}")
            return text
    fallback = declared or "cp1252"
    defects.append(f"{where}: undecodable bytes in {label or 'undeclared'} charset replaced")
    return data.decode(fallback, errors="replace")
