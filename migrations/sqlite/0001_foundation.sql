-- Onepane foundation schema (SQLite, the embedded default).
--
-- The same tables as the PostgreSQL schema. Ids are 16-byte UUID blobs,
-- times RFC 3339 text, money exact decimal text. SQLite has no row-level
-- security: the store's scoped queries are the only way in (one process owns
-- the file).

CREATE TABLE workspaces (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    home_currency TEXT NOT NULL,
    locale TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id BLOB PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE memberships (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    user_id BLOB NOT NULL REFERENCES users (id),
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE vendors (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE vendor_links (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    tier TEXT NOT NULL,
    partner_type TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, vendor_id)
);
CREATE INDEX vendor_links_vendor ON vendor_links (vendor_id, workspace_id, status);

CREATE TABLE connections (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    id BLOB NOT NULL,
    vendor_id BLOB REFERENCES vendors (id),
    purpose TEXT NOT NULL,
    connector TEXT NOT NULL,
    name TEXT NOT NULL,
    schedule TEXT,
    status TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE campaigns (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    id BLOB NOT NULL,
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    external_id TEXT NOT NULL,
    status TEXT NOT NULL,
    starts_on TEXT,
    ends_on TEXT,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, vendor_id, external_id)
);

CREATE TABLE campaign_activations (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    id BLOB NOT NULL,
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    campaign_id BLOB NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    activated_by BLOB REFERENCES users (id),
    activated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, campaign_id),
    FOREIGN KEY (workspace_id, campaign_id) REFERENCES campaigns (workspace_id, id)
);
CREATE INDEX campaign_activations_vendor ON campaign_activations (workspace_id, vendor_id);

CREATE TABLE leads (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    id BLOB NOT NULL,
    vendor_id BLOB REFERENCES vendors (id),
    campaign_id BLOB,
    activation_id BLOB,
    external_id TEXT,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    contact_email TEXT,
    company_name TEXT,
    -- Lowercased contact name, email and company, for search.
    search_text TEXT NOT NULL,
    contact TEXT NOT NULL,
    company TEXT,
    message TEXT,
    respond_by TEXT,
    shared_with_vendor_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, vendor_id, external_id),
    FOREIGN KEY (workspace_id, campaign_id) REFERENCES campaigns (workspace_id, id),
    FOREIGN KEY (workspace_id, activation_id) REFERENCES campaign_activations (workspace_id, id)
);
CREATE INDEX leads_vendor ON leads (workspace_id, vendor_id, id);
CREATE INDEX leads_campaign ON leads (workspace_id, campaign_id);

CREATE TABLE assets (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    id BLOB NOT NULL,
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    external_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, vendor_id, external_id)
);

CREATE TABLE price_lists (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    id BLOB NOT NULL,
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    external_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    terms TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, vendor_id, external_id)
);

CREATE TABLE price_items (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    id BLOB NOT NULL,
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    price_list_id BLOB NOT NULL,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    category TEXT,
    list_price TEXT NOT NULL,
    currency TEXT NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, price_list_id, sku),
    FOREIGN KEY (workspace_id, price_list_id) REFERENCES price_lists (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX price_items_vendor ON price_items (workspace_id, vendor_id, category);

CREATE TABLE sell_rules (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    id BLOB NOT NULL,
    vendor_id BLOB REFERENCES vendors (id),
    category TEXT,
    method TEXT NOT NULL,
    percent TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX sell_rules_selector
    ON sell_rules (workspace_id, COALESCE(vendor_id, x''), COALESCE(category, ''));

CREATE TABLE exchange_rates (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    base TEXT NOT NULL,
    quote TEXT NOT NULL,
    as_of TEXT NOT NULL,
    rate TEXT NOT NULL,
    PRIMARY KEY (workspace_id, base, quote, as_of)
);

CREATE TABLE deal_registrations (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    id BLOB NOT NULL,
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    lead_id BLOB,
    title TEXT NOT NULL,
    details TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    protection_expires_on TEXT,
    extra_discount TEXT,
    submitted_by BLOB REFERENCES users (id),
    submitted_at TEXT NOT NULL,
    decided_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id)
);
CREATE INDEX deal_registrations_vendor ON deal_registrations (workspace_id, vendor_id, updated_at);

CREATE TABLE notifications (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    id BLOB NOT NULL,
    kind TEXT NOT NULL,
    vendor_id BLOB REFERENCES vendors (id),
    title TEXT NOT NULL,
    body TEXT,
    link TEXT,
    read_at TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE audit_events (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    id BLOB NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id BLOB,
    action TEXT NOT NULL,
    subject TEXT,
    detail TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

