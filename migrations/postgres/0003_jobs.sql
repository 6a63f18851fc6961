-- Durable jobs (PostgreSQL): one row per unit of scheduled or requested
-- work on a connection (a sync run, a push to a CRM). Workers claim due
-- jobs with a lease (FOR UPDATE SKIP LOCKED), renew it while working, and a
-- job whose worker died is taken over when the lease runs out. A job per
-- (connection, kind, scheduled tick) is unique, so replicas that all see the
-- same tick enqueue it once.

CREATE TABLE jobs (
    workspace_id uuid NOT NULL,
    id uuid NOT NULL,
    connection_id uuid NOT NULL,
    kind text NOT NULL,
    scheduled_for timestamptz NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL,
    max_attempts integer NOT NULL,
    run_after timestamptz NOT NULL,
    lease_owner text,
    lease_expires_at timestamptz,
    last_error text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, connection_id, kind, scheduled_for),
    FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id)
);
-- Workers look across workspaces for what is due; the system scope only.
CREATE INDEX jobs_due ON jobs (workspace_id, run_after) WHERE status IN ('pending', 'running');

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE TRIGGER guard BEFORE UPDATE ON jobs
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update();

-- The system scope runs jobs; a partner sees its own and may ask for one.
CREATE POLICY system_all ON jobs FOR ALL
    USING (onepane_scope_system()) WITH CHECK (onepane_scope_system());
CREATE POLICY partner_read ON jobs FOR SELECT
    USING (workspace_id = onepane_scope_workspace());
CREATE POLICY partner_request ON jobs FOR INSERT
    WITH CHECK (workspace_id = onepane_scope_workspace() AND status = 'pending' AND attempts = 0);
