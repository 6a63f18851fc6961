-- What a vendor publishes is stored once per vendor, not copied into every
-- linked workspace: a workspace sees it through its link (active or paused)
-- when the link's tier, partner type and regions are in the content's
-- audience. What the partner does with it (activations, landing pages,
-- leads, notifications) stays the partner's, keyed by workspace. Content a
-- partner's own connection pulls from a vendor's system (each partner's own
-- view) stays in the per-workspace tables `campaigns`, `assets`,
-- `price_lists` and `price_items`.

-- The regions a vendor gives a partner, like its tier: a JSON array of
-- region names. Content whose audience names regions reaches the
-- workspaces whose link carries one of them.
ALTER TABLE vendor_links ADD COLUMN regions jsonb NOT NULL DEFAULT '[]';

-- Every published table leads with the vendor: a vendor's reads and writes
-- touch only its own index range.
CREATE TABLE published_campaigns (
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    id uuid NOT NULL,
    external_id text COLLATE "C" NOT NULL,
    status text NOT NULL,
    starts_on date,
    ends_on date,
    -- The content's audience ({tiers, partner_types, regions}), kept apart
    -- from `content` so the policies and views match it without parsing it.
    audience jsonb NOT NULL,
    content jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (vendor_id, id),
    UNIQUE (vendor_id, external_id)
);

CREATE TABLE published_assets (
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    id uuid NOT NULL,
    external_id text COLLATE "C" NOT NULL,
    kind text NOT NULL,
    audience jsonb NOT NULL,
    content jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (vendor_id, id),
    UNIQUE (vendor_id, external_id)
);

CREATE TABLE published_price_lists (
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    id uuid NOT NULL,
    external_id text COLLATE "C" NOT NULL,
    currency text NOT NULL,
    terms jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    -- Moves with every change to the terms or the items: partners' pricing
    -- caches key on it, list by list.
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (vendor_id, id),
    UNIQUE (vendor_id, external_id)
);

-- Items are keyed by their list and SKU (what a vendor upserts and deletes
-- by); the row id is carried for the partner's views.
CREATE TABLE published_price_items (
    vendor_id uuid NOT NULL,
    price_list_id uuid NOT NULL,
    sku text COLLATE "C" NOT NULL,
    id uuid NOT NULL,
    name text NOT NULL,
    category text,
    list_price numeric NOT NULL,
    currency text NOT NULL,
    item jsonb NOT NULL,
    PRIMARY KEY (vendor_id, price_list_id, sku),
    FOREIGN KEY (vendor_id, price_list_id) REFERENCES published_price_lists (vendor_id, id) ON DELETE CASCADE
);
-- A SKU looked up across a vendor's lists (a deal's product line).
CREATE INDEX published_price_items_sku ON published_price_items (vendor_id, sku);
-- A vendor counts the activations of one of its campaigns.
CREATE INDEX campaign_activations_campaign ON campaign_activations (vendor_id, campaign_id);

-- New campaigns are announced to the partners in their audience after the
-- publishing transaction commits, a batch of workspaces at a time; `after`
-- is the last workspace told.
CREATE TABLE content_announcements (
    vendor_id uuid NOT NULL REFERENCES vendors (id),
    id uuid NOT NULL,
    campaign_id uuid NOT NULL,
    after uuid,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (vendor_id, id)
);
CREATE INDEX content_announcements_due ON content_announcements (created_at);

-- Whether a partner with this tier, partner type and regions is in an
-- audience: an empty list in the audience means everyone.
CREATE FUNCTION onepane_in_audience(audience jsonb, tier text, partner_type text, regions jsonb)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT (COALESCE(jsonb_array_length(audience -> 'tiers'), 0) = 0
                OR (audience -> 'tiers') ? tier)
           AND (COALESCE(jsonb_array_length(audience -> 'partner_types'), 0) = 0
                OR (audience -> 'partner_types') ? partner_type)
           AND (COALESCE(jsonb_array_length(audience -> 'regions'), 0) = 0
                OR (audience -> 'regions') ?| ARRAY(SELECT jsonb_array_elements_text(regions)))
    $$;

-- Whether the current workspace scope sees content of `vendor` that
-- arrived at `arrived` for `audience` (NULL: every linked partner): linked
-- and active, or paused after it arrived (a paused vendor's content stays,
-- nothing new comes), and in the audience.
-- SECURITY INVOKER: it reads vendor_links through the partner's own policy.
CREATE FUNCTION onepane_partner_reaches(vendor uuid, audience jsonb, arrived timestamptz)
    RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT EXISTS (
            SELECT 1 FROM public.vendor_links l
            WHERE l.workspace_id = public.onepane_scope_workspace()
              AND l.vendor_id = vendor
              AND (l.status = 'active' OR (l.status = 'paused' AND arrived <= l.updated_at))
              AND (audience IS NULL
                   OR public.onepane_in_audience(audience, l.tier, l.partner_type, l.regions))
        )
    $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['published_campaigns', 'published_assets',
        'published_price_lists', 'published_price_items', 'content_announcements']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    END LOOP;
    -- The vendor owns what it publishes, and only that.
    FOREACH t IN ARRAY ARRAY['published_campaigns', 'published_assets',
        'published_price_lists', 'published_price_items', 'content_announcements']
    LOOP
        EXECUTE format('CREATE POLICY vendor_all ON %I FOR ALL
            USING (vendor_id = onepane_scope_vendor())
            WITH CHECK (vendor_id = onepane_scope_vendor())', t);
    END LOOP;
END $$;

-- Keys, origins and first arrival never change (the items' key is their
-- list and SKU, which the vendor scope alone writes; no per-row trigger
-- there, so a 50,000-item change stays a set-based write).
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['published_campaigns', 'published_assets', 'published_price_lists']
    LOOP
        EXECUTE format('CREATE TRIGGER guard BEFORE UPDATE ON %I
            FOR EACH ROW EXECUTE FUNCTION onepane_guard_update(''*'')', t);
    END LOOP;
END $$;

-- The vendor sets a partner's regions as it sets its tier.
DROP TRIGGER guard ON vendor_links;
CREATE TRIGGER guard BEFORE UPDATE ON vendor_links
    FOR EACH ROW EXECUTE FUNCTION onepane_guard_update('tier', 'regions', 'updated_at');

-- A partner may change only the status of its link; not its regions either.
CREATE OR REPLACE FUNCTION onepane_guard_link() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, public
    AS $$
BEGIN
    IF public.onepane_scope_workspace() IS NOT NULL
       AND (NEW.tier, NEW.partner_type, NEW.regions, NEW.created_at)
           IS DISTINCT FROM (OLD.tier, OLD.partner_type, OLD.regions, OLD.created_at) THEN
        RAISE EXCEPTION 'onepane: a partner may change only the status of its link'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

-- A partner reads a vendor's published content only while linked and in
-- its audience; a campaign it activated stays readable to it.
CREATE POLICY partner_read ON published_campaigns FOR SELECT
    USING (onepane_partner_reaches(vendor_id, audience, created_at)
           OR (onepane_partner_reaches(vendor_id, NULL, created_at)
               AND id IN (SELECT a.campaign_id FROM campaign_activations a)));
CREATE POLICY partner_read ON published_assets FOR SELECT
    USING (onepane_partner_reaches(vendor_id, audience, created_at));
CREATE POLICY partner_read ON published_price_lists FOR SELECT
    USING (onepane_partner_reaches(vendor_id, NULL, created_at));
-- Uncorrelated, so evaluated once per statement (a hashed subplan), not per item.
CREATE POLICY partner_read ON published_price_items FOR SELECT
    USING (price_list_id IN (SELECT p.id FROM published_price_lists p));

-- Landing pages are served in the system scope; it also announces new
-- campaigns.
CREATE POLICY system_read ON published_campaigns FOR SELECT
    USING (onepane_scope_system());
CREATE POLICY system_all ON content_announcements FOR ALL
    USING (onepane_scope_system()) WITH CHECK (onepane_scope_system());

-- A workspace's activation or lead may now name a published campaign.
ALTER TABLE campaign_activations DROP CONSTRAINT campaign_activations_workspace_id_campaign_id_fkey;
ALTER TABLE leads DROP CONSTRAINT leads_workspace_id_campaign_id_fkey;

-- Fold the per-workspace copies of what vendors published (everything a
-- connection did not pull) into one row per vendor and external id: the
-- newest copy's content, the earliest copy's arrival. Activations, leads
-- and notifications that named a copy name the folded row.
-- The owner runs this under forced row-level security, which would show it
-- no rows: it is lifted for the fold and forced again after it.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['campaigns', 'assets', 'price_lists', 'price_items',
        'source_records', 'campaign_activations', 'leads', 'notifications',
        'published_campaigns', 'published_assets', 'published_price_lists',
        'published_price_items']
    LOOP
        EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END $$;

CREATE TABLE fold_map (kind text, workspace_id uuid, old_id uuid, new_id uuid);

WITH pushed AS (
    SELECT c.* FROM campaigns c
    WHERE NOT EXISTS (SELECT 1 FROM source_records s
                      WHERE s.workspace_id = c.workspace_id AND s.vendor_id = c.vendor_id
                        AND s.stream = 'campaigns' AND s.key = c.external_id)
), chosen AS (
    SELECT DISTINCT ON (vendor_id, external_id) * FROM pushed
    ORDER BY vendor_id, external_id, updated_at DESC, id
), inserted AS (
    INSERT INTO published_campaigns (vendor_id, id, external_id, status, starts_on, ends_on,
                                     audience, content, created_at, updated_at)
    SELECT c.vendor_id, c.id, c.external_id, c.status, c.starts_on, c.ends_on,
           COALESCE(c.content -> 'audience', '{}'), c.content,
           (SELECT min(p.created_at) FROM pushed p
            WHERE p.vendor_id = c.vendor_id AND p.external_id = c.external_id),
           c.updated_at
    FROM chosen c
    RETURNING vendor_id, id, external_id
)
INSERT INTO fold_map (kind, workspace_id, old_id, new_id)
SELECT 'campaign', p.workspace_id, p.id, i.id
FROM pushed p JOIN inserted i ON i.vendor_id = p.vendor_id AND i.external_id = p.external_id;

UPDATE campaign_activations a SET campaign_id = f.new_id FROM fold_map f
WHERE f.kind = 'campaign' AND a.workspace_id = f.workspace_id AND a.campaign_id = f.old_id;
UPDATE leads l SET campaign_id = f.new_id FROM fold_map f
WHERE f.kind = 'campaign' AND l.workspace_id = f.workspace_id AND l.campaign_id = f.old_id;
UPDATE notifications n SET link = '/campaigns/' || f.new_id FROM fold_map f
WHERE f.kind = 'campaign' AND n.workspace_id = f.workspace_id AND n.link = '/campaigns/' || f.old_id;
DELETE FROM campaigns c USING fold_map f
WHERE f.kind = 'campaign' AND c.workspace_id = f.workspace_id AND c.id = f.old_id;

WITH pushed AS (
    SELECT a.* FROM assets a
    WHERE NOT EXISTS (SELECT 1 FROM source_records s
                      WHERE s.workspace_id = a.workspace_id AND s.vendor_id = a.vendor_id
                        AND s.stream = 'assets' AND s.key = a.external_id)
), chosen AS (
    SELECT DISTINCT ON (vendor_id, external_id) * FROM pushed
    ORDER BY vendor_id, external_id, updated_at DESC, id
), inserted AS (
    INSERT INTO published_assets (vendor_id, id, external_id, kind, audience, content,
                                  created_at, updated_at)
    SELECT c.vendor_id, c.id, c.external_id, c.kind,
           COALESCE(c.content -> 'audience', '{}'), c.content,
           (SELECT min(p.created_at) FROM pushed p
            WHERE p.vendor_id = c.vendor_id AND p.external_id = c.external_id),
           c.updated_at
    FROM chosen c
    RETURNING vendor_id, id, external_id
)
INSERT INTO fold_map (kind, workspace_id, old_id, new_id)
SELECT 'asset', p.workspace_id, p.id, i.id
FROM pushed p JOIN inserted i ON i.vendor_id = p.vendor_id AND i.external_id = p.external_id;

DELETE FROM assets a USING fold_map f
WHERE f.kind = 'asset' AND a.workspace_id = f.workspace_id AND a.id = f.old_id;

WITH pushed AS (
    SELECT l.* FROM price_lists l
    WHERE NOT EXISTS (SELECT 1 FROM source_records s
                      WHERE s.workspace_id = l.workspace_id AND s.vendor_id = l.vendor_id
                        AND s.stream = 'price_lists' AND s.key = l.external_id)
), chosen AS (
    SELECT DISTINCT ON (vendor_id, external_id) * FROM pushed
    ORDER BY vendor_id, external_id, updated_at DESC, id
), inserted AS (
    INSERT INTO published_price_lists (vendor_id, id, external_id, currency, terms,
                                       created_at, updated_at)
    SELECT c.vendor_id, c.id, c.external_id, c.currency, c.terms,
           (SELECT min(p.created_at) FROM pushed p
            WHERE p.vendor_id = c.vendor_id AND p.external_id = c.external_id),
           c.updated_at
    FROM chosen c
    RETURNING vendor_id, id, external_id
)
INSERT INTO fold_map (kind, workspace_id, old_id, new_id)
SELECT 'price-list', p.workspace_id, p.id, i.id
FROM pushed p JOIN inserted i ON i.vendor_id = p.vendor_id AND i.external_id = p.external_id;

-- The items of the copy that was kept (the folded list has its id).
INSERT INTO published_price_items (vendor_id, price_list_id, sku, id, name, category,
                                   list_price, currency, item)
SELECT i.vendor_id, i.price_list_id, i.sku, i.id, i.name, i.category, i.list_price,
       i.currency, i.item
FROM price_items i JOIN fold_map f
  ON f.kind = 'price-list' AND f.workspace_id = i.workspace_id AND f.old_id = i.price_list_id
     AND f.new_id = i.price_list_id;

DELETE FROM price_lists l USING fold_map f
WHERE f.kind = 'price-list' AND l.workspace_id = f.workspace_id AND l.id = f.old_id;

DROP TABLE fold_map;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['campaigns', 'assets', 'price_lists', 'price_items',
        'source_records', 'campaign_activations', 'leads', 'notifications',
        'published_campaigns', 'published_assets', 'published_price_lists',
        'published_price_items']
    LOOP
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END $$;

-- What a workspace sees of each kind: its own pulled rows, and what its
-- linked vendors published for it (while a partner has paused a vendor,
-- what the vendor published before the pause). SECURITY INVOKER: the reader's own
-- row-level security applies to both halves.
CREATE VIEW workspace_campaigns WITH (security_invoker = true) AS
    SELECT workspace_id, id, vendor_id, external_id, status, content, created_at, updated_at
    FROM campaigns
    UNION ALL
    SELECT l.workspace_id, p.id, p.vendor_id, p.external_id, p.status, p.content,
           p.created_at, p.updated_at
    FROM vendor_links l JOIN published_campaigns p ON p.vendor_id = l.vendor_id
    WHERE (l.status = 'active' OR (l.status = 'paused' AND p.created_at <= l.updated_at))
      AND (onepane_in_audience(p.audience, l.tier, l.partner_type, l.regions)
           OR EXISTS (SELECT 1 FROM campaign_activations a
                      WHERE a.workspace_id = l.workspace_id AND a.campaign_id = p.id));

CREATE VIEW workspace_assets WITH (security_invoker = true) AS
    SELECT workspace_id, id, vendor_id, external_id, content, created_at, updated_at
    FROM assets
    UNION ALL
    SELECT l.workspace_id, p.id, p.vendor_id, p.external_id, p.content, p.created_at, p.updated_at
    FROM vendor_links l JOIN published_assets p ON p.vendor_id = l.vendor_id
    WHERE (l.status = 'active' OR (l.status = 'paused' AND p.created_at <= l.updated_at))
      AND onepane_in_audience(p.audience, l.tier, l.partner_type, l.regions);

CREATE VIEW workspace_price_lists WITH (security_invoker = true) AS
    SELECT workspace_id, id, vendor_id, external_id, terms, created_at, updated_at
    FROM price_lists
    UNION ALL
    SELECT l.workspace_id, p.id, p.vendor_id, p.external_id, p.terms, p.created_at, p.updated_at
    FROM vendor_links l JOIN published_price_lists p ON p.vendor_id = l.vendor_id
    WHERE (l.status = 'active' OR (l.status = 'paused' AND p.created_at <= l.updated_at));

CREATE VIEW workspace_price_items WITH (security_invoker = true) AS
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
ALTER TABLE deal_registrations ADD COLUMN customer_domain text;
ALTER TABLE deal_registrations NO FORCE ROW LEVEL SECURITY;
UPDATE deal_registrations
    SET customer_domain = regexp_replace(lower(btrim(details -> 'customer' ->> 'domain')), '^www\.', '')
    WHERE details -> 'customer' ->> 'domain' IS NOT NULL;
ALTER TABLE deal_registrations FORCE ROW LEVEL SECURITY;
CREATE INDEX deal_registrations_vendor_id ON deal_registrations (vendor_id, id);
CREATE INDEX deal_registrations_customer ON deal_registrations (vendor_id, customer_domain, submitted_at)
    WHERE customer_domain IS NOT NULL;
CREATE INDEX leads_vendor_id ON leads (vendor_id, id) WHERE vendor_id IS NOT NULL;
