//! Tenant settings: the learner app's invitation template and automation, the default length
//! of access given in bulk, what the HR feed's deactivation does (the leaver policy) and the
//! legal representative. The page calls the JSON API's handlers themselves, so it asks and
//! validates exactly as they do; the section is offered to whoever may configure the tenant.

use askama::Template;
use axum::Form;
use axum::extract::State;
use registrar_domain::access::Act;
use serde::Deserialize;

use super::{Frame, Page, PageResult, Viewer, fail};
use crate::extract::Json;
use crate::routes::app::{self, SettingsIo, TemplateIo};
use crate::routes::tenants::{self, LegalRepresentativeIo};
use crate::scim::leaver::{self, LeaverPolicyIo};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    frame: Frame,
    subject: String,
    body: String,
    invite_on_app_access: bool,
    default_access_days: String,
    policies: Vec<(String, String, bool)>,
    representative: String,
    address: String,
    /// (code, name, selected) of the level roles, for the default role.
    levels: Vec<(String, String, bool)>,
    /// (code, name, selected) of every role, for the feed's managers.
    roles: Vec<(String, String, bool)>,
}

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    render(&state, &viewer, None, None).await
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    notice: Option<String>,
    problem: Option<String>,
) -> PageResult {
    let member = viewer.member.clone();
    let Json(s) = app::settings(axum::extract::State(state.clone()), member.clone())
        .await
        .map_err(fail)?;
    let Json(policy) = leaver::get(axum::extract::State(state.clone()), member.clone())
        .await
        .map_err(fail)?;
    let representative = if state.allows(&member, &Act::ViewBilling) {
        tenants::legal_representative(axum::extract::State(state.clone()), member.clone())
            .await
            .ok()
            .map(|Json(r)| r)
    } else {
        None
    };
    let policies = [
        ("keep", "keep everything"),
        ("suspend_enrollments", "suspend their enrollments"),
        (
            "remove_grants",
            "suspend their enrollments and take their roles away",
        ),
    ]
    .into_iter()
    .map(|(code, label)| {
        (
            code.to_owned(),
            label.to_owned(),
            code == policy.leaver_policy,
        )
    })
    .collect();
    use crate::routes::access::{RoleSetting, role_setting};
    let default_role = role_setting(state, &member, RoleSetting::Default)
        .await
        .map_err(fail)?
        .unwrap_or_default();
    let feed_role = role_setting(state, &member, RoleSetting::FeedManager)
        .await
        .map_err(fail)?
        .unwrap_or_default();
    let (levels, roles) = state.access.read(member.tenant, |m| {
        let mut all: Vec<_> = m.data().roles.values().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        let pick = |chosen: &str, r: &&registrar_domain::access::Role| {
            (
                r.code.to_string(),
                r.name.clone(),
                r.code.as_str() == chosen,
            )
        };
        (
            all.iter()
                .filter(|r| r.level)
                .map(|r| pick(&default_role, r))
                .collect(),
            all.iter().map(|r| pick(&feed_role, r)).collect(),
        )
    });
    let mut frame = viewer.frame(state, "Settings", "/settings");
    frame.notice = notice;
    frame.problem = problem;
    Ok(Page::render(&SettingsPage {
        frame,
        subject: s
            .invitation
            .as_ref()
            .map(|t| t.subject.clone())
            .unwrap_or_default(),
        body: s
            .invitation
            .as_ref()
            .map(|t| t.body.clone())
            .unwrap_or_default(),
        invite_on_app_access: s.invite_on_app_access,
        default_access_days: s
            .default_access_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
        policies,
        representative: representative
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_default(),
        address: representative.and_then(|r| r.address).unwrap_or_default(),
        levels,
        roles,
    }))
}

#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    csrf: String,
    /// Which part of the page was sent: `app`, `leaver` or `representative`.
    part: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    invite_on_app_access: Option<String>,
    #[serde(default)]
    default_access_days: String,
    #[serde(default)]
    leaver_policy: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    default_role: String,
    #[serde(default)]
    feed_manager_role: String,
}

pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<SettingsForm>,
) -> PageResult {
    viewer.verify(&f.csrf)?;
    let member = viewer.member.clone();
    let at = || axum::extract::State(state.clone());
    let outcome = match f.part.as_str() {
        "app" => {
            let days = match f.default_access_days.trim() {
                "" => Ok(None),
                d => d.parse::<u32>().map(Some).map_err(|_| {
                    crate::error::ApiError::invalid(
                        "default_access_days",
                        format!("{d:?} is not a number of days"),
                    )
                }),
            };
            match days {
                Ok(default_access_days) => {
                    let invitation = (!f.subject.trim().is_empty() || !f.body.trim().is_empty())
                        .then(|| TemplateIo {
                            subject: f.subject.clone(),
                            body: f.body.clone(),
                        });
                    let body = SettingsIo {
                        invitation,
                        invite_on_app_access: f.invite_on_app_access.is_some(),
                        default_access_days,
                    };
                    app::set_settings(at(), member, Json(body))
                        .await
                        .map(|_| ())
                }
                Err(e) => Err(e),
            }
        }
        "leaver" => {
            let body = LeaverPolicyIo {
                leaver_policy: f.leaver_policy.clone(),
            };
            leaver::set(at(), member, Json(body)).await.map(|_| ())
        }
        "roles" => {
            use crate::routes::access::{RoleSetting, set_role_setting};
            let chosen = |v: &str| (!v.is_empty()).then(|| v.to_owned());
            match set_role_setting(
                &state,
                &member,
                RoleSetting::Default,
                chosen(&f.default_role).as_deref(),
            )
            .await
            {
                Ok(_) => set_role_setting(
                    &state,
                    &member,
                    RoleSetting::FeedManager,
                    chosen(&f.feed_manager_role).as_deref(),
                )
                .await
                .map(|_| ()),
                Err(e) => Err(e),
            }
        }
        "representative" if f.name.trim().is_empty() => {
            tenants::remove_legal_representative(at(), member)
                .await
                .map(|_| ())
        }
        "representative" => {
            let body = LegalRepresentativeIo {
                name: f.name.clone(),
                address: (!f.address.trim().is_empty()).then(|| f.address.clone()),
            };
            tenants::set_legal_representative(at(), member, Json(body))
                .await
                .map(|_| ())
        }
        other => Err(crate::error::ApiError::invalid(
            "part",
            format!("{other:?} is no part of the settings page"),
        )),
    };
    match outcome {
        Ok(()) => render(&state, &viewer, Some("Saved.".into()), None).await,
        Err(e) => render(&state, &viewer, None, Some(e.to_string())).await,
    }
}
