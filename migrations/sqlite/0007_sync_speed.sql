-- Source syncs at the speed of the database (SQLite): the same bookkeeping
-- and indexes as the PostgreSQL schema.

-- `source_records` keeps what change detection and deletes need: the
-- record's key and a 128-bit hash of its content (SHA-256, truncated).
ALTER TABLE source_records DROP COLUMN seen_pass;
ALTER TABLE source_records DROP COLUMN updated_at;

-- Only leads that came from a campaign are found by campaign.
DROP INDEX leads_campaign;
CREATE INDEX leads_campaign ON leads (workspace_id, campaign_id) WHERE campaign_id IS NOT NULL;
