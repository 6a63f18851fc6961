-- Onepane API access (SQLite): the same tables as the PostgreSQL schema.

CREATE TABLE api_clients (
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    id BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    PRIMARY KEY (vendor_id, id)
);

CREATE TABLE access_tokens (
    workspace_id BLOB NOT NULL,
    id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    name TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id)
);
CREATE UNIQUE INDEX access_tokens_hash ON access_tokens (token_hash);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    algorithm TEXT NOT NULL,
    public_key BLOB NOT NULL,
    sealed_private_key BLOB NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT
);

CREATE TABLE idempotency_keys (
    owner TEXT NOT NULL,
    client TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    state TEXT NOT NULL,
    response_status INTEGER,
    response_type TEXT,
    response_body BLOB,
    created_at TEXT NOT NULL,
    PRIMARY KEY (owner, client, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE webhook_subscriptions (
    vendor_id BLOB PRIMARY KEY REFERENCES vendors (id),
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    sealed_secret BLOB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    id BLOB NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    last_attempt_at TEXT,
    last_response_status INTEGER,
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    PRIMARY KEY (vendor_id, id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';

-- Leads each activation brought in: the count a vendor may read, kept
-- beside the activation because the leads themselves are the partner's.
ALTER TABLE campaign_activations ADD COLUMN lead_count INTEGER NOT NULL DEFAULT 0;
