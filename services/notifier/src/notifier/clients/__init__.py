"""Outbound transports: SMTP and one client per network API."""
