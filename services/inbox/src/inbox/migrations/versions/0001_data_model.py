"""The inbox data model: agents, inboxes, contacts, conversations, messages, audit log, outbox."""

from alembic import op

revision = "0001"
down_revision = None

_STATEMENTS = [
    # Agents sign in with an argon2 password (web inbox) or a bearer token (integrations);
    # tokens are stored as their sha256, so a database leak does not leak usable tokens.
    """
    CREATE TABLE agents (
        id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email          text NOT NULL,
        display_name   text NOT NULL,
        role           text NOT NULL CHECK (role IN ('admin', 'agent')),
        password_hash  text,
        active         boolean NOT NULL DEFAULT true,
        created_at     timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE UNIQUE INDEX agents_email_key ON agents (lower(email))",
    """
    CREATE TABLE api_tokens (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        agent_id      uuid NOT NULL REFERENCES agents ON DELETE CASCADE,
        name          text NOT NULL,
        token_sha256  bytea NOT NULL UNIQUE,
        created_at    timestamptz NOT NULL DEFAULT now(),
        last_used_at  timestamptz,
        revoked_at    timestamptz
    )
    """,
    # Secrets the replicas share, e.g. the session signing key when none is configured.
    """
    CREATE TABLE app_secrets (
        name   text PRIMARY KEY,
        value  text NOT NULL
    )
    """,
    # A receiving account (support address, page, bot, phone number), created when first seen.
    """
    CREATE TABLE inboxes (
        id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        channel            text NOT NULL,
        address            text NOT NULL,
        name               text NOT NULL,
        auto_assign        boolean NOT NULL DEFAULT false,
        last_assignee_id   uuid REFERENCES agents ON DELETE SET NULL,
        created_at         timestamptz NOT NULL DEFAULT now(),
        UNIQUE (channel, address)
    )
    """,
    # Agents taking part in an inbox's round-robin auto-assignment.
    """
    CREATE TABLE inbox_members (
        inbox_id  uuid NOT NULL REFERENCES inboxes ON DELETE CASCADE,
        agent_id  uuid NOT NULL REFERENCES agents ON DELETE CASCADE,
        PRIMARY KEY (inbox_id, agent_id)
    )
    """,
    """
    CREATE TABLE contacts (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        display_name  text,
        email         text,
        notes         text NOT NULL DEFAULT '',
        merged_into   uuid REFERENCES contacts,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now()
    )
    """,
    # One row per way a channel knows a person: (email, '', address) or (channel, inbox, id).
    """
    CREATE TABLE contact_identities (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        contact_id    uuid NOT NULL REFERENCES contacts,
        kind          text NOT NULL,
        scope         text NOT NULL,
        value         text NOT NULL,
        handle        text,
        display_name  text,
        created_at    timestamptz NOT NULL DEFAULT now(),
        UNIQUE (kind, scope, value)
    )
    """,
    "CREATE INDEX contact_identities_contact ON contact_identities (contact_id)",
    # A contact merge, kept so it can be undone: what moved from source to target.
    """
    CREATE TABLE contact_merges (
        id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        source_id         uuid NOT NULL REFERENCES contacts,
        target_id         uuid NOT NULL REFERENCES contacts,
        identity_ids      uuid[] NOT NULL,
        conversation_ids  uuid[] NOT NULL,
        message_ids       uuid[] NOT NULL,
        detached_threads  jsonb NOT NULL DEFAULT '{}',
        merged_by         uuid REFERENCES agents,
        merged_at         timestamptz NOT NULL DEFAULT now(),
        undone_at         timestamptz
    )
    """,
    """
    CREATE TABLE conversations (
        id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        token              text NOT NULL UNIQUE,
        inbox_id           uuid NOT NULL REFERENCES inboxes,
        channel            text NOT NULL,
        contact_id         uuid NOT NULL REFERENCES contacts,
        thread_key         text,
        status             text NOT NULL DEFAULT 'open'
                           CHECK (status IN ('open', 'pending', 'snoozed', 'resolved')),
        snoozed_until      timestamptz,
        assignee_id        uuid REFERENCES agents ON DELETE SET NULL,
        priority           text NOT NULL DEFAULT 'normal'
                           CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
        labels             text[] NOT NULL DEFAULT '{}',
        subject            text,
        context            jsonb NOT NULL DEFAULT '{}',
        participants       text[] NOT NULL DEFAULT '{}',
        merged_into        uuid REFERENCES conversations,
        split_from         uuid REFERENCES conversations,
        last_activity_at   timestamptz NOT NULL DEFAULT now(),
        last_inbound_at    timestamptz,
        first_response_at  timestamptz,
        resolved_at        timestamptz,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now()
    )
    """,
    # One open conversation per contact and social thread (a DM thread, or a post's comments):
    # two replicas creating it at once collide here instead of making two.
    """
    CREATE UNIQUE INDEX conversations_open_thread
        ON conversations (inbox_id, contact_id, thread_key)
        WHERE thread_key IS NOT NULL AND status <> 'resolved' AND merged_into IS NULL
    """,
    # Keyset pagination by (last_activity_at, id), under each list filter.
    """
    CREATE INDEX conversations_by_status ON conversations (status, last_activity_at DESC, id DESC)
        WHERE merged_into IS NULL
    """,
    """
    CREATE INDEX conversations_by_assignee ON conversations
        (assignee_id, status, last_activity_at DESC, id DESC) WHERE merged_into IS NULL
    """,
    """
    CREATE INDEX conversations_by_inbox ON conversations
        (inbox_id, status, last_activity_at DESC, id DESC) WHERE merged_into IS NULL
    """,
    """
    CREATE INDEX conversations_by_activity ON conversations (last_activity_at DESC, id DESC)
        WHERE merged_into IS NULL
    """,
    "CREATE INDEX conversations_by_contact ON conversations (contact_id)",
    "CREATE INDEX conversations_labels ON conversations USING gin (labels)",
    """
    CREATE INDEX conversations_snoozed ON conversations (snoozed_until) WHERE status = 'snoozed'
    """,
    # Inbound messages carry dedup_key (unique: the database deduplicates, never a check);
    # outbound ones a delivery status; notes neither. seq orders messages for collisions.
    """
    CREATE TABLE messages (
        id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq                  bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        conversation_id      uuid NOT NULL REFERENCES conversations,
        inbox_id             uuid NOT NULL REFERENCES inboxes,
        channel              text NOT NULL,
        direction            text NOT NULL CHECK (direction IN ('inbound', 'outbound', 'note')),
        visibility           text NOT NULL CHECK (visibility IN ('public', 'private')),
        dedup_key            text UNIQUE,
        external_id          text,
        author_contact_id    uuid REFERENCES contacts,
        author_agent_id      uuid REFERENCES agents ON DELETE SET NULL,
        subject              text,
        text                 text NOT NULL,
        html                 text,
        email_message_id     text,
        in_reply_to          text,
        "references"         text[] NOT NULL DEFAULT '{}',
        thread_reason        text,
        answers_message_id   uuid REFERENCES messages,
        delivery_status      text CHECK (delivery_status IN ('queued', 'sending', 'sent',
                             'retrying', 'delivered', 'read', 'failed')),
        delivery_reason      text,
        delivery_updated_at  timestamptz,
        provider_ids         text[] NOT NULL DEFAULT '{}',
        flags                jsonb NOT NULL DEFAULT '{}',
        recipients           jsonb NOT NULL DEFAULT '{}',
        metadata             jsonb NOT NULL DEFAULT '{}',
        raw_sha256           text,
        split_from           uuid REFERENCES conversations,
        sent_at              timestamptz NOT NULL DEFAULT now(),
        received_at          timestamptz NOT NULL DEFAULT now(),
        created_at           timestamptz NOT NULL DEFAULT now(),
        search_vector        tsvector GENERATED ALWAYS AS
                             (to_tsvector('simple', coalesce(subject, '') || ' ' || text)) STORED
    )
    """,
    "CREATE INDEX messages_conversation ON messages (conversation_id, seq)",
    """
    CREATE INDEX messages_email_id ON messages (email_message_id)
        WHERE email_message_id IS NOT NULL
    """,
    "CREATE INDEX messages_provider_ids ON messages USING gin (provider_ids)",
    "CREATE INDEX messages_author_contact ON messages (author_contact_id)",
    "CREATE INDEX messages_search ON messages USING gin (search_vector)",
    """
    CREATE TABLE attachments (
        id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        message_id          uuid NOT NULL REFERENCES messages ON DELETE CASCADE,
        filename            text,
        content_type        text NOT NULL,
        size                bigint,
        sha256              text,
        content_id          text,
        inline              boolean NOT NULL DEFAULT false,
        unavailable_reason  text
    )
    """,
    "CREATE INDEX attachments_message ON attachments (message_id)",
    """
    CREATE TABLE canned_responses (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        shortcut    text NOT NULL UNIQUE,
        title       text NOT NULL,
        body        text NOT NULL,
        created_by  uuid REFERENCES agents ON DELETE SET NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE audit_log (
        id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        agent_id         uuid REFERENCES agents ON DELETE SET NULL,
        action           text NOT NULL,
        conversation_id  uuid,
        contact_id       uuid,
        details          jsonb NOT NULL DEFAULT '{}',
        at               timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX audit_log_conversation ON audit_log (conversation_id, id)",
    # Events written in the same transaction as the change they announce; the relay
    # publishes them with confirms and stamps published_at.
    """
    CREATE TABLE outbox (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_type    text NOT NULL,
        payload       jsonb NOT NULL,
        event_id      uuid NOT NULL DEFAULT gen_random_uuid(),
        trace_id      text NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        published_at  timestamptz
    )
    """,
    "CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL",
]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)
