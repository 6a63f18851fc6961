-- The partner portal: passwords, browser sessions, throttling, password
-- resets, invitations, the workspace's public profile for its landing
-- pages, and each user's language.
--
-- Logging in happens before a workspace is known, so these tables belong
-- to the system scope (the server's own work around tenants); a workspace
-- reads and writes its own invitations and profile.

ALTER TABLE users ADD COLUMN locale text;

-- A user's password as an argon2id PHC string.
CREATE TABLE user_passwords (
    user_id uuid PRIMARY KEY REFERENCES users (id),
    phc text NOT NULL,
    updated_at timestamptz NOT NULL
);

-- A browser session, kept as the SHA-256 digest of the cookie's 256-bit
-- token. The session acts in one workspace at a time; the user switches
-- among the workspaces it is a member of.
CREATE TABLE web_sessions (
    digest bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id),
    workspace_id uuid NOT NULL,
    csrf text NOT NULL,
    created_at timestamptz NOT NULL,
    seen_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id) ON DELETE CASCADE
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

-- Throttled events (failed logins, landing-page submissions), counted per
-- key over a sliding window. Old events are pruned as new ones arrive.
CREATE TABLE throttle_events (
    key text COLLATE "C" NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX throttle_events_key ON throttle_events (key, at);

-- One-time password-reset links, by the digest of their token.
CREATE TABLE password_resets (
    digest bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

-- Invitations to a workspace, by the digest of the link's token.
CREATE TABLE invitations (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    digest bytea NOT NULL,
    email text COLLATE "C" NOT NULL,
    role text NOT NULL,
    invited_by uuid REFERENCES users (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    PRIMARY KEY (workspace_id, digest)
);
CREATE UNIQUE INDEX invitations_digest ON invitations (digest);

-- What a workspace's landing pages show of it.
CREATE TABLE workspace_profiles (
    workspace_id uuid PRIMARY KEY REFERENCES workspaces (id),
    contact_name text,
    contact_email text,
    contact_phone text,
    website text,
    logo_url text,
    updated_at timestamptz NOT NULL
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['user_passwords', 'web_sessions', 'throttle_events',
        'password_resets', 'invitations', 'workspace_profiles']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY system_all ON %I FOR ALL
            USING (onepane_scope_system()) WITH CHECK (onepane_scope_system())', t);
    END LOOP;
END $$;

CREATE POLICY partner_all ON invitations FOR ALL
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace());
CREATE POLICY partner_all ON workspace_profiles FOR ALL
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace());

-- Logging in: find the user by email, list its workspaces; accepting an
-- invitation: create the user and its membership; the public landing page:
-- find the activation by its slug.
CREATE POLICY system_all ON users FOR ALL
    USING (onepane_scope_system()) WITH CHECK (onepane_scope_system());
CREATE POLICY system_read ON memberships FOR SELECT
    USING (onepane_scope_system());
CREATE POLICY system_join ON memberships FOR INSERT
    WITH CHECK (onepane_scope_system());
CREATE POLICY system_read ON workspaces FOR SELECT
    USING (onepane_scope_system());
CREATE POLICY system_read ON campaign_activations FOR SELECT
    USING (onepane_scope_system());
CREATE POLICY system_read ON campaigns FOR SELECT
    USING (onepane_scope_system());

-- A member sets its own language.
CREATE POLICY partner_locale ON users FOR UPDATE
    USING (EXISTS (SELECT 1 FROM public.memberships m
                   WHERE m.user_id = users.id AND m.workspace_id = onepane_scope_workspace()))
    WITH CHECK (EXISTS (SELECT 1 FROM public.memberships m
                   WHERE m.user_id = users.id AND m.workspace_id = onepane_scope_workspace()));

-- The home page: new leads per vendor and those waiting for a response
-- by deadline, without reading every lead.
CREATE INDEX leads_status ON leads (workspace_id, status, respond_by);
CREATE INDEX leads_vendor_status ON leads (workspace_id, vendor_id, status);
CREATE INDEX leads_campaign_created ON leads (workspace_id, created_at) WHERE campaign_id IS NOT NULL;
CREATE INDEX notifications_unread ON notifications (workspace_id) WHERE read_at IS NULL;


-- The fields each vendor asks for on a deal registration, beyond the form
-- every vendor shares. The vendor owns its list; linked partners read it.
CREATE TABLE vendor_deal_fields (
    vendor_id uuid PRIMARY KEY REFERENCES vendors (id),
    fields jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);
ALTER TABLE vendor_deal_fields ENABLE ROW LEVEL SECURITY;
ALTER TABLE vendor_deal_fields FORCE ROW LEVEL SECURITY;
CREATE POLICY vendor_all ON vendor_deal_fields FOR ALL
    USING (vendor_id = onepane_scope_vendor())
    WITH CHECK (vendor_id = onepane_scope_vendor());
CREATE POLICY partner_read ON vendor_deal_fields FOR SELECT
    USING (EXISTS (SELECT 1 FROM public.vendor_links l
                   WHERE l.workspace_id = onepane_scope_workspace()
                     AND l.vendor_id = vendor_deal_fields.vendor_id));

-- A partner's scan of its leads (a text search reads every row) no longer
-- runs the vendor policy's link lookup on each row: outside a vendor scope
-- its first condition is false and the rest is skipped. Same meaning.
ALTER POLICY vendor_read ON leads
    USING (onepane_scope_vendor() IS NOT NULL AND vendor_id = onepane_scope_vendor()
           AND onepane_vendor_linked(workspace_id)
           AND (source = 'vendor' OR shared_with_vendor_at IS NOT NULL));
