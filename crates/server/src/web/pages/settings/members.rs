//! Members and invitations: who is in the workspace, in which role, and
//! invitations by link. Owners and admins only.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use onepane_domain::Role;
use onepane_domain::text::Email;
use serde::Deserialize;

use super::{Fields, Frame, Section, kept, role_id};
use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{NoFields, Posted, Viewer};
use crate::web::view::Choice;

/// The section's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(Section::Members.path(), get(show))
        .route("/settings/invite", post(invite))
        .route("/settings/members/{id}/role", post(change_role))
        .route("/settings/members/{id}/remove", post(remove_member))
}

/// A member as its row shows it.
#[derive(Debug, Clone)]
pub struct MemberLine {
    /// The user.
    pub user_id: String,
    /// Its email.
    pub email: String,
    /// Its role's name.
    pub role: String,
    /// The roles it may be given, the current one selected (empty when the
    /// viewer may not change it).
    pub roles: Vec<Choice>,
}

#[derive(askama::Template)]
#[template(path = "settings_members.html")]
struct MembersPage {
    t: Tr,
    chrome: Chrome,
    frame: Frame,
    members: Vec<MemberLine>,
    /// Address, role, expiry.
    invitations: Vec<(String, String, String)>,
    invited_link: Option<String>,
    roles: Vec<Choice>,
    /// The invitation form: `email`, `role`.
    form: Fields,
}

async fn page(state: &AppState, viewer: &Viewer) -> Result<MembersPage, WebError> {
    let frame = Frame::new(viewer, Section::Members)?;
    let chrome = Chrome::load(state, viewer, "settings").await?;
    let t = viewer.tr.clone();
    let store = viewer.store(state);
    let invitations = store
        .pending_invitations()
        .await?
        .into_iter()
        .map(|i| {
            (
                i.email.to_string(),
                t.t(role_id(i.role)),
                t.datetime(&i.expires_at),
            )
        })
        .collect();
    Ok(MembersPage {
        members: member_lines(state, viewer, &t).await?,
        invitations,
        invited_link: None,
        roles: role_choices(&t, Role::SalesRep.as_str()),
        form: Fields::default(),
        frame,
        chrome,
        t,
    })
}

/// The roles an invitation may give, `chosen` selected.
fn role_choices(t: &Tr, chosen: &str) -> Vec<Choice> {
    [Role::SalesRep, Role::Admin, Role::Owner]
        .into_iter()
        .map(|r| Choice {
            value: r.as_str().to_owned(),
            label: t.t(role_id(r)),
            selected: r.as_str() == chosen,
        })
        .collect()
}

/// The members, each with the roles the viewer may give them.
async fn member_lines(
    state: &AppState,
    viewer: &Viewer,
    t: &Tr,
) -> Result<Vec<MemberLine>, WebError> {
    let me = viewer.session.user.id;
    let owner = viewer.session.role == Role::Owner;
    // Nobody changes their own role here; only owners touch owners.
    let offered: &[Role] = if owner {
        &[Role::SalesRep, Role::Admin, Role::Owner]
    } else {
        &[Role::SalesRep, Role::Admin]
    };
    Ok(viewer
        .store(state)
        .members()
        .await?
        .into_iter()
        .map(|m| {
            let changeable = m.user_id != me && (owner || m.role != Role::Owner);
            MemberLine {
                user_id: m.user_id.to_string(),
                email: m.email.to_string(),
                role: t.t(role_id(m.role)),
                roles: if changeable {
                    offered
                        .iter()
                        .map(|r| Choice {
                            value: r.as_str().to_owned(),
                            label: t.t(role_id(*r)),
                            selected: *r == m.role,
                        })
                        .collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect())
}

async fn show(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    render(&page(&state, &viewer).await?)
}

/// The page again with a message or an error about the whole page.
async fn again(
    state: &AppState,
    viewer: &Viewer,
    outcome: Result<&str, &str>,
) -> Result<Response, WebError> {
    let mut p = page(state, viewer).await?;
    match outcome {
        Ok(done) => {
            p.frame.message = Some(viewer.tr.t(done));
            render(&p)
        }
        Err(problem) => {
            p.frame.error = Some(viewer.tr.t(problem));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
struct InviteForm {
    email: String,
    role: String,
}

async fn invite(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<InviteForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let t = &viewer.tr;
    let mut fields = Fields::default();
    fields.keep("email", kept(form.email.trim(), 300));
    fields.keep("role", kept(&form.role, 20));
    let email = form.email.trim().parse::<Email>();
    if email.is_err() {
        fields.refuse("email", t.t("invite-email-invalid"));
    }
    let role = form.role.parse::<Role>();
    if role.is_err() {
        fields.refuse("role", t.t("invite-role-invalid"));
    }
    let (Ok(email), Ok(role)) = (email, role) else {
        let mut p = page(&state, &viewer).await?;
        p.roles = role_choices(t, &form.role);
        p.form = fields;
        p.frame.has_field_errors = true;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response());
    };
    // Only an owner makes owners.
    if role == Role::Owner && viewer.session.role != Role::Owner {
        return Err(WebError::Forbidden);
    }
    let link = crate::web::auth::invite(&state, &viewer, &email, role).await?;
    viewer
        .record(
            &state,
            "member.invited",
            "member",
            email.as_str(),
            serde_json::json!({ "role": role.as_str() }),
        )
        .await?;
    let mut p = page(&state, &viewer).await?;
    p.invited_link = Some(link);
    p.frame.message = Some(viewer.tr.ts("invite-sent", "email", email.as_str()));
    render(&p)
}

#[derive(Debug, Deserialize)]
struct RoleForm {
    role: String,
}

/// Checks that the viewer may act on `member` now in `current` role and
/// give it `to`: admins manage sales reps and admins, owners everyone, and
/// nobody themselves.
async fn may_manage(
    state: &AppState,
    viewer: &Viewer,
    member: onepane_domain::UserId,
    to: Option<Role>,
) -> Result<(), WebError> {
    viewer.require_admin()?;
    if member == viewer.session.user.id {
        return Err(WebError::Forbidden);
    }
    let current = viewer
        .store(state)
        .members()
        .await?
        .into_iter()
        .find(|m| m.user_id == member)
        .ok_or(WebError::NotFound)?
        .role;
    let owner = viewer.session.role == Role::Owner;
    if !owner && (current == Role::Owner || to == Some(Role::Owner)) {
        return Err(WebError::Forbidden);
    }
    Ok(())
}

async fn change_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted<RoleForm>,
) -> Result<Response, WebError> {
    let member: onepane_domain::UserId = id.parse().map_err(|_| WebError::NotFound)?;
    let role: Role = form.role.parse().map_err(|_| WebError::BadRequest)?;
    may_manage(&state, &viewer, member, Some(role)).await?;
    match viewer.store(&state).set_member_role(member, role).await {
        Ok(()) => {
            viewer
                .record(
                    &state,
                    "member.role-changed",
                    "member",
                    member,
                    serde_json::json!({ "role": role.as_str() }),
                )
                .await?;
            again(&state, &viewer, Ok("settings-saved")).await
        }
        Err(onepane_store::StoreError::Rule(_)) => {
            again(&state, &viewer, Err("member-last-owner")).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn remove_member(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    let member: onepane_domain::UserId = id.parse().map_err(|_| WebError::NotFound)?;
    may_manage(&state, &viewer, member, None).await?;
    match viewer.store(&state).remove_member(member).await {
        Ok(()) => {
            viewer
                .record(
                    &state,
                    "member.removed",
                    "member",
                    member,
                    serde_json::json!({}),
                )
                .await?;
            again(&state, &viewer, Ok("member-removed")).await
        }
        Err(onepane_store::StoreError::Rule(_)) => {
            again(&state, &viewer, Err("member-last-owner")).await
        }
        Err(e) => Err(e.into()),
    }
}
