-- Source syncs at the speed of the database (SQLite): the same bookkeeping
-- and indexes as the PostgreSQL schema.

-- `source_records` keeps what change detection and deletes need: the
-- record's key and a 128-bit hash of its content (SHA-256, truncated).
ALTER TABLE source_records DROP COLUMN seen_pass;
ALTER TABLE source_records DROP COLUMN updated_at;

-- Only leads that came from a campaign are found by campaign.
DROP INDEX leads_campaign;
CREATE INDEX leads_campaign ON leads (workspace_id, campaign_id) WHERE campaign_id IS NOT NULL;

-- A lead's name, email and company were kept twice, as columns beside the
-- contact and company documents, and never read from the columns: search
-- reads `search_text`, everything else the documents.
ALTER TABLE leads DROP COLUMN contact_name;
ALTER TABLE leads DROP COLUMN contact_email;
ALTER TABLE leads DROP COLUMN company_name;

-- The new leads per vendor (the home page) are the only ones found by
-- vendor and status: a partial index holds just those.
DROP INDEX leads_vendor_status;
CREATE INDEX leads_vendor_new ON leads (workspace_id, vendor_id) WHERE status = 'new';

-- A pulled lead's content hash is kept on the lead itself (see the
-- PostgreSQL schema): leads cost no `source_records` row.
ALTER TABLE leads ADD COLUMN source_hash BLOB;
DELETE FROM source_records WHERE stream = 'leads';

-- Outbox marks only where a CRM sink will take them (see the PostgreSQL
-- schema; SQLite has one writer at a time, so needs no lock).
ALTER TABLE workspaces ADD COLUMN has_crm_sink INTEGER NOT NULL DEFAULT 0;
UPDATE workspaces SET has_crm_sink = 1
    WHERE EXISTS (SELECT 1 FROM connections c WHERE c.workspace_id = workspaces.id AND c.purpose = 'crm-sink');

-- A fingerprint of each page's answer, for streams a pass never deletes
-- from (see the PostgreSQL schema).
CREATE TABLE source_pages (
    workspace_id BLOB NOT NULL,
    connection_id BLOB NOT NULL,
    vendor_id BLOB NOT NULL,
    stream TEXT NOT NULL,
    request TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    next_page TEXT,
    total INTEGER,
    records INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, connection_id, stream, request),
    FOREIGN KEY (workspace_id, connection_id, vendor_id)
        REFERENCES connections (workspace_id, id, vendor_id) ON DELETE CASCADE
);
