-- The sync engine (PostgreSQL): connections' sealed secrets, each stream's
-- position, what each source record last looked like, sync runs, the lead
-- outbox and its pushes to CRM sinks, and pending OAuth authorizations.

-- Sync state names its connection's vendor; this key lets a foreign key
-- hold it to the connection's own.
CREATE UNIQUE INDEX connections_vendor ON connections (workspace_id, id, vendor_id);

-- One run of a connection at a time: the run holds the connection for a
-- short lease it renews while it works (two runs of one full-refresh
-- stream would each delete what the other saw).
ALTER TABLE connections ADD COLUMN run_owner text;
ALTER TABLE connections ADD COLUMN run_until timestamptz;

-- Credentials and tokens, sealed by the server with the workspace,
-- connection and field as associated data. `version` moves on every save;
-- a worker renewing a token holds a short claim on the version it read.
CREATE TABLE connection_secrets (
    workspace_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    field text COLLATE "C" NOT NULL,
    sealed bytea NOT NULL,
    version bigint NOT NULL,
    claimed_by text,
    claimed_until timestamptz,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, connection_id, field),
    FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE
);

-- Where each stream of a source stands: the page to resume from, the
-- incremental cursor of the last complete pass, and the pass under way.
-- Written with the page it follows, in the vendor's scope.
CREATE TABLE sync_streams (
    workspace_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    vendor_id uuid NOT NULL,
    stream text COLLATE "C" NOT NULL,
    next_page jsonb,
    since jsonb,
    pass_id uuid,
    pass_max jsonb,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, connection_id, stream),
    FOREIGN KEY (workspace_id, connection_id, vendor_id)
        REFERENCES connections (workspace_id, id, vendor_id) ON DELETE CASCADE
);

-- Each record a source has given: the hash of its content (unchanged
-- records are skipped) and the pass that last wrote it. What a complete
-- full-refresh pass did not see, of what is here, is deleted.
CREATE TABLE source_records (
    workspace_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    vendor_id uuid NOT NULL,
    stream text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    content_hash bytea NOT NULL,
    seen_pass uuid NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, connection_id, stream, key),
    FOREIGN KEY (workspace_id, connection_id, vendor_id)
        REFERENCES connections (workspace_id, id, vendor_id) ON DELETE CASCADE
);

CREATE TABLE sync_runs (
    workspace_id uuid NOT NULL,
    id uuid NOT NULL,
    connection_id uuid NOT NULL,
    job_id uuid,
    kind text NOT NULL,
    status text NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    read bigint NOT NULL,
    created bigint NOT NULL,
    updated bigint NOT NULL,
    unchanged bigint NOT NULL,
    deleted bigint NOT NULL,
    failed bigint NOT NULL,
    total bigint,
    errors jsonb NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX sync_runs_connection ON sync_runs (workspace_id, connection_id, started_at);

-- A lead or a deal registration created or changed: written in the same
-- transaction as the change, fanned out to each CRM sink's pushes by the
-- engine.
CREATE TABLE crm_outbox (
    workspace_id uuid NOT NULL,
    entity text COLLATE "C" NOT NULL,
    entity_id uuid NOT NULL,
    changed_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, entity, entity_id)
);

-- One lead's or deal's push to one CRM sink, and how it went.
CREATE TABLE crm_pushes (
    workspace_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    entity text COLLATE "C" NOT NULL,
    entity_id uuid NOT NULL,
    status text NOT NULL,
    changed_at timestamptz NOT NULL,
    attempts integer NOT NULL,
    due_at timestamptz NOT NULL,
    remote_id text,
    last_error text,
    pushed_at timestamptz,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, connection_id, entity, entity_id),
    FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX crm_pushes_due ON crm_pushes (workspace_id, connection_id, entity, due_at) WHERE status = 'pending';

-- An authorization the partner started: found by the digest of its state
-- when the provider sends the browser back, once.
CREATE TABLE oauth_states (
    workspace_id uuid NOT NULL,
    digest bytea NOT NULL,
    connection_id uuid NOT NULL,
    sealed_verifier bytea NOT NULL,
    redirect_uri text NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, digest),
    FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX oauth_states_digest ON oauth_states (digest);

-- Whether the vendor scope owns the lead or registration an outbox row names.
-- (Parameters are named apart from every column: in a SQL function a
-- column of the same name would win.)
CREATE FUNCTION onepane_crm_outbox_vendor(row_ws uuid, row_kind text, row_id uuid) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT CASE row_kind
            WHEN 'lead' THEN EXISTS (SELECT 1 FROM public.leads l
                WHERE l.workspace_id = row_ws AND l.id = row_id
                  AND l.vendor_id = public.onepane_scope_vendor())
            WHEN 'deal' THEN EXISTS (SELECT 1 FROM public.deal_registrations d
                WHERE d.workspace_id = row_ws AND d.id = row_id
                  AND d.vendor_id = public.onepane_scope_vendor())
            ELSE false
        END
    $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['connection_secrets', 'sync_streams', 'source_records',
        'sync_runs', 'crm_outbox', 'crm_pushes', 'oauth_states']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY system_all ON %I FOR ALL
            USING (onepane_scope_system()) WITH CHECK (onepane_scope_system())', t);
    END LOOP;
END $$;

-- The partner owns its connections' secrets and may read how its syncs go.
CREATE POLICY partner_all ON connection_secrets FOR ALL
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace());
CREATE POLICY partner_read ON sync_streams FOR SELECT
    USING (workspace_id = onepane_scope_workspace());
CREATE POLICY partner_read ON sync_runs FOR SELECT
    USING (workspace_id = onepane_scope_workspace());
CREATE POLICY partner_read ON crm_pushes FOR SELECT
    USING (workspace_id = onepane_scope_workspace());
CREATE POLICY partner_start ON oauth_states FOR INSERT
    WITH CHECK (workspace_id = onepane_scope_workspace());

-- A source's pages are written in its vendor's scope, into linked
-- workspaces only, and only under that vendor's connections (the foreign
-- key holds vendor_id to the connection's).
CREATE POLICY vendor_all ON sync_streams FOR ALL
    USING (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id))
    WITH CHECK (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id));
CREATE POLICY vendor_all ON source_records FOR ALL
    USING (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id))
    WITH CHECK (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id));

-- Whoever may write a lead or a registration marks it changed: the partner
-- its own, a vendor only those that are its own (a lead it sent, a
-- registration submitted to it, which it decides).
CREATE POLICY partner_all ON crm_outbox FOR ALL
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace());
CREATE POLICY vendor_mark ON crm_outbox FOR ALL
    USING (onepane_crm_outbox_vendor(workspace_id, entity, entity_id))
    WITH CHECK (onepane_crm_outbox_vendor(workspace_id, entity, entity_id));

-- A new CRM sink starts with every lead and registration of its workspace
-- to push.
CREATE POLICY partner_seed ON crm_pushes FOR INSERT
    WITH CHECK (workspace_id = onepane_scope_workspace() AND status = 'pending' AND attempts = 0);

-- The engine reads connections (and marks them failing or in need of
-- re-authorization), the leads and registrations it pushes and the names of
-- their vendors,
-- and notifies partners about their connections.
CREATE POLICY system_all ON connections FOR ALL
    USING (onepane_scope_system()) WITH CHECK (onepane_scope_system());
CREATE POLICY system_read ON leads FOR SELECT
    USING (onepane_scope_system());
CREATE POLICY system_read ON deal_registrations FOR SELECT
    USING (onepane_scope_system());
CREATE POLICY system_read ON vendors FOR SELECT
    USING (onepane_scope_system());
CREATE POLICY system_notify ON notifications FOR INSERT
    WITH CHECK (onepane_scope_system());
