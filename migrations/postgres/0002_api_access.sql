-- Onepane API access (PostgreSQL): vendor API clients, partner access
-- tokens, the keys that sign access tokens, idempotency records and the
-- webhook outbox.
--
-- A fourth scope joins the three of the foundation:
--   onepane.system  'on' for the server's own work that precedes or follows
--                   any tenant: checking a credential, loading signing keys,
--                   delivering webhooks, expiring idempotency records.

CREATE FUNCTION onepane_scope_system() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT COALESCE(current_setting('onepane.system', true), '') = 'on' $$;

-- A vendor's OAuth2 clients. The secret is kept only as an argon2id hash.
CREATE TABLE api_clients (
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    id uuid NOT NULL UNIQUE,
    name text NOT NULL,
    secret_hash text NOT NULL,
    scopes text NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz,
    PRIMARY KEY (vendor_id, id)
);

-- A partner user's personal access tokens, kept as SHA-256 digests (the
-- token is 256 random bits, so a slow hash would add nothing).
CREATE TABLE access_tokens (
    workspace_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    name text NOT NULL,
    token_hash bytea NOT NULL,
    created_at timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at timestamptz,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id)
);
CREATE UNIQUE INDEX access_tokens_hash ON access_tokens (token_hash);

-- Access-token signing keys. The private half is sealed with the server's
-- secret key; a retired key no longer signs but still verifies the tokens
-- it signed until they expire.
CREATE TABLE signing_keys (
    kid text COLLATE "C" PRIMARY KEY,
    algorithm text NOT NULL,
    public_key bytea NOT NULL,
    sealed_private_key bytea NOT NULL,
    created_at timestamptz NOT NULL,
    retired_at timestamptz
);

-- Idempotency records, per caller: the owner is 'workspace:<id>' or
-- 'vendor:<id>', the client the API client or access token.
CREATE TABLE idempotency_keys (
    owner text COLLATE "C" NOT NULL,
    client text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    request_hash bytea NOT NULL,
    state text NOT NULL,
    response_status integer,
    response_type text,
    response_body bytea,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (owner, client, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- A vendor's webhook subscription; the signing secret is sealed.
CREATE TABLE webhook_subscriptions (
    vendor_id uuid PRIMARY KEY REFERENCES vendors (id),
    url text NOT NULL,
    events text NOT NULL,
    sealed_secret bytea NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- The webhook outbox and delivery log. A partner's action writes its event
-- here in the same transaction as the action; the dispatcher delivers it.
CREATE TABLE webhook_deliveries (
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    id uuid NOT NULL,
    event text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    last_attempt_at timestamptz,
    last_response_status integer,
    last_error text,
    created_at timestamptz NOT NULL,
    delivered_at timestamptz,
    PRIMARY KEY (vendor_id, id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['api_clients', 'access_tokens', 'signing_keys',
        'idempotency_keys', 'webhook_subscriptions', 'webhook_deliveries']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END $$;

CREATE TRIGGER guard BEFORE UPDATE ON access_tokens
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update();

-- Credentials: created and revoked by the operator, read by the system
-- scope to authenticate a caller; a vendor sees its own clients.
CREATE POLICY operator_all ON api_clients FOR ALL
    USING (onepane_scope_operator()) WITH CHECK (onepane_scope_operator());
CREATE POLICY system_read ON api_clients FOR SELECT
    USING (onepane_scope_system());
CREATE POLICY vendor_read ON api_clients FOR SELECT
    USING (vendor_id = onepane_scope_vendor());

CREATE POLICY operator_all ON access_tokens FOR ALL
    USING (onepane_scope_operator()) WITH CHECK (onepane_scope_operator());
CREATE POLICY system_read ON access_tokens FOR SELECT
    USING (onepane_scope_system());
CREATE POLICY system_touch ON access_tokens FOR UPDATE
    USING (onepane_scope_system()) WITH CHECK (onepane_scope_system());
CREATE POLICY partner_all ON access_tokens FOR ALL
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace());

-- Signing keys are the system's alone; the operator rotates them.
CREATE POLICY system_all ON signing_keys FOR ALL
    USING (onepane_scope_system() OR onepane_scope_operator())
    WITH CHECK (onepane_scope_system() OR onepane_scope_operator());

-- Idempotency records: each caller its own; the system expires old ones.
CREATE POLICY owner_all ON idempotency_keys FOR ALL
    USING (owner = 'workspace:' || onepane_scope_workspace()::text
           OR owner = 'vendor:' || onepane_scope_vendor()::text)
    WITH CHECK (owner = 'workspace:' || onepane_scope_workspace()::text
                OR owner = 'vendor:' || onepane_scope_vendor()::text);
CREATE POLICY system_expire ON idempotency_keys FOR DELETE
    USING (onepane_scope_system());

-- Webhooks: the vendor manages its subscription and reads its delivery log;
-- it may put a dead delivery back in line, nothing else.
CREATE POLICY vendor_all ON webhook_subscriptions FOR ALL
    USING (vendor_id = onepane_scope_vendor())
    WITH CHECK (vendor_id = onepane_scope_vendor());
CREATE POLICY system_read ON webhook_subscriptions FOR SELECT
    USING (onepane_scope_system());
CREATE POLICY vendor_read ON webhook_deliveries FOR SELECT
    USING (vendor_id = onepane_scope_vendor());
CREATE POLICY vendor_redeliver ON webhook_deliveries FOR UPDATE
    USING (vendor_id = onepane_scope_vendor() AND status = 'dead')
    WITH CHECK (vendor_id = onepane_scope_vendor() AND status = 'pending');
-- A partner's action emits an event to a vendor linked to it, write-only:
-- the partner never reads the vendor's delivery log.
CREATE POLICY partner_emit ON webhook_deliveries FOR INSERT
    WITH CHECK (status = 'pending' AND attempts = 0
                AND EXISTS (SELECT 1 FROM public.vendor_links l
                            WHERE l.workspace_id = onepane_scope_workspace()
                              AND l.vendor_id = webhook_deliveries.vendor_id
                              AND l.status = 'active'));
CREATE POLICY system_all ON webhook_deliveries FOR ALL
    USING (onepane_scope_system()) WITH CHECK (onepane_scope_system());

-- Leads each activation brought in: the count a vendor may read, kept
-- beside the activation because the leads themselves are the partner's.
ALTER TABLE campaign_activations ADD COLUMN lead_count bigint NOT NULL DEFAULT 0;
