-- Deleting a connection. Its plumbing goes with it: the jobs scheduled or
-- asked for it (this key had no ON DELETE, so a connection that had ever
-- run could not be deleted), like its secrets, stream positions, record
-- hashes, runs, CRM pushes and authorizations already do. What it synced
-- (leads, campaigns, prices and the rest) is the partner's and stays: those
-- rows name the vendor, never the connection.
--
-- The partner deletes the connection under its own policy (`partner_all`
-- on connections); the cascade is the foreign key's, which PostgreSQL runs
-- as the table's owner past row-level security, and which reaches only the
-- rows keyed by that connection's (workspace_id, id).
DO $$
DECLARE fk text;
BEGIN
    SELECT c.conname INTO fk
    FROM pg_constraint c
    WHERE c.conrelid = 'public.jobs'::regclass
      AND c.confrelid = 'public.connections'::regclass
      AND c.contype = 'f';
    IF fk IS NOT NULL THEN
        EXECUTE format('ALTER TABLE public.jobs DROP CONSTRAINT %I', fk);
    END IF;
END $$;
ALTER TABLE jobs ADD CONSTRAINT jobs_connection_fkey
    FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE;
