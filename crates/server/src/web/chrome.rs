//! What every page shows around its content (who is logged in, where, the
//! workspace switcher, the navigation, unread notifications), and drawing
//! a page's template.

use axum::response::{Html, IntoResponse, Response};
use onepane_store::MemberOf;

use super::error::WebError;
use super::session::Viewer;
use crate::state::AppState;

/// The most unread notifications the badge counts.
const UNREAD_SHOWN: u32 = 99;

/// What every page around its content shows: who is logged in, where, the
/// workspace switcher, the navigation and the unread notifications.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The viewer's name.
    pub user: String,
    /// The workspace's name.
    pub workspace: String,
    /// The workspace's id.
    pub workspace_id: String,
    /// The other workspaces the viewer may switch to.
    pub others: Vec<MemberOf>,
    /// The session's CSRF token, for the forms.
    pub csrf: String,
    /// Unread notifications, counted up to one more than are shown.
    pub unread: u64,
    /// The section of the navigation this page belongs to.
    pub section: &'static str,
    /// Whether the viewer may change settings.
    pub admin: bool,
    /// The address of the workspace's uploaded logo (with its version),
    /// when it has one.
    pub logo: Option<String>,
}

impl Chrome {
    /// The chrome for `viewer` on a page of `section`.
    pub async fn load(
        state: &AppState,
        viewer: &Viewer,
        section: &'static str,
    ) -> Result<Chrome, WebError> {
        let s = &viewer.session;
        let system = state.store.system();
        let store = viewer.store(state);
        let (memberships, unread, logo) = tokio::try_join!(
            system.memberships_of(s.user.id),
            store.unread_notifications(UNREAD_SHOWN + 1),
            store.logo_digest()
        )?;
        let others = memberships
            .into_iter()
            .filter(|m| m.workspace_id != s.workspace.id)
            .collect();
        Ok(Chrome {
            user: s
                .user
                .display_name
                .as_ref()
                .map_or_else(|| s.user.email.to_string(), ToString::to_string),
            workspace: s.workspace.name.to_string(),
            workspace_id: s.workspace.id.to_string(),
            others,
            csrf: s.csrf.clone(),
            unread,
            section,
            admin: s.role.can_administer(),
            logo: logo.map(|d| {
                format!(
                    "/workspace/logo?v={}",
                    super::pages::settings::logo::version(&d)
                )
            }),
        })
    }

    /// The workspace's initials, shown in the header when it has no logo.
    pub fn initials(&self) -> String {
        initials(&self.workspace)
    }

    /// The unread badge: the count, or "99+" above it.
    pub fn unread_badge(&self) -> String {
        if self.unread > u64::from(UNREAD_SHOWN) {
            format!("{UNREAD_SHOWN}+")
        } else {
            self.unread.to_string()
        }
    }

    /// The attributes of a navigation link to `section`: marked current
    /// when this page belongs to it.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section {
            " aria-current=\"page\" class=\"current\""
        } else {
            ""
        }
    }
}

/// Up to two initials of a name, for a monogram in place of a logo.
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

/// Renders a template as an HTML response.
pub fn render(template: &impl askama::Template) -> Result<Response, WebError> {
    Ok(Html(template.render()?).into_response())
}
