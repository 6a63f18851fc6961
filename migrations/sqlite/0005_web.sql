-- The partner portal (SQLite): the same tables as the PostgreSQL schema.

ALTER TABLE users ADD COLUMN locale TEXT;

CREATE TABLE user_passwords (
    user_id BLOB PRIMARY KEY REFERENCES users (id),
    phc TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE web_sessions (
    digest BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    workspace_id BLOB NOT NULL,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id) ON DELETE CASCADE
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

CREATE TABLE throttle_events (
    key TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX throttle_events_key ON throttle_events (key, at);

CREATE TABLE password_resets (
    digest BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);

CREATE TABLE invitations (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    digest BLOB NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    invited_by BLOB REFERENCES users (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    accepted_at TEXT,
    PRIMARY KEY (workspace_id, digest)
);
CREATE UNIQUE INDEX invitations_digest ON invitations (digest);

CREATE TABLE workspace_profiles (
    workspace_id BLOB PRIMARY KEY REFERENCES workspaces (id),
    contact_name TEXT,
    contact_email TEXT,
    contact_phone TEXT,
    website TEXT,
    logo_url TEXT,
    updated_at TEXT NOT NULL
);

CREATE INDEX leads_status ON leads (workspace_id, status, respond_by);
CREATE INDEX leads_vendor_status ON leads (workspace_id, vendor_id, status);
CREATE INDEX leads_campaign_created ON leads (workspace_id, created_at) WHERE campaign_id IS NOT NULL;
CREATE INDEX notifications_unread ON notifications (workspace_id) WHERE read_at IS NULL;

CREATE TABLE vendor_deal_fields (
    vendor_id BLOB PRIMARY KEY REFERENCES vendors (id),
    fields TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
