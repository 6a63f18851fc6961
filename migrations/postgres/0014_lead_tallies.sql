-- The scorecard's lead figures, kept as the leads change instead of counted
-- per page view: each workspace's vendor leads per vendor and day of arrival
-- (UTC), how many were sent, how many the partner accepted (and may have
-- worked since), how many it won, how many came with an answer-by time and
-- those windows' seconds summed. A scorecard period is whole UTC days, so it
-- sums at most a few thousand of these rows instead of counting every lead.
CREATE TABLE lead_tallies (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    day date NOT NULL,
    sent bigint NOT NULL,
    accepted bigint NOT NULL,
    won bigint NOT NULL,
    windows bigint NOT NULL,
    window_seconds bigint NOT NULL,
    PRIMARY KEY (workspace_id, vendor_id, day)
);

-- Written only by the triggers below, in the scope of whoever changed the
-- leads: the partner (its answers), the vendor (the leads it sends, in
-- workspaces linked to it) and the system scope (which also reads them for
-- the vendors' aggregate scorecards).
ALTER TABLE lead_tallies ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_tallies FORCE ROW LEVEL SECURITY;
CREATE POLICY partner_all ON lead_tallies FOR ALL
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace());
CREATE POLICY vendor_all ON lead_tallies FOR ALL
    USING (vendor_id = onepane_scope_vendor()
        AND (workspace_id = (SELECT onepane_vendor_workspace()) OR onepane_vendor_linked(workspace_id)))
    WITH CHECK (vendor_id = onepane_scope_vendor()
        AND (workspace_id = (SELECT onepane_vendor_workspace()) OR onepane_vendor_linked(workspace_id)));
CREATE POLICY system_all ON lead_tallies FOR ALL
    USING (onepane_scope_system()) WITH CHECK (onepane_scope_system());

-- One statement's changes to leads, tallied: each lead counts +1 as it is
-- after the statement and -1 as it was before (a transition table each),
-- summed per key, so a bulk write of a thousand leads is one upsert of a
-- few rows and a change the scorecard does not count writes nothing.
CREATE FUNCTION onepane_tally_leads() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO lead_tallies AS t
            (workspace_id, vendor_id, day, sent, accepted, won, windows, window_seconds)
        SELECT workspace_id, vendor_id, (created_at AT TIME ZONE 'UTC')::date, COUNT(*),
               COUNT(*) FILTER (WHERE status IN ('accepted', 'working', 'qualified', 'won', 'lost')),
               COUNT(*) FILTER (WHERE status = 'won'), COUNT(respond_by),
               COALESCE(SUM(floor(extract(epoch FROM respond_by)) - floor(extract(epoch FROM created_at))), 0)
        FROM added
        WHERE source = 'vendor' AND vendor_id IS NOT NULL
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
        ON CONFLICT (workspace_id, vendor_id, day) DO UPDATE SET
            sent = t.sent + excluded.sent, accepted = t.accepted + excluded.accepted,
            won = t.won + excluded.won, windows = t.windows + excluded.windows,
            window_seconds = t.window_seconds + excluded.window_seconds;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO lead_tallies AS t
            (workspace_id, vendor_id, day, sent, accepted, won, windows, window_seconds)
        SELECT workspace_id, vendor_id, day, SUM(sent), SUM(accepted), SUM(won), SUM(windows),
               SUM(window_seconds)
        FROM (
            SELECT workspace_id, vendor_id, (created_at AT TIME ZONE 'UTC')::date AS day, 1 AS sent,
                   (status IN ('accepted', 'working', 'qualified', 'won', 'lost'))::int AS accepted,
                   (status = 'won')::int AS won, (respond_by IS NOT NULL)::int AS windows,
                   COALESCE(floor(extract(epoch FROM respond_by)) - floor(extract(epoch FROM created_at)), 0)
                       AS window_seconds
            FROM after WHERE source = 'vendor' AND vendor_id IS NOT NULL
            UNION ALL
            SELECT workspace_id, vendor_id, (created_at AT TIME ZONE 'UTC')::date, -1,
                   -(status IN ('accepted', 'working', 'qualified', 'won', 'lost'))::int,
                   -(status = 'won')::int, -(respond_by IS NOT NULL)::int,
                   -COALESCE(floor(extract(epoch FROM respond_by)) - floor(extract(epoch FROM created_at)), 0)
            FROM before WHERE source = 'vendor' AND vendor_id IS NOT NULL
        ) AS change
        GROUP BY 1, 2, 3
        HAVING SUM(sent) <> 0 OR SUM(accepted) <> 0 OR SUM(won) <> 0 OR SUM(windows) <> 0
            OR SUM(window_seconds) <> 0
        ORDER BY 1, 2, 3
        ON CONFLICT (workspace_id, vendor_id, day) DO UPDATE SET
            sent = t.sent + excluded.sent, accepted = t.accepted + excluded.accepted,
            won = t.won + excluded.won, windows = t.windows + excluded.windows,
            window_seconds = t.window_seconds + excluded.window_seconds;
    ELSE
        UPDATE lead_tallies AS t SET
            sent = t.sent - g.sent, accepted = t.accepted - g.accepted, won = t.won - g.won,
            windows = t.windows - g.windows, window_seconds = t.window_seconds - g.window_seconds
        FROM (
            SELECT workspace_id, vendor_id, (created_at AT TIME ZONE 'UTC')::date AS day,
                   COUNT(*) AS sent,
                   COUNT(*) FILTER (WHERE status IN ('accepted', 'working', 'qualified', 'won', 'lost'))
                       AS accepted,
                   COUNT(*) FILTER (WHERE status = 'won') AS won, COUNT(respond_by) AS windows,
                   COALESCE(SUM(floor(extract(epoch FROM respond_by)) - floor(extract(epoch FROM created_at))), 0)
                       AS window_seconds
            FROM gone WHERE source = 'vendor' AND vendor_id IS NOT NULL
            GROUP BY 1, 2, 3
        ) AS g
        WHERE t.workspace_id = g.workspace_id AND t.vendor_id = g.vendor_id AND t.day = g.day;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tally_insert AFTER INSERT ON leads
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION onepane_tally_leads();
CREATE TRIGGER tally_update AFTER UPDATE ON leads
    REFERENCING OLD TABLE AS before NEW TABLE AS after
    FOR EACH STATEMENT EXECUTE FUNCTION onepane_tally_leads();
CREATE TRIGGER tally_delete AFTER DELETE ON leads
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION onepane_tally_leads();
-- The tallies are the leads' own figures: they follow every change, also
-- one made with triggers off for replication (session_replication_role).
ALTER TABLE leads ENABLE ALWAYS TRIGGER tally_insert;
ALTER TABLE leads ENABLE ALWAYS TRIGGER tally_update;
ALTER TABLE leads ENABLE ALWAYS TRIGGER tally_delete;

-- The leads there are now, tallied once (in the system scope: the table
-- forces row-level security on the role that migrates too).
SELECT set_config('onepane.system', 'on', true);
INSERT INTO lead_tallies
    (workspace_id, vendor_id, day, sent, accepted, won, windows, window_seconds)
SELECT workspace_id, vendor_id, (created_at AT TIME ZONE 'UTC')::date, COUNT(*),
       COUNT(*) FILTER (WHERE status IN ('accepted', 'working', 'qualified', 'won', 'lost')),
       COUNT(*) FILTER (WHERE status = 'won'), COUNT(respond_by),
       COALESCE(SUM(floor(extract(epoch FROM respond_by)) - floor(extract(epoch FROM created_at))), 0)
FROM leads
WHERE source = 'vendor' AND vendor_id IS NOT NULL
GROUP BY 1, 2, 3;
SELECT set_config('onepane.system', '', true);

-- The vendor index of leads no longer carries what the scorecard counted
-- (0013): back to the key alone.
DROP INDEX leads_vendor;
CREATE INDEX leads_vendor ON leads (workspace_id, vendor_id, id);
