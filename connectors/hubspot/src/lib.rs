//! HubSpot CRM sink: contacts and deals through CRM v3 batch upsert.
