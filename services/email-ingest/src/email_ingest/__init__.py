"""Switchboard's email ingest: raw mail in, normalized `message.received` events out."""

from email_ingest.errors import NotEmailError
from email_ingest.mime_parser import ParsedEmail, parse_email

__all__ = ["NotEmailError", "ParsedEmail", "parse_email"]
