-- Consent and privacy on landing pages.
--
-- 1. The partner's privacy notice (required before a campaign can be
--    activated) and the optional marketing consent text its landing pages
--    ask with. The text's version moves by one each time the text changes,
--    so a lead can say which wording its visitor saw.
ALTER TABLE workspace_profiles
    ADD COLUMN privacy_notice_url text,
    ADD COLUMN marketing_consent_text text,
    ADD COLUMN marketing_consent_version integer NOT NULL DEFAULT 0;

-- 2. What a landing page's visitor was shown and agreed to, kept with the
--    lead: only a lead from a landing page has one (a vendor can insert
--    only `source = 'vendor'` leads, so never one with a consent), and
--    once written nobody changes it. The guard trigger already keeps it
--    out of a vendor's reach (it is not among the columns a vendor may
--    change); the trigger below keeps it fixed for the partner too.
ALTER TABLE leads
    ADD COLUMN consent jsonb,
    ADD CONSTRAINT leads_consent_from_landing_page CHECK (consent IS NULL OR source = 'campaign');

CREATE FUNCTION onepane_consent_fixed() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, public
    AS $$
BEGIN
    IF NEW.consent IS DISTINCT FROM OLD.consent THEN
        RAISE EXCEPTION 'onepane: a lead''s consent record may not change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER consent_fixed BEFORE UPDATE ON leads
    FOR EACH ROW EXECUTE FUNCTION onepane_consent_fixed();
