-- What a vendor publishes is stored once per vendor, not copied into every
-- linked workspace: a workspace sees it through its link (active or paused)
-- when the link's tier, partner type and regions are in the content's
-- audience. What the partner does with it (activations, landing pages,
-- leads, notifications) stays the partner's, keyed by workspace. Content a
-- partner's own connection pulls from a vendor's system (each partner's own
-- view) stays in the per-workspace tables `campaigns`, `assets`,
-- `price_lists` and `price_items`. See the PostgreSQL migration for the
-- row-level security that enforces the same in the database there.
--
-- Two tables are rebuilt below to drop a foreign key: the store runs
-- SQLite's migrations with foreign keys off and checks them all afterwards.

-- The regions a vendor gives a partner, like its tier: a JSON array.
ALTER TABLE vendor_links ADD COLUMN regions TEXT NOT NULL DEFAULT '[]';

CREATE TABLE published_campaigns (
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    id BLOB NOT NULL,
    external_id TEXT NOT NULL,
    status TEXT NOT NULL,
    starts_on TEXT,
    ends_on TEXT,
    -- The content's audience ({tiers, partner_types, regions}).
    audience TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (vendor_id, id),
    UNIQUE (vendor_id, external_id)
);

CREATE TABLE published_assets (
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    id BLOB NOT NULL,
    external_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    audience TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (vendor_id, id),
    UNIQUE (vendor_id, external_id)
);

CREATE TABLE published_price_lists (
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    id BLOB NOT NULL,
    external_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    terms TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (vendor_id, id),
    UNIQUE (vendor_id, external_id)
);

CREATE TABLE published_price_items (
    vendor_id BLOB NOT NULL,
    price_list_id BLOB NOT NULL,
    sku TEXT NOT NULL,
    id BLOB NOT NULL,
    name TEXT NOT NULL,
    category TEXT,
    list_price TEXT NOT NULL,
    currency TEXT NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (vendor_id, price_list_id, sku),
    FOREIGN KEY (vendor_id, price_list_id) REFERENCES published_price_lists (vendor_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
-- A SKU looked up across a vendor's lists (a deal's product line).
CREATE INDEX published_price_items_sku ON published_price_items (vendor_id, sku);


CREATE TABLE content_announcements (
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    id BLOB NOT NULL,
    campaign_id BLOB NOT NULL,
    after BLOB,
    created_at TEXT NOT NULL,
    PRIMARY KEY (vendor_id, id)
);
CREATE INDEX content_announcements_due ON content_announcements (created_at);

-- Rebuilt without the foreign key to `campaigns`: an activation or a lead
-- may now name a published campaign.
CREATE TABLE campaign_activations_new (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    id BLOB NOT NULL,
    vendor_id BLOB NOT NULL REFERENCES vendors (id),
    campaign_id BLOB NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    activated_by BLOB REFERENCES users (id),
    activated_at TEXT NOT NULL,
    lead_count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, campaign_id)
);
INSERT INTO campaign_activations_new
    (workspace_id, id, vendor_id, campaign_id, slug, activated_by, activated_at, lead_count)
SELECT workspace_id, id, vendor_id, campaign_id, slug, activated_by, activated_at, lead_count
FROM campaign_activations;
DROP TABLE campaign_activations;
ALTER TABLE campaign_activations_new RENAME TO campaign_activations;
CREATE INDEX campaign_activations_vendor ON campaign_activations (workspace_id, vendor_id);
-- A vendor counts the activations of one of its campaigns.
CREATE INDEX campaign_activations_campaign ON campaign_activations (vendor_id, campaign_id);

CREATE TABLE leads_new (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    id BLOB NOT NULL,
    vendor_id BLOB REFERENCES vendors (id),
    campaign_id BLOB,
    activation_id BLOB,
    external_id TEXT,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    search_text TEXT NOT NULL,
    contact TEXT NOT NULL,
    company TEXT,
    message TEXT,
    respond_by TEXT,
    shared_with_vendor_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    source_hash BLOB,
    erased_at TEXT,
    consent TEXT CHECK (consent IS NULL OR source = 'campaign'),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, vendor_id, external_id),
    FOREIGN KEY (workspace_id, activation_id) REFERENCES campaign_activations (workspace_id, id)
);
INSERT INTO leads_new
    (workspace_id, id, vendor_id, campaign_id, activation_id, external_id, source, status,
     search_text, contact, company, message, respond_by, shared_with_vendor_at, created_at,
     updated_at, source_hash, erased_at, consent)
SELECT workspace_id, id, vendor_id, campaign_id, activation_id, external_id, source, status,
       search_text, contact, company, message, respond_by, shared_with_vendor_at, created_at,
       updated_at, source_hash, erased_at, consent
FROM leads;
DROP TABLE leads;
ALTER TABLE leads_new RENAME TO leads;
CREATE INDEX leads_vendor ON leads (workspace_id, vendor_id, id);
CREATE INDEX leads_status ON leads (workspace_id, status, respond_by);
CREATE INDEX leads_campaign_created ON leads (workspace_id, created_at) WHERE campaign_id IS NOT NULL;
CREATE INDEX leads_campaign ON leads (workspace_id, campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX leads_vendor_new ON leads (workspace_id, vendor_id) WHERE status = 'new';
CREATE INDEX leads_email ON leads (workspace_id, lower(json_extract(contact, '$.email')));
CREATE TRIGGER leads_consent_fixed BEFORE UPDATE OF consent ON leads
    WHEN NEW.consent IS NOT OLD.consent
BEGIN
    SELECT RAISE(ABORT, 'onepane: a lead''s consent record may not change');
END;

-- Fold the per-workspace copies of what vendors published (everything a
-- connection did not pull) into one row per vendor and external id: the
-- newest copy's content, the earliest copy's arrival. Activations, leads
-- and notifications that named a copy name the folded row.
CREATE TABLE fold_map (kind TEXT, workspace_id BLOB, old_id BLOB, new_id BLOB);

INSERT INTO fold_map (kind, workspace_id, old_id, new_id)
SELECT 'campaign', c.workspace_id, c.id,
       (SELECT k.id FROM campaigns k
        WHERE k.vendor_id = c.vendor_id AND k.external_id = c.external_id
          AND NOT EXISTS (SELECT 1 FROM source_records s
                          WHERE s.workspace_id = k.workspace_id AND s.vendor_id = k.vendor_id
                            AND s.stream = 'campaigns' AND s.key = k.external_id)
        ORDER BY k.updated_at DESC, k.id LIMIT 1)
FROM campaigns c
WHERE NOT EXISTS (SELECT 1 FROM source_records s
                  WHERE s.workspace_id = c.workspace_id AND s.vendor_id = c.vendor_id
                    AND s.stream = 'campaigns' AND s.key = c.external_id);

INSERT INTO published_campaigns (vendor_id, id, external_id, status, starts_on, ends_on,
                                 audience, content, created_at, updated_at)
SELECT c.vendor_id, c.id, c.external_id, c.status, c.starts_on, c.ends_on,
       COALESCE(json_extract(c.content, '$.audience'), '{}'), c.content,
       (SELECT min(k.created_at) FROM fold_map f JOIN campaigns k
          ON k.workspace_id = f.workspace_id AND k.id = f.old_id
        WHERE f.kind = 'campaign' AND f.new_id = c.id),
       c.updated_at
FROM campaigns c
WHERE c.id IN (SELECT new_id FROM fold_map WHERE kind = 'campaign');

UPDATE campaign_activations SET campaign_id = f.new_id FROM fold_map f
WHERE f.kind = 'campaign' AND campaign_activations.workspace_id = f.workspace_id
  AND campaign_activations.campaign_id = f.old_id;
UPDATE leads SET campaign_id = f.new_id FROM fold_map f
WHERE f.kind = 'campaign' AND leads.workspace_id = f.workspace_id AND leads.campaign_id = f.old_id;
-- Notification links hold the id as text.
UPDATE notifications SET link = '/campaigns/' || (
        SELECT lower(substr(hex(f.new_id), 1, 8) || '-' || substr(hex(f.new_id), 9, 4) || '-'
               || substr(hex(f.new_id), 13, 4) || '-' || substr(hex(f.new_id), 17, 4) || '-'
               || substr(hex(f.new_id), 21))
        FROM fold_map f
        WHERE f.kind = 'campaign' AND f.workspace_id = notifications.workspace_id
          AND notifications.link = '/campaigns/' || lower(substr(hex(f.old_id), 1, 8) || '-'
               || substr(hex(f.old_id), 9, 4) || '-' || substr(hex(f.old_id), 13, 4) || '-'
               || substr(hex(f.old_id), 17, 4) || '-' || substr(hex(f.old_id), 21)))
WHERE link LIKE '/campaigns/%' AND EXISTS (
        SELECT 1 FROM fold_map f
        WHERE f.kind = 'campaign' AND f.workspace_id = notifications.workspace_id
          AND notifications.link = '/campaigns/' || lower(substr(hex(f.old_id), 1, 8) || '-'
               || substr(hex(f.old_id), 9, 4) || '-' || substr(hex(f.old_id), 13, 4) || '-'
               || substr(hex(f.old_id), 17, 4) || '-' || substr(hex(f.old_id), 21)));
DELETE FROM campaigns WHERE EXISTS (
    SELECT 1 FROM fold_map f
    WHERE f.kind = 'campaign' AND f.workspace_id = campaigns.workspace_id AND f.old_id = campaigns.id);

INSERT INTO fold_map (kind, workspace_id, old_id, new_id)
SELECT 'asset', c.workspace_id, c.id,
       (SELECT k.id FROM assets k
        WHERE k.vendor_id = c.vendor_id AND k.external_id = c.external_id
          AND NOT EXISTS (SELECT 1 FROM source_records s
                          WHERE s.workspace_id = k.workspace_id AND s.vendor_id = k.vendor_id
                            AND s.stream = 'assets' AND s.key = k.external_id)
        ORDER BY k.updated_at DESC, k.id LIMIT 1)
FROM assets c
WHERE NOT EXISTS (SELECT 1 FROM source_records s
                  WHERE s.workspace_id = c.workspace_id AND s.vendor_id = c.vendor_id
                    AND s.stream = 'assets' AND s.key = c.external_id);

INSERT INTO published_assets (vendor_id, id, external_id, kind, audience, content,
                              created_at, updated_at)
SELECT c.vendor_id, c.id, c.external_id, c.kind,
       COALESCE(json_extract(c.content, '$.audience'), '{}'), c.content,
       (SELECT min(k.created_at) FROM fold_map f JOIN assets k
          ON k.workspace_id = f.workspace_id AND k.id = f.old_id
        WHERE f.kind = 'asset' AND f.new_id = c.id),
       c.updated_at
FROM assets c
WHERE c.id IN (SELECT new_id FROM fold_map WHERE kind = 'asset');

DELETE FROM assets WHERE EXISTS (
    SELECT 1 FROM fold_map f
    WHERE f.kind = 'asset' AND f.workspace_id = assets.workspace_id AND f.old_id = assets.id);

INSERT INTO fold_map (kind, workspace_id, old_id, new_id)
SELECT 'price-list', c.workspace_id, c.id,
       (SELECT k.id FROM price_lists k
        WHERE k.vendor_id = c.vendor_id AND k.external_id = c.external_id
          AND NOT EXISTS (SELECT 1 FROM source_records s
                          WHERE s.workspace_id = k.workspace_id AND s.vendor_id = k.vendor_id
                            AND s.stream = 'price_lists' AND s.key = k.external_id)
        ORDER BY k.updated_at DESC, k.id LIMIT 1)
FROM price_lists c
WHERE NOT EXISTS (SELECT 1 FROM source_records s
                  WHERE s.workspace_id = c.workspace_id AND s.vendor_id = c.vendor_id
                    AND s.stream = 'price_lists' AND s.key = c.external_id);

INSERT INTO published_price_lists (vendor_id, id, external_id, currency, terms,
                                   created_at, updated_at)
SELECT c.vendor_id, c.id, c.external_id, c.currency, c.terms,
       (SELECT min(k.created_at) FROM fold_map f JOIN price_lists k
          ON k.workspace_id = f.workspace_id AND k.id = f.old_id
        WHERE f.kind = 'price-list' AND f.new_id = c.id),
       c.updated_at
FROM price_lists c
WHERE c.id IN (SELECT new_id FROM fold_map WHERE kind = 'price-list');

INSERT INTO published_price_items (vendor_id, price_list_id, sku, id, name, category,
                                   list_price, currency, item)
SELECT i.vendor_id, i.price_list_id, i.sku, i.id, i.name, i.category, i.list_price,
       i.currency, i.item
FROM price_items i
WHERE i.price_list_id IN (SELECT new_id FROM fold_map WHERE kind = 'price-list');

DELETE FROM price_items WHERE EXISTS (
    SELECT 1 FROM fold_map f
    WHERE f.kind = 'price-list' AND f.workspace_id = price_items.workspace_id
      AND f.old_id = price_items.price_list_id);
DELETE FROM price_lists WHERE EXISTS (
    SELECT 1 FROM fold_map f
    WHERE f.kind = 'price-list' AND f.workspace_id = price_lists.workspace_id
      AND f.old_id = price_lists.id);

DROP TABLE fold_map;

-- What a workspace sees of each kind: its own pulled rows, and what its
-- linked vendors published for it (while a partner has paused a vendor,
-- what the vendor published before the pause) (an empty audience list means everyone).
CREATE VIEW workspace_campaigns AS
    SELECT workspace_id, id, vendor_id, external_id, status, content, created_at, updated_at
    FROM campaigns
    UNION ALL
    SELECT l.workspace_id, p.id, p.vendor_id, p.external_id, p.status, p.content,
           p.created_at, p.updated_at
    FROM vendor_links l JOIN published_campaigns p ON p.vendor_id = l.vendor_id
    WHERE (l.status = 'active' OR (l.status = 'paused' AND p.created_at <= l.updated_at))
      AND ((COALESCE(json_array_length(p.audience, '$.tiers'), 0) = 0
            OR EXISTS (SELECT 1 FROM json_each(p.audience, '$.tiers') t WHERE t.value = l.tier))
           AND (COALESCE(json_array_length(p.audience, '$.partner_types'), 0) = 0
            OR EXISTS (SELECT 1 FROM json_each(p.audience, '$.partner_types') t
                       WHERE t.value = l.partner_type))
           AND (COALESCE(json_array_length(p.audience, '$.regions'), 0) = 0
            OR EXISTS (SELECT 1 FROM json_each(p.audience, '$.regions') r
                       JOIN json_each(l.regions) lr ON lr.value = r.value))
           OR EXISTS (SELECT 1 FROM campaign_activations a
                      WHERE a.workspace_id = l.workspace_id AND a.campaign_id = p.id));

CREATE VIEW workspace_assets AS
    SELECT workspace_id, id, vendor_id, external_id, content, created_at, updated_at
    FROM assets
    UNION ALL
    SELECT l.workspace_id, p.id, p.vendor_id, p.external_id, p.content, p.created_at, p.updated_at
    FROM vendor_links l JOIN published_assets p ON p.vendor_id = l.vendor_id
    WHERE (l.status = 'active' OR (l.status = 'paused' AND p.created_at <= l.updated_at))
      AND (COALESCE(json_array_length(p.audience, '$.tiers'), 0) = 0
           OR EXISTS (SELECT 1 FROM json_each(p.audience, '$.tiers') t WHERE t.value = l.tier))
      AND (COALESCE(json_array_length(p.audience, '$.partner_types'), 0) = 0
           OR EXISTS (SELECT 1 FROM json_each(p.audience, '$.partner_types') t
                      WHERE t.value = l.partner_type))
      AND (COALESCE(json_array_length(p.audience, '$.regions'), 0) = 0
           OR EXISTS (SELECT 1 FROM json_each(p.audience, '$.regions') r
                      JOIN json_each(l.regions) lr ON lr.value = r.value));

CREATE VIEW workspace_price_lists AS
    SELECT workspace_id, id, vendor_id, external_id, terms, created_at, updated_at
    FROM price_lists
    UNION ALL
    SELECT l.workspace_id, p.id, p.vendor_id, p.external_id, p.terms, p.created_at, p.updated_at
    FROM vendor_links l JOIN published_price_lists p ON p.vendor_id = l.vendor_id
    WHERE (l.status = 'active' OR (l.status = 'paused' AND p.created_at <= l.updated_at));

CREATE VIEW workspace_price_items AS
    SELECT workspace_id, id, vendor_id, price_list_id, sku, currency, item
    FROM price_items
    UNION ALL
    SELECT l.workspace_id, i.id, i.vendor_id, i.price_list_id, i.sku, i.currency, i.item
    FROM vendor_links l JOIN published_price_items i ON i.vendor_id = l.vendor_id
    JOIN published_price_lists p ON p.vendor_id = i.vendor_id AND p.id = i.price_list_id
    WHERE (l.status = 'active' OR (l.status = 'paused' AND p.created_at <= l.updated_at));

-- A vendor's reads of what partners sent it page by id, and its registrations
-- are compared by the customer's web domain (lower case, without `www.`, as
-- the store writes it), so each lookup leads with the vendor.
ALTER TABLE deal_registrations ADD COLUMN customer_domain TEXT;
UPDATE deal_registrations
    SET customer_domain = CASE
        WHEN lower(trim(json_extract(details, '$.customer.domain'))) LIKE 'www.%'
            THEN substr(lower(trim(json_extract(details, '$.customer.domain'))), 5)
        ELSE lower(trim(json_extract(details, '$.customer.domain'))) END
    WHERE json_extract(details, '$.customer.domain') IS NOT NULL;
CREATE INDEX deal_registrations_vendor_id ON deal_registrations (vendor_id, id);
CREATE INDEX deal_registrations_customer ON deal_registrations (vendor_id, customer_domain, submitted_at)
    WHERE customer_domain IS NOT NULL;
CREATE INDEX leads_vendor_id ON leads (vendor_id, id) WHERE vendor_id IS NOT NULL;
