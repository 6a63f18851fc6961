//! Settings, in sections, each its own page under `/settings/{section}`:
//! the member's own profile and language (its time zone and the mail it
//! wants about deadlines), its API tokens, and for owners and admins the
//! members, single sign-on, the landing-page profile (with the uploaded
//! logo) and the sell rules and exchange rates. `/settings` opens the
//! first section.
//!
//! A form that is refused comes back on its section's page with what was
//! typed and each error beside its field.

mod account;
mod landing_page;
pub mod logo;
mod members;
mod pricing;
mod sso;
mod tokens;

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;

use crate::state::AppState;
use crate::web::session::Viewer;

pub use members::MemberLine;

/// The settings routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(first))
        .merge(account::routes())
        .merge(members::routes())
        .merge(sso::routes())
        .merge(landing_page::routes())
        .merge(pricing::routes())
        .merge(tokens::routes())
        .merge(logo::routes())
}

/// `/settings` opens the first section (every member may see it).
async fn first(_viewer: Viewer) -> Redirect {
    Redirect::to(Section::Account.path())
}

/// A section of the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The member's own profile, language, time zone and mail.
    Account,
    /// Members and invitations.
    Members,
    /// Single sign-on.
    Sso,
    /// What landing pages show: contact, logo, privacy notice, consent.
    LandingPage,
    /// Home currency, sell rules and exchange rates.
    Pricing,
    /// The member's personal API tokens.
    Tokens,
}

impl Section {
    /// Every section, in the order the navigation lists them.
    pub const ALL: [Section; 6] = [
        Section::Account,
        Section::Members,
        Section::Sso,
        Section::LandingPage,
        Section::Pricing,
        Section::Tokens,
    ];

    /// Its address.
    pub fn path(self) -> &'static str {
        match self {
            Section::Account => "/settings/account",
            Section::Members => "/settings/members",
            Section::Sso => "/settings/sso",
            Section::LandingPage => "/settings/landing-page",
            Section::Pricing => "/settings/pricing",
            Section::Tokens => "/settings/tokens",
        }
    }

    /// The message naming it.
    fn label(self) -> &'static str {
        match self {
            Section::Account => "settings-section-account",
            Section::Members => "settings-members",
            Section::Sso => "sso-settings",
            Section::LandingPage => "settings-profile",
            Section::Pricing => "settings-section-pricing",
            Section::Tokens => "settings-tokens",
        }
    }

    /// Whether only owners and admins see it.
    fn admin_only(self) -> bool {
        !matches!(self, Section::Account | Section::Tokens)
    }
}

/// A link of the sections' navigation.
#[derive(Debug, Clone)]
pub struct SectionLink {
    /// Where it goes.
    pub href: &'static str,
    /// What it says.
    pub label: String,
    /// Whether it is the page shown.
    pub current: bool,
}

/// What every settings page shows around its section: the sections'
/// navigation, the section's name, and a message or an error about the
/// whole page.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The sections the viewer may open.
    pub sections: Vec<SectionLink>,
    /// The section's name.
    pub title: String,
    /// What was done.
    pub message: Option<String>,
    /// What went wrong that belongs to no one field.
    pub error: Option<String>,
    /// Whether some fields were refused (the summary above the form).
    pub has_field_errors: bool,
}

impl Frame {
    /// The frame of `section` for `viewer`; fails with 403 when the
    /// section is for owners and admins and the viewer is neither.
    pub fn new(viewer: &Viewer, section: Section) -> Result<Frame, crate::web::error::WebError> {
        let admin = viewer.session.role.can_administer();
        if section.admin_only() && !admin {
            return Err(crate::web::error::WebError::Forbidden);
        }
        let t = &viewer.tr;
        Ok(Frame {
            sections: Section::ALL
                .into_iter()
                .filter(|s| admin || !s.admin_only())
                .map(|s| SectionLink {
                    href: s.path(),
                    label: t.t(s.label()),
                    current: s == section,
                })
                .collect(),
            title: t.t(section.label()),
            message: None,
            error: None,
            has_field_errors: false,
        })
    }
}

/// A form's fields as typed and the errors found in them, so a refused
/// form is shown again with the input kept and each error beside its
/// field (`{field}-error`, named by the field's `aria-describedby`).
#[derive(Debug, Clone, Default)]
pub struct Fields {
    values: Vec<(&'static str, String)>,
    errors: Vec<(&'static str, String)>,
}

impl Fields {
    /// Keeps `value` as the field's input.
    pub fn keep(&mut self, field: &'static str, value: impl Into<String>) {
        let value = value.into();
        match self.values.iter_mut().find(|(f, _)| *f == field) {
            Some((_, v)) => *v = value,
            None => self.values.push((field, value)),
        }
    }

    /// Marks the field refused, with the message shown beside it.
    pub fn refuse(&mut self, field: &'static str, message: String) {
        if self.error(field).is_none() {
            self.errors.push((field, message));
        }
    }

    /// Whether no field was refused.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// The field's input (empty when none was kept).
    pub fn value(&self, field: &str) -> &str {
        self.values
            .iter()
            .find(|(f, _)| *f == field)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Whether a checkbox field was ticked.
    pub fn ticked(&self, field: &str) -> bool {
        !self.value(field).is_empty()
    }

    /// The error beside the field.
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, e)| e.as_str())
    }

    /// The field's accessibility attributes: `aria-describedby` naming its
    /// hint (`hint`, when not empty) and its error, and `aria-invalid` when
    /// it was refused. Field names and hints are the templates' own
    /// identifiers, never input.
    pub fn aria(&self, field: &str, hint: &str) -> String {
        let invalid = self.error(field).is_some();
        let mut described = Vec::new();
        if !hint.is_empty() {
            described.push(hint.to_owned());
        }
        if invalid {
            described.push(format!("{}-error", field.replace('_', "-")));
        }
        let mut attrs = String::new();
        if !described.is_empty() {
            attrs.push_str(&format!(" aria-describedby=\"{}\"", described.join(" ")));
        }
        if invalid {
            attrs.push_str(" aria-invalid=\"true\"");
        }
        attrs
    }

    /// The id of the field's error paragraph.
    pub fn error_id(&self, field: &str) -> String {
        format!("{}-error", field.replace('_', "-"))
    }
}

/// The text of `s` cut to `max` characters, for showing back what was
/// typed without echoing a whole oversized paste.
fn kept(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The role's message id.
fn role_id(r: onepane_domain::Role) -> &'static str {
    use onepane_domain::Role;
    match r {
        Role::Owner => "role-owner",
        Role::Admin => "role-admin",
        Role::SalesRep => "role-sales-rep",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_field_names_its_hint_and_its_error_and_is_invalid() {
        let mut f = Fields::default();
        f.keep("contact_email", "not an email");
        assert_eq!(
            f.aria("contact_email", "email-hint"),
            " aria-describedby=\"email-hint\""
        );
        f.refuse("contact_email", "Give a valid email.".into());
        assert_eq!(
            f.aria("contact_email", "email-hint"),
            " aria-describedby=\"email-hint contact-email-error\" aria-invalid=\"true\""
        );
        assert_eq!(f.value("contact_email"), "not an email");
        assert_eq!(f.error_id("contact_email"), "contact-email-error");
        assert!(!f.is_ok());
        assert_eq!(f.aria("website", ""), "");
    }
}
