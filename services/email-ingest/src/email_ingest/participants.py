"""Who wrote a mail and to whom: the author with its fallbacks, and the recipient lists."""

from __future__ import annotations

from email.message import Message

from email_ingest.headers import Address, HeaderDecoder

# When From names no mailbox, these headers still tell who can be answered.
_AUTHOR_FALLBACKS = ("Sender", "Reply-To", "Return-Path")


def author(msg: Message, headers: HeaderDecoder, defects: list[str]) -> Address:
    """Return the mail's author: the first usable From mailbox, else Sender/Reply-To/Return-Path.

    The returned address is empty when no header names anyone.
    """
    from_addresses = headers.addresses(msg, "From")
    chosen = _first_usable(from_addresses)
    if chosen is not None:
        return chosen
    for name in _AUTHOR_FALLBACKS:
        chosen = _first_usable(headers.addresses(msg, name))
        if chosen is not None and "@" in chosen.email:
            defects.append(f"no address in From; author taken from {name}")
            return chosen
    defects.append("no author address in any header")
    display = next((a.display_name for a in from_addresses if a.display_name), None)
    return Address("", display)


def _first_usable(addresses: list[Address]) -> Address | None:
    """Prefer a real mailbox (with @); accept a bare local name (MAILER-DAEMON) otherwise."""
    usable = [a for a in addresses if a.email and a.email != "<>"]
    return next((a for a in usable if "@" in a.email), usable[0] if usable else None)


def recipients(msg: Message, headers: HeaderDecoder) -> dict[str, list[dict]]:
    """Return To, Cc and Reply-To as lists of {email, display_name}, duplicates dropped."""
    result: dict[str, list[dict]] = {}
    for key, name in (("to", "To"), ("cc", "Cc"), ("reply_to", "Reply-To")):
        seen: set[str] = set()
        entries: list[dict] = []
        for address in headers.addresses(msg, name):
            if "@" not in address.email or address.email.lower() in seen:
                continue
            seen.add(address.email.lower())
            entries.append({"email": address.email, "display_name": address.display_name})
        result[key] = entries
    return result
