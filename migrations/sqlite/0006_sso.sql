-- Single sign-on (SQLite): the same tables as the PostgreSQL schema.

CREATE TABLE sso_configs (
    workspace_id BLOB PRIMARY KEY REFERENCES workspaces (id),
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    sealed_client_secret BLOB NOT NULL,
    email_domain TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX sso_configs_email_domain ON sso_configs (email_domain);

CREATE TABLE sso_logins (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    state_digest BLOB NOT NULL,
    nonce_digest BLOB NOT NULL,
    sealed_verifier BLOB NOT NULL,
    browser_digest BLOB NOT NULL,
    next TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, state_digest)
);
CREATE UNIQUE INDEX sso_logins_state_digest ON sso_logins (state_digest);
