"""Switchboard's social-ingest service: signed webhooks in, `message.received` events out."""
