-- The scorecard's lead figures, kept as the leads change instead of counted
-- per page view (see the PostgreSQL migration): each workspace's vendor
-- leads per vendor and day of arrival (UTC).
CREATE TABLE lead_tallies (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    day TEXT NOT NULL,
    sent INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    won INTEGER NOT NULL,
    windows INTEGER NOT NULL,
    window_seconds INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, vendor_id, day)
) WITHOUT ROWID;

-- Each lead counts +1 as it is and -1 as it was.
CREATE TRIGGER leads_tally_insert AFTER INSERT ON leads
WHEN NEW.source = 'vendor' AND NEW.vendor_id IS NOT NULL
BEGIN
    INSERT INTO lead_tallies
        (workspace_id, vendor_id, day, sent, accepted, won, windows, window_seconds)
    VALUES (NEW.workspace_id, NEW.vendor_id, date(NEW.created_at), 1,
            NEW.status IN ('accepted', 'working', 'qualified', 'won', 'lost'),
            NEW.status = 'won', NEW.respond_by IS NOT NULL,
            COALESCE(unixepoch(NEW.respond_by) - unixepoch(NEW.created_at), 0))
    ON CONFLICT (workspace_id, vendor_id, day) DO UPDATE SET
        sent = sent + excluded.sent, accepted = accepted + excluded.accepted,
        won = won + excluded.won, windows = windows + excluded.windows,
        window_seconds = window_seconds + excluded.window_seconds;
END;

CREATE TRIGGER leads_tally_update
AFTER UPDATE OF workspace_id, vendor_id, source, status, respond_by, created_at ON leads
BEGIN
    UPDATE lead_tallies SET
        sent = sent - 1,
        accepted = accepted - (OLD.status IN ('accepted', 'working', 'qualified', 'won', 'lost')),
        won = won - (OLD.status = 'won'),
        windows = windows - (OLD.respond_by IS NOT NULL),
        window_seconds = window_seconds
            - COALESCE(unixepoch(OLD.respond_by) - unixepoch(OLD.created_at), 0)
    WHERE OLD.source = 'vendor' AND OLD.vendor_id IS NOT NULL
      AND workspace_id = OLD.workspace_id AND vendor_id = OLD.vendor_id
      AND day = date(OLD.created_at);
    INSERT INTO lead_tallies
        (workspace_id, vendor_id, day, sent, accepted, won, windows, window_seconds)
    SELECT NEW.workspace_id, NEW.vendor_id, date(NEW.created_at), 1,
           NEW.status IN ('accepted', 'working', 'qualified', 'won', 'lost'),
           NEW.status = 'won', NEW.respond_by IS NOT NULL,
           COALESCE(unixepoch(NEW.respond_by) - unixepoch(NEW.created_at), 0)
    WHERE NEW.source = 'vendor' AND NEW.vendor_id IS NOT NULL
    ON CONFLICT (workspace_id, vendor_id, day) DO UPDATE SET
        sent = sent + excluded.sent, accepted = accepted + excluded.accepted,
        won = won + excluded.won, windows = windows + excluded.windows,
        window_seconds = window_seconds + excluded.window_seconds;
END;

CREATE TRIGGER leads_tally_delete AFTER DELETE ON leads
WHEN OLD.source = 'vendor' AND OLD.vendor_id IS NOT NULL
BEGIN
    UPDATE lead_tallies SET
        sent = sent - 1,
        accepted = accepted - (OLD.status IN ('accepted', 'working', 'qualified', 'won', 'lost')),
        won = won - (OLD.status = 'won'),
        windows = windows - (OLD.respond_by IS NOT NULL),
        window_seconds = window_seconds
            - COALESCE(unixepoch(OLD.respond_by) - unixepoch(OLD.created_at), 0)
    WHERE workspace_id = OLD.workspace_id AND vendor_id = OLD.vendor_id
      AND day = date(OLD.created_at);
END;

-- The leads there are now, tallied once.
INSERT INTO lead_tallies
    (workspace_id, vendor_id, day, sent, accepted, won, windows, window_seconds)
SELECT workspace_id, vendor_id, date(created_at), COUNT(*),
       SUM(status IN ('accepted', 'working', 'qualified', 'won', 'lost')),
       SUM(status = 'won'), COUNT(respond_by),
       COALESCE(SUM(unixepoch(respond_by) - unixepoch(created_at)), 0)
FROM leads
WHERE source = 'vendor' AND vendor_id IS NOT NULL
GROUP BY workspace_id, vendor_id, date(created_at);

-- The vendor index of leads no longer carries what the scorecard counted
-- (0013): back to the key alone.
DROP INDEX leads_vendor;
CREATE INDEX leads_vendor ON leads (workspace_id, vendor_id, id);
