//! Webhook CRM sink: a signed JSON POST of each lead change.
