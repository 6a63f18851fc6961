-- A member's private calendar feed of the workspace's deadlines (see the
-- PostgreSQL migration).
CREATE TABLE calendar_feeds (
    workspace_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    digest BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX calendar_feeds_digest ON calendar_feeds (digest);
