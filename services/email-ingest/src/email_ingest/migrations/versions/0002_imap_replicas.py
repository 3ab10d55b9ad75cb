"""IMAP poller replicas, so each one knows how many share the mailboxes."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # Every running poller renews its row like a lease; the live rows say how many replicas
    # share the configured mailboxes, hence each one's fair share of leases.
    op.execute(
        """
        CREATE TABLE imap_replicas (
            holder       text PRIMARY KEY,
            expires_at   timestamptz NOT NULL
        )
        """
    )
