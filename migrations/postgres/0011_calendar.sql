-- A member's private calendar feed of the workspace's deadlines: found by
-- the digest of the secret in its URL (the secret itself is shown once),
-- one per member and workspace, replaced when the member resets it.
CREATE TABLE calendar_feeds (
    workspace_id uuid NOT NULL,
    user_id uuid NOT NULL,
    digest bytea NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, user_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX calendar_feeds_digest ON calendar_feeds (digest);
ALTER TABLE calendar_feeds ENABLE ROW LEVEL SECURITY;
ALTER TABLE calendar_feeds FORCE ROW LEVEL SECURITY;
CREATE TRIGGER guard BEFORE UPDATE ON calendar_feeds
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update();
CREATE POLICY partner_all ON calendar_feeds FOR ALL
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace());
-- The feed's URL is opened without a session: the server finds it by its
-- digest.
CREATE POLICY system_read ON calendar_feeds FOR SELECT
    USING (onepane_scope_system());
