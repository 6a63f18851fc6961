-- Trust a partner can see: the access log, and pausing or ending a vendor.

-- 1. The access log: who (the actor and, for a vendor, the API client it
--    used), what (the kind and id of the record, read or changed), when.
ALTER TABLE audit_events ADD COLUMN client TEXT;
ALTER TABLE audit_events ADD COLUMN subject_kind TEXT;
ALTER TABLE audit_events ADD COLUMN access TEXT NOT NULL DEFAULT 'write';
CREATE INDEX audit_events_at ON audit_events (at);
-- A record's history (a lead's moves, what its vendor was told).
CREATE INDEX audit_events_subject ON audit_events (workspace_id, subject_kind, subject);

-- Append-only: no update, and no deletion of an event younger than the
-- retention floor (30 days). Pruning deletes only older events.
CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'onepane: the audit log is append-only');
END;
CREATE TRIGGER audit_events_kept BEFORE DELETE ON audit_events
    WHEN julianday(old.at) > julianday('now', '-30 days')
BEGIN
    SELECT RAISE(ABORT, 'onepane: the audit log is append-only');
END;

-- 3. What a webhook delivery is about: its workspace and record.
ALTER TABLE webhook_deliveries ADD COLUMN about_workspace_id BLOB;
ALTER TABLE webhook_deliveries ADD COLUMN about_kind TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN about_id TEXT;

-- 4. A person's data erased on request: what remains of the lead and its
--    registrations says when.
ALTER TABLE leads ADD COLUMN erased_at TEXT;
ALTER TABLE deal_registrations ADD COLUMN erased_at TEXT;
-- A person is found by email among the workspace's leads.
CREATE INDEX leads_email ON leads (workspace_id, lower(json_extract(contact, '$.email')));

-- 5. An erasure a CRM sink must still carry out (HubSpot deletes a contact
--    for good by email). The address is kept only until the CRM confirms.
CREATE TABLE crm_erasures (
    workspace_id BLOB NOT NULL,
    connection_id BLOB NOT NULL,
    id BLOB NOT NULL,
    email TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    due_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, connection_id, id),
    FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE
);

-- 6. A notification's title as named values, so each member reads it in
--    their own language (the stored title is the English one).
ALTER TABLE notifications ADD COLUMN args TEXT;
