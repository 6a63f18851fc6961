-- Two-way vendor connections: what a partner submits to a vendor (a deal
-- registration, an answer to the vendor's lead) is delivered from this
-- outbox, written in the transaction that made it (see the PostgreSQL
-- migration for the columns).
CREATE TABLE vendor_deliveries (
    workspace_id BLOB NOT NULL,
    id BLOB NOT NULL,
    vendor_id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('deal', 'lead-answer')),
    subject_id BLOB NOT NULL,
    route TEXT,
    connection_id BLOB,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'refused', 'failed', 'unsupported')),
    attempts INTEGER NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0,
    due_at TEXT NOT NULL,
    leased_until TEXT,
    vendor_ref TEXT,
    message TEXT,
    answer TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, vendor_id) REFERENCES vendor_links (workspace_id, vendor_id)
);
CREATE UNIQUE INDEX vendor_deliveries_subject ON vendor_deliveries (workspace_id, kind, subject_id);
CREATE INDEX vendor_deliveries_due ON vendor_deliveries (due_at) WHERE status = 'pending';
CREATE INDEX vendor_deliveries_ref ON vendor_deliveries (workspace_id, vendor_id, vendor_ref)
    WHERE vendor_ref IS NOT NULL;

CREATE TABLE vendor_contacts (
    workspace_id BLOB NOT NULL,
    vendor_id BLOB NOT NULL,
    email TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, vendor_id),
    FOREIGN KEY (workspace_id, vendor_id) REFERENCES vendor_links (workspace_id, vendor_id)
);

CREATE TABLE decision_links (
    workspace_id BLOB NOT NULL,
    digest BLOB NOT NULL,
    registration_id BLOB NOT NULL,
    vendor_id BLOB NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    expires_at TEXT NOT NULL,
    used_at TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, digest),
    FOREIGN KEY (workspace_id, registration_id) REFERENCES deal_registrations (workspace_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX decision_links_digest ON decision_links (digest);
CREATE INDEX decision_links_registration ON decision_links (workspace_id, registration_id);
