-- The vendor scorecard's ratings, and the clock told by mail: each
-- member's mail choices and time zone, and an outbox that sends each mail
-- once whatever the number of replicas.

-- A member's time zone (an IANA name such as `Europe/Helsinki`): mail and
-- pages say times in it. NULL: UTC.
ALTER TABLE users ADD COLUMN time_zone text;

-- A member's rating of a vendor on one of the seven partner-experience
-- areas (brand, enablement, transactions, products, use, support,
-- relationship), once a quarter: rating again in the same quarter
-- replaces it. Only the workspace reads its members' ratings; a vendor
-- never reads them, only aggregates over at least five partners, which the
-- server computes in the system scope.
CREATE TABLE vendor_ratings (
    workspace_id uuid NOT NULL,
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    user_id uuid NOT NULL,
    -- The quarter, as `2026-Q4`.
    quarter text COLLATE "C" NOT NULL,
    area text NOT NULL,
    score smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
    note text,
    rated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, vendor_id, quarter, user_id, area),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id) ON DELETE CASCADE
);
-- The vendor scorecard's aggregate over every partner reads by vendor.
CREATE INDEX vendor_ratings_vendor ON vendor_ratings (vendor_id, quarter);
ALTER TABLE vendor_ratings ENABLE ROW LEVEL SECURITY;
ALTER TABLE vendor_ratings FORCE ROW LEVEL SECURITY;
CREATE TRIGGER guard BEFORE UPDATE ON vendor_ratings
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update();
CREATE POLICY partner_all ON vendor_ratings FOR ALL
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace());
CREATE POLICY system_read ON vendor_ratings FOR SELECT
    USING (onepane_scope_system());

-- What mail a member wants: a daily digest of what falls due in the next
-- seven days and what was missed, and mail at once for a new lead whose
-- answer-by time is under 48 hours away. No row: neither.
CREATE TABLE mail_preferences (
    workspace_id uuid NOT NULL,
    user_id uuid NOT NULL,
    daily_digest boolean NOT NULL,
    urgent_leads boolean NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, user_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id) ON DELETE CASCADE
);
ALTER TABLE mail_preferences ENABLE ROW LEVEL SECURITY;
ALTER TABLE mail_preferences FORCE ROW LEVEL SECURITY;
CREATE TRIGGER guard BEFORE UPDATE ON mail_preferences
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update();
CREATE POLICY partner_all ON mail_preferences FOR ALL
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace());
-- The sender finds who wants mail, and a signed unsubscribe link (opened
-- without a session) turns a choice off.
CREATE POLICY system_all ON mail_preferences FOR ALL
    USING (onepane_scope_system()) WITH CHECK (onepane_scope_system());

-- Each mail once: a replica claims a mail by inserting its key (the
-- member's local day for a digest, the lead for an urgent lead); the
-- replica whose insert took it sends it. A claim not marked sent after a
-- while is taken over (the replica died), so a mail is never lost.
CREATE TABLE mail_outbox (
    workspace_id uuid NOT NULL,
    user_id uuid NOT NULL,
    kind text NOT NULL,
    key text COLLATE "C" NOT NULL,
    claimed_at timestamptz NOT NULL,
    sent_at timestamptz,
    attempts integer NOT NULL DEFAULT 1,
    error text,
    PRIMARY KEY (workspace_id, user_id, kind, key),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id) ON DELETE CASCADE
);
-- Claims left unsent, for the take-over.
CREATE INDEX mail_outbox_unsent ON mail_outbox (claimed_at) WHERE sent_at IS NULL;
ALTER TABLE mail_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE mail_outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY system_all ON mail_outbox FOR ALL
    USING (onepane_scope_system()) WITH CHECK (onepane_scope_system());

-- The scorecard counts a workspace's leads per vendor over a period (sent,
-- accepted, won, answer-by windows): the vendor index carries what that
-- count reads, so it is read from the index alone, not from 100,000 rows.
DROP INDEX leads_vendor;
CREATE INDEX leads_vendor ON leads (workspace_id, vendor_id, id)
    INCLUDE (source, created_at, status, respond_by);
