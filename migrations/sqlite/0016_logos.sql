-- Faces: a vendor's logo and a workspace's uploaded logo (see the
-- PostgreSQL migration).
ALTER TABLE vendors ADD COLUMN logo_url TEXT;

CREATE TABLE workspace_logos (
    workspace_id BLOB PRIMARY KEY REFERENCES workspaces (id),
    content_type TEXT NOT NULL
        CHECK (content_type IN ('image/png', 'image/jpeg', 'image/svg+xml')),
    bytes BLOB NOT NULL CHECK (length(bytes) BETWEEN 1 AND 262144),
    digest BLOB NOT NULL,
    updated_at TEXT NOT NULL
);
