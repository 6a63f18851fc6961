//! Salesforce CRM sink: Lead upsert by external id through sObject Collections.
