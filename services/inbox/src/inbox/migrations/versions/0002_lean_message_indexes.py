"""Leaner message indexes: every inbound message paid for indexes only replies use.

- `seq` is an identity column, unique by construction; its unique index was never read
  (ordering goes through `messages_conversation`), yet every insert maintained it.
- `provider_ids` only ever identifies our own replies (every query on it says
  `direction = 'outbound'`), so its GIN index need not hold an entry per inbound message.
"""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("ALTER TABLE messages DROP CONSTRAINT messages_seq_key")
    op.execute("DROP INDEX messages_provider_ids")
    op.execute(
        "CREATE INDEX messages_provider_ids ON messages USING gin (provider_ids)"
        " WHERE direction = 'outbound'"
    )
