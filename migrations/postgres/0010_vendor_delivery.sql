-- Two-way vendor connections: what a partner submits to a vendor (a deal
-- registration, an answer to the vendor's lead) is delivered from this
-- outbox, written in the transaction that made it, to the vendor however
-- the vendor is reached (its own system through a connection, or Onepane's
-- connector API, where the vendor reads it itself), at least once and
-- idempotently at the vendor (the row's id is the idempotency key).
CREATE TABLE vendor_deliveries (
    workspace_id uuid NOT NULL,
    id uuid NOT NULL,
    vendor_id uuid NOT NULL,
    -- 'deal' (subject: a deal registration) or 'lead-answer' (a lead).
    kind text COLLATE "C" NOT NULL,
    subject_id uuid NOT NULL,
    -- How it reached the vendor, once known: 'vendor-system' (through
    -- connection_id), 'onepane-api'.
    route text COLLATE "C",
    connection_id uuid,
    -- pending | sent | refused | failed | unsupported
    status text COLLATE "C" NOT NULL,
    attempts integer NOT NULL,
    -- Moves by one each time the partner sends it anew (a newer answer, a
    -- refused registration retried): the idempotency key is id.generation.
    generation integer NOT NULL DEFAULT 0,
    due_at timestamptz NOT NULL,
    leased_until timestamptz,
    -- The vendor's own id for what it received.
    vendor_ref text,
    -- The vendor's message (a refusal's reason) or the last error.
    message text,
    -- A lead answer: {"accepted": bool, "reason": text|null}.
    answer jsonb,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, vendor_id) REFERENCES vendor_links (workspace_id, vendor_id),
    CONSTRAINT vendor_deliveries_kind CHECK (kind IN ('deal', 'lead-answer')),
    CONSTRAINT vendor_deliveries_status CHECK (status IN ('pending', 'sent', 'refused', 'failed', 'unsupported'))
);
-- One delivery per registration, and per lead the latest answer.
CREATE UNIQUE INDEX vendor_deliveries_subject ON vendor_deliveries (workspace_id, kind, subject_id);
-- What falls due, across workspaces (the deliverer's claim).
CREATE INDEX vendor_deliveries_due ON vendor_deliveries (due_at) WHERE status = 'pending';
-- A vendor's status read back names its own id.
CREATE INDEX vendor_deliveries_ref ON vendor_deliveries (workspace_id, vendor_id, vendor_ref)
    WHERE vendor_ref IS NOT NULL;

ALTER TABLE vendor_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE vendor_deliveries FORCE ROW LEVEL SECURITY;
CREATE TRIGGER guard BEFORE UPDATE ON vendor_deliveries
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update();

-- The deliverer claims, sends and records.
CREATE POLICY system_all ON vendor_deliveries FOR ALL
    USING (onepane_scope_system()) WITH CHECK (onepane_scope_system());
-- The partner reads its deliveries, and queues them: a new one, a newer
-- answer to a lead, or one retried by hand, always as pending and untried
-- (it cannot mark anything sent).
CREATE POLICY partner_read ON vendor_deliveries FOR SELECT
    USING (workspace_id = onepane_scope_workspace());
CREATE POLICY partner_queue ON vendor_deliveries FOR INSERT
    WITH CHECK (workspace_id = onepane_scope_workspace() AND status = 'pending'
                AND attempts = 0 AND vendor_ref IS NULL AND leased_until IS NULL);
CREATE POLICY partner_requeue ON vendor_deliveries FOR UPDATE
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace() AND status = 'pending'
                AND attempts = 0 AND vendor_ref IS NULL AND leased_until IS NULL);
-- A vendor reads what was delivered to it (its status stream names its own
-- ids), in linked workspaces only.
CREATE POLICY vendor_read ON vendor_deliveries FOR SELECT
    USING (vendor_id = onepane_scope_vendor() AND onepane_vendor_linked(workspace_id));

-- How each delivery went is recorded in the log of the workspace that sent
-- it, by the deliverer.
CREATE POLICY system_delivered ON audit_events FOR INSERT
    WITH CHECK (onepane_scope_system() AND actor_type = 'system'
                AND action IN ('deal-registration.delivered', 'lead.answer-delivered'));

-- A vendor with no system at all: the partner names the vendor's channel
-- contact, and registrations are mailed there with single-use links to
-- decide them.
CREATE TABLE vendor_contacts (
    workspace_id uuid NOT NULL,
    vendor_id uuid NOT NULL,
    email text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, vendor_id),
    FOREIGN KEY (workspace_id, vendor_id) REFERENCES vendor_links (workspace_id, vendor_id)
);
ALTER TABLE vendor_contacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE vendor_contacts FORCE ROW LEVEL SECURITY;
CREATE TRIGGER guard BEFORE UPDATE ON vendor_contacts
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update();
CREATE POLICY partner_all ON vendor_contacts FOR ALL
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace());
CREATE POLICY system_read ON vendor_contacts FOR SELECT
    USING (onepane_scope_system());

-- The links of a mailed registration: found by the digest of the token in
-- the link (the token itself is only in the mail), each for one decision,
-- until a deadline, used once (using one uses its sibling).
CREATE TABLE decision_links (
    workspace_id uuid NOT NULL,
    digest bytea NOT NULL,
    registration_id uuid NOT NULL,
    vendor_id uuid NOT NULL,
    decision text COLLATE "C" NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, digest),
    FOREIGN KEY (workspace_id, registration_id) REFERENCES deal_registrations (workspace_id, id) ON DELETE CASCADE,
    CONSTRAINT decision_links_decision CHECK (decision IN ('approve', 'reject'))
);
CREATE UNIQUE INDEX decision_links_digest ON decision_links (digest);
CREATE INDEX decision_links_registration ON decision_links (workspace_id, registration_id);
ALTER TABLE decision_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE decision_links FORCE ROW LEVEL SECURITY;
CREATE TRIGGER guard BEFORE UPDATE ON decision_links
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update();
-- Only the server's own work makes and uses them: the public page has no
-- tenant scope until a link names one.
CREATE POLICY system_all ON decision_links FOR ALL
    USING (onepane_scope_system()) WITH CHECK (onepane_scope_system());
-- The partner sees when its links were used (not their tokens, which are
-- not stored).
CREATE POLICY partner_read ON decision_links FOR SELECT
    USING (workspace_id = onepane_scope_workspace());
