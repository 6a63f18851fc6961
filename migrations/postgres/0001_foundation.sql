-- Onepane foundation schema (PostgreSQL).
--
-- Every tenant table carries workspace_id first in its primary key and
-- indexes; vendor-originated rows also carry vendor_id. Row-level security is
-- enabled and forced on every table, so even the owner role is subject to it;
-- the server connects as a role that owns nothing and has no BYPASSRLS.
--
-- The scope of a unit of work is set per transaction by the store with
-- set_config(..., true):
--   onepane.workspace_id  partner scope: one workspace
--   onepane.vendor_id     vendor scope: one vendor, in workspaces linked to it
--   onepane.operator      'on' for the operator's explicit operations

CREATE FUNCTION onepane_scope_workspace() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('onepane.workspace_id', true), '')::uuid $$;

CREATE FUNCTION onepane_scope_vendor() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('onepane.vendor_id', true), '')::uuid $$;

CREATE FUNCTION onepane_scope_operator() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT COALESCE(current_setting('onepane.operator', true), '') = 'on' $$;

-- Text that lists sort by is compared byte-wise ("C"), as SQLite does, so
-- both backends list in the same order whatever the server's locale.
CREATE TABLE workspaces (
    id uuid PRIMARY KEY,
    name text COLLATE "C" NOT NULL,
    home_currency text NOT NULL,
    locale text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE users (
    id uuid PRIMARY KEY,
    email text COLLATE "C" NOT NULL UNIQUE,
    display_name text,
    created_at timestamptz NOT NULL
);

CREATE TABLE memberships (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    user_id uuid NOT NULL REFERENCES users (id),
    role text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE vendors (
    id uuid PRIMARY KEY,
    name text COLLATE "C" NOT NULL,
    kind text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE vendor_links (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    tier text NOT NULL,
    partner_type text NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, vendor_id)
);
CREATE INDEX vendor_links_vendor ON vendor_links (vendor_id, workspace_id, status);

-- Whether the current vendor scope has an active link to a workspace.
-- SECURITY INVOKER: it reads vendor_links through the vendor's own policy.
-- Names are schema-qualified: a function body is resolved when it runs, and
-- an unqualified name could be shadowed by a temporary table.
CREATE FUNCTION onepane_vendor_linked(ws uuid) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT EXISTS (
            SELECT 1 FROM public.vendor_links l
            WHERE l.workspace_id = ws
              AND l.vendor_id = public.onepane_scope_vendor()
              AND l.status = 'active'
        )
    $$;

CREATE TABLE connections (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    id uuid NOT NULL,
    vendor_id uuid REFERENCES vendors (id),
    purpose text NOT NULL,
    connector text NOT NULL,
    name text NOT NULL,
    schedule text,
    status text NOT NULL,
    settings jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE campaigns (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    id uuid NOT NULL,
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    external_id text COLLATE "C" NOT NULL,
    status text NOT NULL,
    starts_on date,
    ends_on date,
    content jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, vendor_id, external_id)
);

CREATE TABLE campaign_activations (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    id uuid NOT NULL,
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    campaign_id uuid NOT NULL,
    slug text NOT NULL UNIQUE,
    activated_by uuid REFERENCES users (id),
    activated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, campaign_id),
    FOREIGN KEY (workspace_id, campaign_id) REFERENCES campaigns (workspace_id, id)
);
CREATE INDEX campaign_activations_vendor ON campaign_activations (workspace_id, vendor_id);

CREATE TABLE leads (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    id uuid NOT NULL,
    vendor_id uuid REFERENCES vendors (id),
    campaign_id uuid,
    activation_id uuid,
    external_id text,
    source text NOT NULL,
    status text NOT NULL,
    contact_name text NOT NULL,
    contact_email text,
    company_name text,
    -- Lowercased contact name, email and company, for search (lowercased in
    -- the application, so both backends match the same way).
    search_text text NOT NULL,
    contact jsonb NOT NULL,
    company jsonb,
    message text,
    respond_by timestamptz,
    shared_with_vendor_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, vendor_id, external_id),
    FOREIGN KEY (workspace_id, campaign_id) REFERENCES campaigns (workspace_id, id),
    FOREIGN KEY (workspace_id, activation_id) REFERENCES campaign_activations (workspace_id, id)
);
CREATE INDEX leads_vendor ON leads (workspace_id, vendor_id, id);
CREATE INDEX leads_campaign ON leads (workspace_id, campaign_id);

CREATE TABLE assets (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    id uuid NOT NULL,
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    external_id text NOT NULL,
    kind text NOT NULL,
    content jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, vendor_id, external_id)
);

CREATE TABLE price_lists (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    id uuid NOT NULL,
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    external_id text NOT NULL,
    currency text NOT NULL,
    terms jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, vendor_id, external_id)
);

CREATE TABLE price_items (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    id uuid NOT NULL,
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    price_list_id uuid NOT NULL,
    sku text COLLATE "C" NOT NULL,
    name text NOT NULL,
    category text,
    list_price numeric NOT NULL,
    currency text NOT NULL,
    item jsonb NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, price_list_id, sku),
    FOREIGN KEY (workspace_id, price_list_id) REFERENCES price_lists (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX price_items_vendor ON price_items (workspace_id, vendor_id, category);

CREATE TABLE sell_rules (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    id uuid NOT NULL,
    vendor_id uuid REFERENCES vendors (id),
    category text,
    method text NOT NULL,
    percent numeric NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE NULLS NOT DISTINCT (workspace_id, vendor_id, category)
);

CREATE TABLE exchange_rates (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    base text NOT NULL,
    quote text NOT NULL,
    as_of date NOT NULL,
    rate numeric NOT NULL,
    PRIMARY KEY (workspace_id, base, quote, as_of)
);

CREATE TABLE deal_registrations (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    id uuid NOT NULL,
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    lead_id uuid,
    title text NOT NULL,
    details jsonb NOT NULL,
    status text NOT NULL,
    reason text,
    protection_expires_on date,
    extra_discount numeric,
    submitted_by uuid REFERENCES users (id),
    submitted_at timestamptz NOT NULL,
    decided_at timestamptz,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id)
);
CREATE INDEX deal_registrations_vendor ON deal_registrations (workspace_id, vendor_id, updated_at);

CREATE TABLE notifications (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    id uuid NOT NULL,
    kind text NOT NULL,
    vendor_id uuid REFERENCES vendors (id),
    title text NOT NULL,
    body text,
    link text,
    read_at timestamptz,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE audit_events (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    id uuid NOT NULL,
    actor_type text NOT NULL,
    actor_id uuid,
    action text NOT NULL,
    subject text,
    detail jsonb NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

-- Row-level security: enabled and forced everywhere.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['workspaces', 'users', 'memberships', 'vendors', 'vendor_links',
        'connections', 'campaigns', 'campaign_activations', 'leads', 'assets', 'price_lists',
        'price_items', 'sell_rules', 'exchange_rates', 'deal_registrations', 'notifications',
        'audit_events']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END $$;

-- Updates: keys and origins never change (a row cannot be moved into another
-- workspace or to another vendor), and in the vendor scope only the columns
-- the vendor owns may change (the trigger's arguments; '*' for all but keys).
-- The one key change allowed: the partner attributing an unattributed row to
-- a vendor (a lead registered as a deal with that vendor).
CREATE FUNCTION onepane_guard_update() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, public
    AS $$
DECLARE
    changed text[];
BEGIN
    SELECT COALESCE(array_agg(n.key), '{}') INTO changed
    FROM jsonb_each(to_jsonb(NEW)) n
    WHERE n.value IS DISTINCT FROM to_jsonb(OLD) -> n.key;
    IF changed && ARRAY['workspace_id', 'id', 'created_at', 'source', 'external_id'] THEN
        RAISE EXCEPTION 'onepane: % may not change %', TG_TABLE_NAME, changed
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF 'vendor_id' = ANY (changed)
       AND NOT ((to_jsonb(OLD) ->> 'vendor_id') IS NULL
                AND public.onepane_scope_workspace() IS NOT NULL) THEN
        RAISE EXCEPTION 'onepane: % may not change its vendor', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF public.onepane_scope_vendor() IS NOT NULL
       AND NOT ('*' = ANY (TG_ARGV) OR changed <@ TG_ARGV) THEN
        RAISE EXCEPTION 'onepane: a vendor may not change % of %', changed, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER guard BEFORE UPDATE ON workspaces
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update();
CREATE TRIGGER guard BEFORE UPDATE ON vendor_links
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update('tier', 'updated_at');
CREATE TRIGGER guard BEFORE UPDATE ON leads
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update('contact_name', 'contact_email',
        'company_name', 'search_text', 'contact', 'company', 'message', 'respond_by', 'updated_at');
CREATE TRIGGER guard BEFORE UPDATE ON deal_registrations
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update('status', 'reason',
        'protection_expires_on', 'extra_discount', 'decided_at', 'updated_at');
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['campaigns', 'assets', 'price_lists', 'price_items']
    LOOP
        EXECUTE format('CREATE TRIGGER guard BEFORE UPDATE ON %I
            FOR EACH ROW EXECUTE FUNCTION onepane_guard_update(''*'')', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['memberships', 'connections', 'campaign_activations',
        'sell_rules', 'exchange_rates', 'notifications', 'audit_events']
    LOOP
        EXECUTE format('CREATE TRIGGER guard BEFORE UPDATE ON %I
            FOR EACH ROW EXECUTE FUNCTION onepane_guard_update()', t);
    END LOOP;
END $$;

-- The partner scope: its own workspace. It owns its people, connections,
-- activations, rules, rates and notifications outright.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['memberships', 'connections', 'campaign_activations',
        'sell_rules', 'exchange_rates', 'notifications']
    LOOP
        EXECUTE format('CREATE POLICY partner_all ON %I FOR ALL
            USING (workspace_id = onepane_scope_workspace())
            WITH CHECK (workspace_id = onepane_scope_workspace())', t);
    END LOOP;
    -- What vendors publish is read-only to the partner.
    FOREACH t IN ARRAY ARRAY['vendor_links', 'campaigns', 'assets', 'price_lists',
        'price_items', 'leads', 'deal_registrations', 'audit_events']
    LOOP
        EXECUTE format('CREATE POLICY partner_read ON %I FOR SELECT
            USING (workspace_id = onepane_scope_workspace())', t);
    END LOOP;
END $$;

CREATE POLICY partner_read ON workspaces FOR SELECT
    USING (id = onepane_scope_workspace());
CREATE POLICY partner_update ON workspaces FOR UPDATE
    USING (id = onepane_scope_workspace())
    WITH CHECK (id = onepane_scope_workspace());
-- Leads: the partner enters and works its leads, but cannot pass one off as
-- sent by a vendor.
CREATE POLICY partner_enter ON leads FOR INSERT
    WITH CHECK (workspace_id = onepane_scope_workspace() AND source <> 'vendor');
CREATE POLICY partner_work ON leads FOR UPDATE
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace());
-- Deal registrations: submitted by the partner, decided only by the vendor.
CREATE POLICY partner_submit ON deal_registrations FOR INSERT
    WITH CHECK (workspace_id = onepane_scope_workspace() AND status = 'submitted'
                AND reason IS NULL AND protection_expires_on IS NULL
                AND extra_discount IS NULL AND decided_at IS NULL);
-- The audit log is append-only, and a partner writes only as its users or the system.
CREATE POLICY partner_record ON audit_events FOR INSERT
    WITH CHECK (workspace_id = onepane_scope_workspace() AND actor_type IN ('user', 'system'));
CREATE POLICY partner_members ON users FOR SELECT
    USING (EXISTS (SELECT 1 FROM memberships m
                   WHERE m.user_id = users.id AND m.workspace_id = onepane_scope_workspace()));
CREATE POLICY partner_linked ON vendors FOR SELECT
    USING (EXISTS (SELECT 1 FROM vendor_links l
                   WHERE l.vendor_id = vendors.id AND l.workspace_id = onepane_scope_workspace()));

-- The vendor scope: its own rows, in workspaces with an active link.
CREATE POLICY vendor_self ON vendors FOR SELECT
    USING (id = onepane_scope_vendor());
CREATE POLICY vendor_linked ON workspaces FOR SELECT
    USING (onepane_vendor_linked(id));
CREATE POLICY vendor_read ON vendor_links FOR SELECT
    USING (vendor_id = onepane_scope_vendor());
-- Tiers are the vendor's to set (the guard trigger lets only the tier change).
CREATE POLICY vendor_update ON vendor_links FOR UPDATE
    USING (vendor_id = onepane_scope_vendor() AND status = 'active')
    WITH CHECK (vendor_id = onepane_scope_vendor() AND status = 'active');

-- Content the vendor publishes: full control of its own rows.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['campaigns', 'assets', 'price_lists', 'price_items']
    LOOP
        EXECUTE format('CREATE POLICY vendor_all ON %I FOR ALL
            USING (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id))
            WITH CHECK (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id))', t);
    END LOOP;
END $$;

-- Activations of the vendor's campaigns: readable (counts), never writable.
CREATE POLICY vendor_read ON campaign_activations FOR SELECT
    USING (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id));

-- Leads are the partner's: a vendor sees the leads it sent and the ones the
-- partner shared with it (a deal registration shares its lead), nothing else;
-- it may resend (update) its own lead only while the partner has not acted.
CREATE POLICY vendor_read ON leads FOR SELECT
    USING (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id)
           AND (source = 'vendor' OR shared_with_vendor_at IS NOT NULL));
CREATE POLICY vendor_send ON leads FOR INSERT
    WITH CHECK (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id)
                AND source = 'vendor' AND status = 'new' AND shared_with_vendor_at IS NULL);
CREATE POLICY vendor_resend ON leads FOR UPDATE
    USING (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id)
           AND source = 'vendor' AND status = 'new')
    WITH CHECK (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id)
                AND source = 'vendor' AND status = 'new');

-- Deal registrations submitted to the vendor: read, and decide once.
CREATE POLICY vendor_read ON deal_registrations FOR SELECT
    USING (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id));
CREATE POLICY vendor_decide ON deal_registrations FOR UPDATE
    USING (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id)
           AND status = 'submitted')
    WITH CHECK (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id)
                AND status IN ('approved', 'rejected'));

-- A vendor's actions notify the partner and are audited, write-only.
CREATE POLICY vendor_notify ON notifications FOR INSERT
    WITH CHECK (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id));
CREATE POLICY vendor_audit ON audit_events FOR INSERT
    WITH CHECK (actor_type = 'vendor' AND actor_id = onepane_scope_vendor()
                AND onepane_vendor_linked(workspace_id));

-- The migration history is the owner's: whatever default privileges granted
-- on it, other roles may only read it (the server checks it is current).
DO $$
DECLARE r text;
BEGIN
    FOR r IN SELECT DISTINCT grantee FROM information_schema.role_table_grants
             WHERE table_schema = 'public' AND table_name = '_sqlx_migrations'
               AND grantee NOT IN (current_user, 'PUBLIC')
    LOOP
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON _sqlx_migrations FROM %I', r);
    END LOOP;
END $$;

-- The operator's explicit operations: organizations, people and links, and
-- an append-only record of them.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['workspaces', 'users', 'memberships', 'vendors', 'vendor_links']
    LOOP
        EXECUTE format('CREATE POLICY operator_all ON %I FOR ALL
            USING (onepane_scope_operator()) WITH CHECK (onepane_scope_operator())', t);
    END LOOP;
END $$;
CREATE POLICY operator_record ON audit_events FOR INSERT
    WITH CHECK (onepane_scope_operator() AND actor_type = 'operator');
