"""MIME content types and parameters (charset, format, filename), parsed once per value.

`Message.get_param` and `get_content_type` parse the header again on every call, and the
parser asks each part several times. These functions answer exactly as the `Message`
methods do, from a cache keyed by the header's raw value: the same values
(`text/plain; charset="utf-8"`) recur within a mail and across mails.
"""

from __future__ import annotations

from email import policy
from email.message import Message
from email.utils import collapse_rfc2231_value
from functools import lru_cache

ParamValue = str | tuple[str | None, str | None, str]

_CACHE_SIZE = 4096


def param(part: Message, name: str, header: str = "content-type") -> ParamValue | None:
    """Return `part.get_param(name, header=header)`: a parameter's value, None if absent."""
    field = _cacheable_field(part, header)
    if field is None:
        return part.get_param(name, header=header)
    return _param_of(*field, name)


def content_type(part: Message) -> str:
    """Return `part.get_content_type()`: the lower-case `maintype/subtype`, or the default."""
    field = _cacheable_field(part, "content-type")
    if field is None:
        return part.get_content_type()
    return _content_type_of(*field)


def content_charset(part: Message) -> str | None:
    """Return `part.get_content_charset()`: the charset parameter, lower-cased, or None."""
    field = _cacheable_field(part, "content-type")
    if field is None:
        return part.get_content_charset()
    return _content_charset_of(*field)


def filename(part: Message) -> str | None:
    """Return `part.get_filename()`: Content-Disposition's filename, else Content-Type's name."""
    value = param(part, "filename", "content-disposition")
    if value is None:
        value = param(part, "name")
    if value is None:
        return None
    return collapse_rfc2231_value(value).strip()


def _cacheable_field(part: Message, header: str) -> tuple[str, str] | None:
    """The first `header` field as stored; None if absent or not a plain compat32 string."""
    if part.policy is not policy.compat32:
        return None
    # The stored fields as raw_items() gives them, without its copy of the list (several
    # lookups per part).
    for key, value in part._headers:
        if key.lower() == header:
            return (key, value) if isinstance(value, str) else None
    return None


def _scratch(key: str, value: str) -> Message:
    """A message holding only this field, so the stdlib answers exactly as for the part."""
    message = Message(policy=policy.compat32)
    message[key] = value
    return message


@lru_cache(maxsize=_CACHE_SIZE)
def _param_of(key: str, value: str, name: str) -> ParamValue | None:
    return _scratch(key, value).get_param(name, header=key)


@lru_cache(maxsize=_CACHE_SIZE)
def _content_type_of(key: str, value: str) -> str:
    return _scratch(key, value).get_content_type()


@lru_cache(maxsize=_CACHE_SIZE)
def _content_charset_of(key: str, value: str) -> str | None:
    return _scratch(key, value).get_content_charset()
