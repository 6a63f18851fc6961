-- The vendor scorecard's ratings, and the clock told by mail (see the
-- PostgreSQL migration).
ALTER TABLE users ADD COLUMN time_zone TEXT;

CREATE TABLE vendor_ratings (
    workspace_id BLOB NOT NULL,
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    user_id BLOB NOT NULL,
    quarter TEXT NOT NULL,
    area TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    note TEXT,
    rated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, vendor_id, quarter, user_id, area),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id) ON DELETE CASCADE
);
CREATE INDEX vendor_ratings_vendor ON vendor_ratings (vendor_id, quarter);

CREATE TABLE mail_preferences (
    workspace_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    daily_digest INTEGER NOT NULL,
    urgent_leads INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id) ON DELETE CASCADE
);

CREATE TABLE mail_outbox (
    workspace_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    sent_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    error TEXT,
    PRIMARY KEY (workspace_id, user_id, kind, key),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id) ON DELETE CASCADE
);
CREATE INDEX mail_outbox_unsent ON mail_outbox (claimed_at) WHERE sent_at IS NULL;

-- The vendor index carries what the scorecard's count of leads reads (see
-- the PostgreSQL migration).
DROP INDEX leads_vendor;
CREATE INDEX leads_vendor ON leads (workspace_id, vendor_id, id, source, created_at, status, respond_by);
