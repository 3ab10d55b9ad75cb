"""IMAP cursors and leases, and the Mailgun tokens already accepted."""

from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    # Where each (mailbox, folder) stands: the next poll fetches UIDs above last_uid,
    # as long as the folder's UIDVALIDITY is still the one recorded.
    op.execute(
        """
        CREATE TABLE imap_cursors (
            mailbox      text NOT NULL,
            folder       text NOT NULL,
            uidvalidity  bigint NOT NULL,
            last_uid     bigint NOT NULL DEFAULT 0,
            updated_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (mailbox, folder)
        )
        """
    )
    # One replica polls a mailbox at a time; a lease its holder stops renewing expires.
    op.execute(
        """
        CREATE TABLE imap_leases (
            mailbox      text PRIMARY KEY,
            holder       text NOT NULL,
            expires_at   timestamptz NOT NULL
        )
        """
    )
    # Mailgun signs timestamp+token: a token seen before is a replay.
    op.execute(
        """
        CREATE TABLE mailgun_tokens (
            token        text PRIMARY KEY,
            accepted_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
