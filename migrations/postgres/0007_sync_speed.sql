-- Source syncs at the speed of the database (PostgreSQL).
--
-- 1. A vendor transaction that works in one workspace (a source's page,
--    the end of a pass) names it in `onepane.vendor_workspace`; the vendor
--    policies of the tables such a transaction writes check the link once
--    per statement (an InitPlan), not once per row. Without the setting,
--    or for a row of another workspace, the per-row check applies as
--    before: the setting can only narrow what a vendor reaches, never
--    widen it, since the function below checks the link itself.

-- The workspace a vendor transaction works in, when the vendor has an
-- active link to it; otherwise NULL.
CREATE FUNCTION onepane_vendor_workspace() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT l.workspace_id FROM public.vendor_links l
        WHERE l.workspace_id = NULLIF(current_setting('onepane.vendor_workspace', true), '')::uuid
          AND l.vendor_id = public.onepane_scope_vendor()
          AND l.status = 'active'
    $$;

DO $$
DECLARE
    t text;
    mine text := 'vendor_id = onepane_scope_vendor() AND (workspace_id = (SELECT onepane_vendor_workspace()) OR onepane_vendor_linked(workspace_id))';
BEGIN
    FOREACH t IN ARRAY ARRAY['campaigns', 'assets', 'price_lists', 'price_items',
        'sync_streams', 'source_records']
    LOOP
        EXECUTE format('ALTER POLICY vendor_all ON %I USING (%s) WITH CHECK (%s)', t, mine, mine);
    END LOOP;
    EXECUTE format('ALTER POLICY vendor_read ON leads USING (onepane_scope_vendor() IS NOT NULL AND %s
        AND (source = ''vendor'' OR shared_with_vendor_at IS NOT NULL))', mine);
    EXECUTE format('ALTER POLICY vendor_send ON leads WITH CHECK (%s
        AND source = ''vendor'' AND status = ''new'' AND shared_with_vendor_at IS NULL)', mine);
    EXECUTE format('ALTER POLICY vendor_resend ON leads USING (%s AND source = ''vendor'' AND status = ''new'')
        WITH CHECK (%s AND source = ''vendor'' AND status = ''new'')', mine, mine);
END $$;

-- The outbox mark of a lead or registration the vendor owns: in the
-- workspace the transaction works in, a lookup by key in the same
-- statement instead of a function call per row.
DO $$
DECLARE
    owned text := $p$CASE WHEN workspace_id = (SELECT onepane_vendor_workspace()) THEN
               CASE entity
                   WHEN 'lead' THEN EXISTS (SELECT 1 FROM public.leads l
                       WHERE l.workspace_id = crm_outbox.workspace_id AND l.id = crm_outbox.entity_id
                         AND l.vendor_id = onepane_scope_vendor())
                   WHEN 'deal' THEN EXISTS (SELECT 1 FROM public.deal_registrations d
                       WHERE d.workspace_id = crm_outbox.workspace_id AND d.id = crm_outbox.entity_id
                         AND d.vendor_id = onepane_scope_vendor())
                   ELSE false
               END
           ELSE onepane_crm_outbox_vendor(workspace_id, entity, entity_id) END$p$;
BEGIN
    EXECUTE format('ALTER POLICY vendor_mark ON crm_outbox USING (%s) WITH CHECK (%s)', owned, owned);
END $$;

-- 2. Leaner bookkeeping. `source_records` keeps what change detection and
--    deletes need: the record's key and a 128-bit hash of its content
--    (SHA-256, truncated). The pass that last wrote a record and when were
--    never read: a run keeps the keys it saw in memory.
ALTER TABLE source_records DROP COLUMN seen_pass, DROP COLUMN updated_at;

-- 3. Fewer index entries per lead: only leads that came from a campaign
--    are found by campaign (a pulled or entered lead has none).
DROP INDEX leads_campaign;
CREATE INDEX leads_campaign ON leads (workspace_id, campaign_id) WHERE campaign_id IS NOT NULL;

-- A lead's name, email and company were kept twice, as columns beside the
-- contact and company documents, and never read from the columns: search
-- reads `search_text`, everything else the documents.
ALTER TABLE leads DROP COLUMN contact_name, DROP COLUMN contact_email, DROP COLUMN company_name;

-- 4. Plans that do not depend on statistics. A table that grew from empty
--    without ANALYZE (autovacuum off, or faster than it runs) has no column
--    statistics, and the planner then rates every index that matches two
--    equalities alike. The outbox policy's lookup of a lead by workspace
--    and id (the vendor's own read policy adds the vendor) then chose the
--    index on workspace, vendor and status, and read all of the vendor's
--    leads for every mark: a sync slowed from thousands of leads a second
--    to a hundred. The indexes that led there no longer match that lookup:
--    - the new leads per vendor (the home page) are the only ones found by
--      vendor and status: a partial index holds just those;
--    - the upsert's key keeps its columns, the external id before the
--      vendor, so that it serves lookups by external id, never by vendor
--      alone.
DROP INDEX leads_vendor_status;
CREATE INDEX leads_vendor_new ON leads (workspace_id, vendor_id) WHERE status = 'new';
ALTER TABLE leads DROP CONSTRAINT leads_workspace_id_vendor_id_external_id_key;
CREATE UNIQUE INDEX leads_external ON leads (workspace_id, external_id, vendor_id);

-- 5. A pulled lead's content hash is kept on the lead itself: change
--    detection looks the lead up by its source key, which tells at once
--    whether the partner has acted on it, and a lead costs no
--    `source_records` row (leads are never deleted by a pass, which is
--    what the other streams' records are kept for). NULL when the lead
--    was last written by other means (the vendor API): the next sync
--    writes it again.
ALTER TABLE leads ADD COLUMN source_hash bytea;
DELETE FROM source_records WHERE stream = 'leads';
DROP TRIGGER guard ON leads;
CREATE TRIGGER guard BEFORE UPDATE ON leads
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update('search_text', 'contact', 'company',
        'message', 'respond_by', 'updated_at', 'source_hash');

-- 6. Outbox marks only where a CRM sink will take them. A workspace says
--    whether it has a CRM sink; a source's page marks its leads in the
--    outbox only then (the marks were taken off again, unpushed, by the
--    next push run otherwise). A sink being added and a page being written
--    at once are ordered by an advisory lock on the workspace: the page
--    holds it shared, the new sink exclusively, so either the page sees
--    the sink and marks its leads, or the sink's first pushes (every lead
--    of the workspace) include the page's.
ALTER TABLE workspaces ADD COLUMN has_crm_sink boolean NOT NULL DEFAULT false;
ALTER TABLE workspaces NO FORCE ROW LEVEL SECURITY;
ALTER TABLE connections NO FORCE ROW LEVEL SECURITY;
UPDATE workspaces w SET has_crm_sink = true
    WHERE EXISTS (SELECT 1 FROM connections c WHERE c.workspace_id = w.id AND c.purpose = 'crm-sink');
ALTER TABLE workspaces FORCE ROW LEVEL SECURITY;
ALTER TABLE connections FORCE ROW LEVEL SECURITY;

-- 7. A page whose answer is the same as when it was last read whole is not
--    read record by record again: `source_pages` keeps, per request (the
--    page's position and the pass's `since`), a fingerprint of the answer
--    (128 bits of the SHA-256 of its body, its `Link` header and the
--    manifest that maps it), with the next page, total and count it gave:
--    the same answer again is not even parsed. Kept for streams a pass never
--    deletes from (leads, the tier), whose records need not be seen one by
--    one; written with the page, only when none of its records failed.
CREATE TABLE source_pages (
    workspace_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    vendor_id uuid NOT NULL,
    stream text COLLATE "C" NOT NULL,
    request text COLLATE "C" NOT NULL,
    fingerprint bytea NOT NULL,
    next_page jsonb,
    total bigint,
    records bigint NOT NULL,
    PRIMARY KEY (workspace_id, connection_id, stream, request),
    FOREIGN KEY (workspace_id, connection_id, vendor_id)
        REFERENCES connections (workspace_id, id, vendor_id) ON DELETE CASCADE
);
ALTER TABLE source_pages ENABLE ROW LEVEL SECURITY;
ALTER TABLE source_pages FORCE ROW LEVEL SECURITY;
CREATE POLICY system_all ON source_pages FOR ALL
    USING (onepane_scope_system()) WITH CHECK (onepane_scope_system());
CREATE POLICY vendor_all ON source_pages FOR ALL
    USING (vendor_id = onepane_scope_vendor() AND (workspace_id = (SELECT onepane_vendor_workspace()) OR onepane_vendor_linked(workspace_id)))
    WITH CHECK (vendor_id = onepane_scope_vendor() AND (workspace_id = (SELECT onepane_vendor_workspace()) OR onepane_vendor_linked(workspace_id)));
