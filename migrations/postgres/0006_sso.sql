-- Single sign-on: a workspace may sign its members in through its own
-- OpenID Connect provider, found by the domain of the email a visitor
-- gives on the login page.

-- A workspace's provider. The client secret is sealed by the server; the
-- email domain routes logins, so no two workspaces share one.
CREATE TABLE sso_configs (
    workspace_id uuid PRIMARY KEY REFERENCES workspaces (id),
    issuer text NOT NULL,
    client_id text NOT NULL,
    sealed_client_secret bytea NOT NULL,
    email_domain text COLLATE "C" NOT NULL,
    enabled boolean NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX sso_configs_email_domain ON sso_configs (email_domain);

-- A sign-in in progress: found by the digest of its state when the
-- provider sends the browser back, once, within ten minutes, and only in
-- the browser that started it (the digest of a cookie set then). The
-- nonce is kept as a digest and the PKCE verifier sealed.
CREATE TABLE sso_logins (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    state_digest bytea NOT NULL,
    nonce_digest bytea NOT NULL,
    sealed_verifier bytea NOT NULL,
    browser_digest bytea NOT NULL,
    next text NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, state_digest)
);
CREATE UNIQUE INDEX sso_logins_state_digest ON sso_logins (state_digest);

ALTER TABLE sso_configs ENABLE ROW LEVEL SECURITY;
ALTER TABLE sso_configs FORCE ROW LEVEL SECURITY;
ALTER TABLE sso_logins ENABLE ROW LEVEL SECURITY;
ALTER TABLE sso_logins FORCE ROW LEVEL SECURITY;

-- The workspace keeps its own configuration; logging in (the system
-- scope) reads it, before any workspace is known.
CREATE POLICY partner_all ON sso_configs FOR ALL
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace());
CREATE POLICY system_read ON sso_configs FOR SELECT
    USING (onepane_scope_system());
CREATE POLICY system_all ON sso_logins FOR ALL
    USING (onepane_scope_system()) WITH CHECK (onepane_scope_system());
