"""Switchboard's inbox: per-customer conversations threaded from every channel, and its API."""
