"""One row per reply: the exactly-once guard, and the worker ids that own sends in flight."""

from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    # Written before every send and after every outcome. `owner` is the worker that holds
    # the advisory lock (notifier namespace, owner) while it sends: a row left `sending` by
    # an owner whose lock is free was interrupted, and a send may have reached the provider.
    op.execute(
        """
        CREATE TABLE send_attempts (
            reply_id             text PRIMARY KEY,
            channel              text NOT NULL,
            inbox                text NOT NULL,
            state                text NOT NULL
                CHECK (state IN ('new', 'sending', 'retrying', 'sent', 'failed')),
            owner                bigint,
            attempts             integer NOT NULL DEFAULT 0,
            maybe_delivered      boolean NOT NULL DEFAULT false,
            possible_duplicate   boolean NOT NULL DEFAULT false,
            provider_message_id  text,
            reason               text,
            next_attempt_at      timestamptz,
            created_at           timestamptz NOT NULL DEFAULT now(),
            updated_at           timestamptz NOT NULL DEFAULT now(),
            sent_at              timestamptz
        )
        """
    )
    op.execute(
        "CREATE INDEX send_attempts_unfinished ON send_attempts (state) "
        "WHERE state IN ('sending', 'retrying')"
    )
    # Each worker process takes the next id and holds its advisory lock for its whole life.
    op.execute("CREATE SEQUENCE worker_ids")
