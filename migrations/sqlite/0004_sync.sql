-- The sync engine (SQLite): the same tables as the PostgreSQL schema.

CREATE UNIQUE INDEX connections_vendor ON connections (workspace_id, id, vendor_id);

-- One run of a connection at a time: the run holds the connection for a
-- short lease it renews while it works (two runs of one full-refresh
-- stream would each delete what the other saw).
ALTER TABLE connections ADD COLUMN run_owner TEXT;
ALTER TABLE connections ADD COLUMN run_until TEXT;

CREATE TABLE connection_secrets (
    workspace_id BLOB NOT NULL,
    connection_id BLOB NOT NULL,
    field TEXT NOT NULL,
    sealed BLOB NOT NULL,
    version INTEGER NOT NULL,
    claimed_by TEXT,
    claimed_until TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, connection_id, field),
    FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE sync_streams (
    workspace_id BLOB NOT NULL,
    connection_id BLOB NOT NULL,
    vendor_id BLOB NOT NULL,
    stream TEXT NOT NULL,
    next_page TEXT,
    since TEXT,
    pass_id BLOB,
    pass_max TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, connection_id, stream),
    FOREIGN KEY (workspace_id, connection_id, vendor_id)
        REFERENCES connections (workspace_id, id, vendor_id) ON DELETE CASCADE
);

CREATE TABLE source_records (
    workspace_id BLOB NOT NULL,
    connection_id BLOB NOT NULL,
    vendor_id BLOB NOT NULL,
    stream TEXT NOT NULL,
    key TEXT NOT NULL,
    content_hash BLOB NOT NULL,
    seen_pass BLOB NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, connection_id, stream, key),
    FOREIGN KEY (workspace_id, connection_id, vendor_id)
        REFERENCES connections (workspace_id, id, vendor_id) ON DELETE CASCADE
);

CREATE TABLE sync_runs (
    workspace_id BLOB NOT NULL,
    id BLOB NOT NULL,
    connection_id BLOB NOT NULL,
    job_id BLOB,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    read INTEGER NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    total INTEGER,
    errors TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX sync_runs_connection ON sync_runs (workspace_id, connection_id, started_at);

CREATE TABLE crm_outbox (
    workspace_id BLOB NOT NULL,
    entity TEXT NOT NULL,
    entity_id BLOB NOT NULL,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, entity, entity_id)
);

CREATE TABLE crm_pushes (
    workspace_id BLOB NOT NULL,
    connection_id BLOB NOT NULL,
    entity TEXT NOT NULL,
    entity_id BLOB NOT NULL,
    status TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    due_at TEXT NOT NULL,
    remote_id TEXT,
    last_error TEXT,
    pushed_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, connection_id, entity, entity_id),
    FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX crm_pushes_due ON crm_pushes (workspace_id, connection_id, entity, due_at) WHERE status = 'pending';

CREATE TABLE oauth_states (
    workspace_id BLOB NOT NULL,
    digest BLOB NOT NULL,
    connection_id BLOB NOT NULL,
    sealed_verifier BLOB NOT NULL,
    redirect_uri TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, digest),
    FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX oauth_states_digest ON oauth_states (digest);
