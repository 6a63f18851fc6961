//! A vendor with no system at all: its partner's registration is mailed to
//! the channel contact the partner named, with two single-use links (approve
//! and reject) that open a public page where the vendor's person decides.
//!
//! A link's token is 32 random bytes; only its SHA-256 digest is stored, so
//! the mail is the only place it exists. Each link works until its deadline
//! and once: using one uses its sibling.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{Duration, Utc};
use onepane_connector::BoxFuture;
use onepane_domain::delivery::LinkDecision;
use onepane_domain::text::Email;
use onepane_store::{DeliverySubject, DueVendorDelivery, Store};
use onepane_sync::RegistrationMailer;

use crate::auth::credentials::{random_secret, token_digest};
use crate::mail::Mailer;

/// How long a mailed decision link works.
pub const LINK_DAYS: i64 = 14;

/// The prefix of a decision link's token.
pub const TOKEN_PREFIX: &str = "opd_";

/// Mails registrations to vendors' channel contacts (or, without an SMTP
/// server, writes the mail to the log, as reset links are).
#[derive(Debug, Clone)]
pub struct DecisionMailer {
    store: Store,
    mailer: Option<Arc<Mailer>>,
    public_base: Arc<str>,
}

impl DecisionMailer {
    /// A mailer making links on `public_base`.
    pub fn new(store: Store, mailer: Option<Arc<Mailer>>, public_base: Arc<str>) -> Self {
        Self {
            store,
            mailer,
            public_base,
        }
    }

    async fn mail(&self, to: &Email, due: &DueVendorDelivery) -> Result<(), String> {
        let DeliverySubject::Deal { deal, .. } = &due.subject else {
            return Err("only deal registrations are mailed".into());
        };
        let (workspace_name, vendor_name) = self
            .store
            .system()
            .link_names(deal.workspace_id, deal.vendor_id)
            .await
            .map_err(|e| e.to_string())?;
        let approve = random_secret(TOKEN_PREFIX).map_err(|e| e.to_string())?;
        let reject = random_secret(TOKEN_PREFIX).map_err(|e| e.to_string())?;
        let expires_at = Utc::now() + Duration::days(LINK_DAYS);
        self.store
            .system()
            .create_decision_links(
                deal.workspace_id,
                deal.id,
                deal.vendor_id,
                &[
                    (LinkDecision::Approve, token_digest(&approve)),
                    (LinkDecision::Reject, token_digest(&reject)),
                ],
                expires_at,
            )
            .await
            .map_err(|e| e.to_string())?;
        let link = |token: &str| format!("{}/decide/{token}", self.public_base);
        let d = &deal.details;
        let mut body = String::new();
        let _ = writeln!(
            body,
            "{workspace_name} registers a deal with {vendor_name} and asks you to decide it.\n"
        );
        let _ = writeln!(body, "Opportunity: {}", d.title);
        let _ = write!(body, "Customer: {}", d.customer.name);
        if let Some(domain) = &d.customer.domain {
            let _ = write!(body, " ({domain})");
        }
        if let Some(country) = &d.customer.country {
            let _ = write!(body, ", {country}");
        }
        let _ = writeln!(body);
        let _ = writeln!(
            body,
            "Expected value: {} {}",
            d.amount.amount, d.amount.currency
        );
        if !d.products.is_empty() {
            let _ = writeln!(body, "Products:");
            for p in &d.products {
                let _ = writeln!(body, "  {} x {}", p.sku, p.quantity);
            }
        }
        if !d.fields.as_map().is_empty() {
            let _ = writeln!(body, "Your program's fields:");
            for (name, value) in d.fields.as_map() {
                let _ = writeln!(body, "  {name}: {value}");
            }
        }
        let _ = writeln!(body, "Onepane's reference: {}\n", deal.id);
        let _ = writeln!(
            body,
            "Approve (you set the protection end and may add a reason and an extra discount):\n{}\n",
            link(&approve)
        );
        let _ = writeln!(body, "Reject (you give a reason):\n{}\n", link(&reject));
        let _ = writeln!(
            body,
            "Each link works once, until {} UTC; using one closes the other. Anyone with a link can decide, so do not forward this mail.",
            expires_at.format("%Y-%m-%d %H:%M")
        );
        let subject = format!("Deal registration from {workspace_name}: {}", d.title);
        match &self.mailer {
            Some(mailer) => mailer
                .send(to, &subject, body)
                .await
                .map_err(|e| e.to_string()),
            None => {
                tracing::info!(
                    to = %to,
                    registration = %deal.id,
                    approve = %link(&approve),
                    reject = %link(&reject),
                    "registration for {to} (no mail server is configured; it is logged instead)"
                );
                Ok(())
            }
        }
    }
}

impl RegistrationMailer for DecisionMailer {
    fn mail_registration<'a>(
        &'a self,
        to: &'a Email,
        due: &'a DueVendorDelivery,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(self.mail(to, due))
    }
}
