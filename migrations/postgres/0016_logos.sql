-- Faces: a vendor's logo (an https address the vendor sets through the
-- API), shown beside its campaigns; and the partner's own uploaded logo,
-- shown in the portal's header and on its landing pages.

-- The vendor's logo. A vendor may change this one column of its own row
-- and nothing else; linked partners read it with the row.
ALTER TABLE vendors ADD COLUMN logo_url text;
CREATE POLICY vendor_update_self ON vendors FOR UPDATE
    USING (id = onepane_scope_vendor())
    WITH CHECK (id = onepane_scope_vendor());
CREATE TRIGGER guard BEFORE UPDATE ON vendors
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update('logo_url');

-- A workspace's uploaded logo: PNG, JPEG or SVG (checked before it is
-- stored), at most 256 KiB. The digest names the version, so pages can
-- link to it for long caching.
CREATE TABLE workspace_logos (
    workspace_id uuid PRIMARY KEY REFERENCES workspaces (id),
    content_type text NOT NULL
        CHECK (content_type IN ('image/png', 'image/jpeg', 'image/svg+xml')),
    bytes bytea NOT NULL CHECK (octet_length(bytes) BETWEEN 1 AND 262144),
    digest bytea NOT NULL,
    updated_at timestamptz NOT NULL
);
ALTER TABLE workspace_logos ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspace_logos FORCE ROW LEVEL SECURITY;
CREATE TRIGGER guard BEFORE UPDATE ON workspace_logos
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update();
CREATE POLICY partner_all ON workspace_logos FOR ALL
    USING (workspace_id = onepane_scope_workspace())
    WITH CHECK (workspace_id = onepane_scope_workspace());
