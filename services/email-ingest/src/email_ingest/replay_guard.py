"""Remembers webhook tokens already accepted, shared by every replica through PostgreSQL."""

from __future__ import annotations

from psycopg_pool import ConnectionPool


class ReplayGuard:
    """A token is remembered only once its delivery was accepted, so a provider's retry of a
    delivery we answered 503 is not mistaken for a replay."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def seen(self, token: str) -> bool:
        """Say whether a delivery with this token was already accepted."""
        with self.pool.connection() as connection:
            row = connection.execute(
                "SELECT 1 FROM email_ingest.mailgun_tokens WHERE token = %s", (token,)
            ).fetchone()
        return row is not None

    def remember(self, token: str) -> None:
        """Record an accepted delivery's token."""
        with self.pool.connection() as connection:
            connection.execute(
                "INSERT INTO email_ingest.mailgun_tokens (token) VALUES (%s)"
                " ON CONFLICT DO NOTHING",
                (token,),
            )
