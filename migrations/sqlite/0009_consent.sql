-- Consent and privacy on landing pages (see the PostgreSQL schema).

ALTER TABLE workspace_profiles ADD COLUMN privacy_notice_url TEXT;
ALTER TABLE workspace_profiles ADD COLUMN marketing_consent_text TEXT;
ALTER TABLE workspace_profiles ADD COLUMN marketing_consent_version INTEGER NOT NULL DEFAULT 0;

-- Only a lead from a landing page has a consent record, and once written
-- nobody changes it.
ALTER TABLE leads ADD COLUMN consent TEXT CHECK (consent IS NULL OR source = 'campaign');

CREATE TRIGGER leads_consent_fixed BEFORE UPDATE OF consent ON leads
    WHEN NEW.consent IS NOT OLD.consent
BEGIN
    SELECT RAISE(ABORT, 'onepane: a lead''s consent record may not change');
END;
