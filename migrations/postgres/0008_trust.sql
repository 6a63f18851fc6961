-- Trust a partner can see: the access log, and pausing or ending a vendor.

-- 1. The access log. Every event says who (the actor and, for a vendor,
--    the API client it used), what (the kind and id of the record, and
--    whether it was read or changed) and when.
ALTER TABLE audit_events ADD COLUMN client text;
ALTER TABLE audit_events ADD COLUMN subject_kind text;
ALTER TABLE audit_events ADD COLUMN access text NOT NULL DEFAULT 'write';
CREATE INDEX audit_events_at ON audit_events (at);
-- A record's history (a lead's moves, what its vendor was told).
CREATE INDEX audit_events_subject ON audit_events (workspace_id, subject_kind, subject);

-- Append-only for every role. No role but the owner may update, delete or
-- truncate it; the trigger refuses every update and the deletion of any
-- event younger than the retention floor (30 days), the owner included.
DROP TRIGGER guard ON audit_events;
CREATE FUNCTION onepane_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, public
    AS $$
BEGIN
    IF TG_OP <> 'DELETE' OR OLD.at > now() - interval '30 days' THEN
        RAISE EXCEPTION 'onepane: the audit log is append-only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION onepane_audit_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION onepane_audit_append_only();

-- Retention: events older than `keep_days` (at least 30) go, through this
-- function only. It runs as the owner (these policies are the owner's
-- alone); the server role may call it.
CREATE POLICY retention ON audit_events FOR DELETE TO CURRENT_USER
    USING (at < now() - interval '30 days');
CREATE POLICY retention_read ON audit_events FOR SELECT TO CURRENT_USER
    USING (at < now() - interval '30 days');
CREATE FUNCTION onepane_prune_audit(keep_days integer) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$
DECLARE
    gone bigint;
BEGIN
    IF keep_days IS NULL OR keep_days < 30 THEN
        RAISE EXCEPTION 'onepane: audit events are kept at least 30 days, not %', keep_days
            USING ERRCODE = 'check_violation';
    END IF;
    DELETE FROM public.audit_events WHERE at < now() - make_interval(days => keep_days);
    GET DIAGNOSTICS gone = ROW_COUNT;
    RETURN gone;
END $$;
REVOKE ALL ON FUNCTION onepane_prune_audit(integer) FROM PUBLIC;
DO $$
DECLARE r text;
BEGIN
    FOR r IN SELECT DISTINCT grantee FROM information_schema.role_table_grants
             WHERE table_schema = 'public' AND table_name = 'audit_events'
               AND grantee NOT IN (current_user, 'PUBLIC')
    LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM %I', r);
        EXECUTE format('GRANT EXECUTE ON FUNCTION onepane_prune_audit(integer) TO %I', r);
    END LOOP;
END $$;

-- Webhook deliveries are recorded in the log of the workspace they are
-- about, and a delivery due while that workspace's link is not active is
-- dropped (the system scope reads the link and writes the event).
CREATE POLICY system_record ON audit_events FOR INSERT
    WITH CHECK (onepane_scope_system() AND actor_type = 'vendor' AND action = 'webhook.delivered');
CREATE POLICY system_links ON vendor_links FOR SELECT
    USING (onepane_scope_system());

-- 2. Pausing and ending a vendor. The partner owns its side of the link:
--    it may pause an active link, resume a paused one, and end either. An
--    ended link stays ended for the partner; only its status moves.
CREATE POLICY partner_status ON vendor_links FOR UPDATE
    USING (workspace_id = onepane_scope_workspace() AND status IN ('active', 'paused'))
    WITH CHECK (workspace_id = onepane_scope_workspace() AND status IN ('active', 'paused', 'ended'));
CREATE FUNCTION onepane_guard_link() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, public
    AS $$
BEGIN
    IF public.onepane_scope_workspace() IS NOT NULL
       AND (NEW.tier, NEW.partner_type, NEW.created_at)
           IS DISTINCT FROM (OLD.tier, OLD.partner_type, OLD.created_at) THEN
        RAISE EXCEPTION 'onepane: a partner may change only the status of its link'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER guard_partner BEFORE UPDATE ON vendor_links
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_link();

-- 3. What a webhook delivery is about: its workspace and record.
ALTER TABLE webhook_deliveries ADD COLUMN about_workspace_id uuid;
ALTER TABLE webhook_deliveries ADD COLUMN about_kind text;
ALTER TABLE webhook_deliveries ADD COLUMN about_id text;

-- 4. A person's data erased on request: what remains of the lead and its
--    registrations says when. The partner may rewrite a registration's
--    title and details (to remove personal data), nothing else of it: the
--    vendor's decision stays the vendor's.
ALTER TABLE leads ADD COLUMN erased_at timestamptz;
ALTER TABLE deal_registrations ADD COLUMN erased_at timestamptz;
CREATE POLICY partner_erase ON deal_registrations FOR UPDATE
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace());
CREATE FUNCTION onepane_guard_partner_deal() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, public
    AS $$
BEGIN
    IF public.onepane_scope_workspace() IS NOT NULL
       AND (NEW.vendor_id, NEW.lead_id, NEW.status, NEW.reason, NEW.protection_expires_on,
            NEW.extra_discount, NEW.submitted_by, NEW.submitted_at, NEW.decided_at)
           IS DISTINCT FROM
           (OLD.vendor_id, OLD.lead_id, OLD.status, OLD.reason, OLD.protection_expires_on,
            OLD.extra_discount, OLD.submitted_by, OLD.submitted_at, OLD.decided_at) THEN
        RAISE EXCEPTION 'onepane: a partner may change only the title and details of a registration'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER guard_partner BEFORE UPDATE ON deal_registrations
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_partner_deal();
-- A person is found by email among the workspace's leads.
CREATE INDEX leads_email ON leads (workspace_id, lower(contact ->> 'email'));

-- 5. An erasure a CRM sink must still carry out (HubSpot deletes a contact
--    for good by email). The address is kept only until the CRM confirms.
CREATE TABLE crm_erasures (
    workspace_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    id uuid NOT NULL,
    email text NOT NULL,
    attempts integer NOT NULL,
    due_at timestamptz NOT NULL,
    last_error text,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, connection_id, id),
    FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE
);
ALTER TABLE crm_erasures ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm_erasures FORCE ROW LEVEL SECURITY;
CREATE POLICY partner_all ON crm_erasures FOR ALL
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace());
CREATE POLICY system_all ON crm_erasures FOR ALL
    USING (onepane_scope_system()) WITH CHECK (onepane_scope_system());

-- 6. A notification's title as named values, so each member reads it in
--    their own language (the stored title is the English one).
ALTER TABLE notifications ADD COLUMN args jsonb;
