-- Deleting a connection (see the PostgreSQL migration): the jobs of a
-- deleted connection go with it. SQLite changes a foreign key only by
-- rebuilding the table (the migrations run with foreign keys off).
CREATE TABLE jobs_rebuilt (
    workspace_id BLOB NOT NULL,
    id BLOB NOT NULL,
    connection_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    scheduled_for TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    run_after TEXT NOT NULL,
    lease_owner TEXT,
    lease_expires_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, connection_id, kind, scheduled_for),
    FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE
);
INSERT INTO jobs_rebuilt (workspace_id, id, connection_id, kind, scheduled_for, status, attempts,
        max_attempts, run_after, lease_owner, lease_expires_at, last_error, created_at, updated_at)
    SELECT workspace_id, id, connection_id, kind, scheduled_for, status, attempts,
        max_attempts, run_after, lease_owner, lease_expires_at, last_error, created_at, updated_at
    FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_rebuilt RENAME TO jobs;
CREATE INDEX jobs_due ON jobs (workspace_id, run_after) WHERE status IN ('pending', 'running');
