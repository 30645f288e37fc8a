//! Learner-app access, invitations and the tenant's invitation settings (SPEC 3.3).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use registrar_domain::access::{Act, Feature};
use registrar_domain::ids::UserId;
use registrar_domain::lifecycle::{
    AppAccess, InvitationTemplate, LifecycleError, check_app_access_grant,
};
use registrar_domain::text::Password;
use registrar_domain::user::User;
use registrar_store::{AppAccessGrant, Invitation, NewMail, StoreError, TenantSettings};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::path_id;
use crate::auth::{hash_password, new_secret};
use crate::dto::parse_date;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Member};
use crate::state::{AppState, today};

/// Fresh login details for `user`, in the tenant's template: the hash to store and the mail.
/// New login details are a way into the account, so every path that makes them (the invitation,
/// the automation on switching access on, the bulk set-up) passes the engine's takeover rule here.
async fn invitation(
    state: &AppState,
    member: &Member,
    user: &User,
    template: &InvitationTemplate,
) -> ApiResult<Invitation> {
    state.takeover_guard(member, user.id)?;
    let email = user
        .email
        .clone()
        .ok_or(LifecycleError::AppAccessNeedsEmail)?;
    // 80 random bits, readable enough to type once before changing it.
    let password = new_secret()[4..24].to_owned();
    let tenant = state.store.tenant(member.tenant).await?;
    let (subject, body) = template.render(
        user.display_name.as_str(),
        user.username.as_str(),
        &password,
        tenant.name.as_str(),
    );
    Ok(Invitation {
        password_hash: hash_password(Password::parse(&password)?).await?,
        mail: NewMail {
            recipient: email,
            subject,
            body,
        },
    })
}

/// E-learning access exists only where the tenant turned its e-learning integration on.
fn elearning_available(state: &AppState, member: &Member) -> ApiResult<()> {
    let on = state
        .access
        .read(member.tenant, |m| m.feature(Feature::ELearning));
    if on {
        Ok(())
    } else {
        Err(ApiError::Conflict {
            field: "elearning".into(),
            detail: "the e-learning integration is off for this tenant: turn the `elearning` \
                     feature on first"
                .into(),
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppAccessIn {
    pub on: bool,
    /// Last day of access, e.g. `2027-06-30`; none for no end.
    pub until: Option<String>,
    /// E-learning access too, for the same period (needs the tenant's `elearning` feature).
    #[serde(default)]
    pub elearning: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppAccessOut {
    pub on: bool,
    pub until: Option<String>,
    pub elearning: bool,
    /// Whether switching access on sent the invitation (the tenant's automation).
    pub invitation_sent: bool,
    /// Why the automation did not send one, when it is on but could not.
    pub note: Option<String>,
}

/// An invitation mail: when it was queued and when the sender delivered it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationOut {
    pub queued_at: String,
    /// `null` while it waits in the outbox.
    pub delivered_at: Option<String>,
}

/// One enrollment as the learner app sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppCourseSwitchOut {
    pub course: String,
    pub title: String,
    pub status: String,
    /// Whether the course shows in the learner's app.
    pub show_in_app: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppAccessView {
    /// Whether access is switched on.
    pub on: bool,
    /// Last day of access; `null` for no end (or when off).
    pub until: Option<String>,
    /// Whether access is on and not past its last day: the app lets them in.
    pub usable: bool,
    pub elearning: bool,
    /// Their last invitation, `null` if they were never invited.
    pub invitation: Option<InvitationOut>,
    /// Each of their enrollments with its switch.
    pub courses: Vec<AppCourseSwitchOut>,
}

/// A learner's app access as it stands: the switch, its end date, e-learning access, their last
/// invitation and the per-course switches (SPEC 3.3). Whoever sees the person reads it.
#[utoipa::path(get, path = "/api/v1/users/{id}/app-access", tag = "learner app",
    responses((status = 200, body = AppAccessView), (status = 403, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn app_access(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<AppAccessView>> {
    let id = path_id(UserId::parse, &id)?;
    state.authorize(&member, Act::ViewAppAccess(id)).await?;
    let access = state.store.app_access(member.tenant, id).await?;
    let invitation = state.store.last_invitation(member.tenant, id).await?;
    let mut courses = vec![];
    for e in state.store.user_enrollments(member.tenant, id).await? {
        let course = state.store.course(member.tenant, e.course).await?;
        courses.push(AppCourseSwitchOut {
            course: e.course.to_string(),
            title: course.title.to_string(),
            status: e.status.code().to_owned(),
            show_in_app: e.show_in_app,
        });
    }
    let stamp = crate::dto::timestamp;
    Ok(Json(AppAccessView {
        on: access.is_some(),
        until: access.and_then(|a| a.until).map(|d| d.to_string()),
        usable: registrar_domain::lifecycle::may_use_app(access, today()).is_ok(),
        elearning: access.is_some_and(|a| a.elearning),
        invitation: invitation.map(|i| InvitationOut {
            queued_at: stamp(i.queued_at),
            delivered_at: i.delivered_at.map(stamp),
        }),
        courses,
    }))
}

/// Switches a learner's app access on (email required) or off. With the tenant's automation on,
/// switching it on also sends the invitation with fresh login details.
#[utoipa::path(put, path = "/api/v1/users/{id}/app-access", tag = "learner app", request_body = AppAccessIn,
    responses((status = 200, body = AppAccessOut), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn set_app_access(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<AppAccessIn>,
) -> ApiResult<Json<AppAccessOut>> {
    let id = path_id(UserId::parse, &id)?;
    let until = body
        .until
        .as_deref()
        .map(|d| parse_date("until", d))
        .transpose()?;
    let by = state.authorize(&member, Act::ManageAppAccess(id)).await?;
    if !body.on {
        state
            .store
            .disable_app_access(&by.into(), member.tenant, id)
            .await?;
        return Ok(Json(AppAccessOut {
            on: false,
            until: None,
            elearning: false,
            invitation_sent: false,
            note: None,
        }));
    }
    if body.elearning {
        elearning_available(&state, &member)?;
    }
    let user = state.store.user(member.tenant, id).await?;
    check_app_access_grant(user.email.is_some())?;
    let settings = state.store.tenant_settings(member.tenant).await?;
    let (invite, note) = match (&settings.invitation, settings.invite_on_app_access) {
        (Some(template), true) => (
            Some(invitation(&state, &member, &user, template).await?),
            None,
        ),
        (None, true) => (None, Some(LifecycleError::NoInvitationTemplate.to_string())),
        (_, false) => (None, None),
    };
    let sent = invite.is_some();
    state
        .store
        .enable_app_access(
            &by.into(),
            member.tenant,
            vec![AppAccessGrant {
                user: id,
                access: AppAccess {
                    until,
                    elearning: body.elearning,
                },
                invitation: invite,
            }],
        )
        .await?;
    Ok(Json(AppAccessOut {
        on: true,
        until: until.map(|d| d.to_string()),
        elearning: body.elearning,
        invitation_sent: sent,
        note,
    }))
}

/// Emails a learner their login details (a fresh password) in the tenant's template.
/// Refused, with the reason, while the tenant has no invitation template.
#[utoipa::path(post, path = "/api/v1/users/{id}/invitation", tag = "learner app",
    responses((status = 202, description = "queued"), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn invite(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id(UserId::parse, &id)?;
    let by = state.authorize(&member, Act::SendInvitation(id)).await?;
    let template = state
        .store
        .tenant_settings(member.tenant)
        .await?
        .invitation
        .ok_or(LifecycleError::NoInvitationTemplate)?;
    let user = state.store.user(member.tenant, id).await?;
    let invitation = invitation(&state, &member, &user, &template).await?;
    state
        .store
        .send_invitation(&by.into(), member.tenant, id, invitation)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateIo {
    pub subject: String,
    /// Must contain `{username}` and `{password}`; `{name}` and `{tenant}` are filled in too.
    pub body: String,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsIo {
    pub invitation: Option<TemplateIo>,
    /// Switching a learner's app access on sends the invitation.
    #[serde(default)]
    pub invite_on_app_access: bool,
    /// How many days access given in bulk lasts when no end date is chosen (at most 36500);
    /// none for no end.
    #[schema(maximum = 36500)]
    pub default_access_days: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/tenant/settings", tag = "learner app",
    responses((status = 200, body = SettingsIo)), security(("bearer" = [])))]
pub async fn settings(
    State(state): State<AppState>,
    member: Member,
) -> ApiResult<Json<SettingsIo>> {
    state.authorize(&member, Act::Configure).await?;
    let s = state.store.tenant_settings(member.tenant).await?;
    Ok(Json(SettingsIo {
        invitation: s.invitation.map(|t| TemplateIo {
            subject: t.subject,
            body: t.body,
        }),
        invite_on_app_access: s.invite_on_app_access,
        default_access_days: s.default_access_days,
    }))
}

#[utoipa::path(put, path = "/api/v1/tenant/settings", tag = "learner app", request_body = SettingsIo,
    responses((status = 200, body = SettingsIo), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn set_settings(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<SettingsIo>,
) -> ApiResult<Json<SettingsIo>> {
    let invitation = body
        .invitation
        .as_ref()
        .map(|t| InvitationTemplate::parse(&t.subject, &t.body))
        .transpose()?;
    let default_access_days = body
        .default_access_days
        .map(registrar_domain::lifecycle::access_days)
        .transpose()?;
    let by = state.authorize(&member, Act::Configure).await?;
    state
        .store
        .set_tenant_settings(
            &by.into(),
            member.tenant,
            TenantSettings {
                invitation,
                invite_on_app_access: body.invite_on_app_access,
                default_access_days,
            },
        )
        .await?;
    Ok(Json(body))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkAppAccessIn {
    /// Learners enrolled in the course (ids or usernames); at most 1000.
    pub users: Vec<String>,
    /// Last day of access for all of them; without it, the tenant's default length
    /// (`default_access_days`), or no end when the tenant has none.
    pub until: Option<String>,
    /// E-learning access too, for the same period (needs the tenant's `elearning` feature).
    #[serde(default)]
    pub elearning: bool,
}

/// Sets up learner-app access for learners selected from a course's enrollments and sends each
/// their login details: every learner is checked first (enrolled, has an email, the caller may
/// manage their app access), then all of it happens in one transaction or none does.
#[utoipa::path(post, path = "/api/v1/courses/{id}/app-access", tag = "learner app", request_body = BulkAppAccessIn,
    responses((status = 200, body = Vec<String>), (status = 403, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn course_app_access(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<BulkAppAccessIn>,
) -> ApiResult<Json<Vec<String>>> {
    let course = super::courses::path_object(&id)?;
    if body.users.is_empty() || body.users.len() > 1000 {
        return Err(ApiError::invalid("users", "select 1 to 1000 learners"));
    }
    let until = body
        .until
        .as_deref()
        .map(|d| parse_date("until", d))
        .transpose()?;
    state
        .authorize(
            &member,
            Act::ViewEnrollments(super::courses::course_ref(course)),
        )
        .await?;
    if body.elearning {
        elearning_available(&state, &member)?;
    }
    let settings = state.store.tenant_settings(member.tenant).await?;
    let until = match until {
        Some(d) => Some(d),
        None => settings
            .default_access_days
            .map(|days| registrar_domain::lifecycle::access_end(today(), days))
            .transpose()?,
    };
    // Saving sends the password emails, so there must be a template to send them in.
    let template = settings
        .invitation
        .ok_or(LifecycleError::NoInvitationTemplate)?;
    let mut grants = Vec::with_capacity(body.users.len());
    // Every person is authorized apart; each proof names the caller, who makes the one write.
    let mut by = None;
    for (i, raw) in body.users.iter().enumerate() {
        let named = |e: crate::error::ApiError| match e {
            ApiError::Invalid { detail, .. } | ApiError::NotFound(detail) => {
                ApiError::invalid(format!("users[{i}]"), detail)
            }
            ApiError::Forbidden(d) => ApiError::Forbidden(format!("users[{i}]: {d}")),
            other => other,
        };
        let person = super::person(&state, &member, raw).await.map_err(named)?;
        let (proof, invitation) = person
            .conceal(
                &member,
                async {
                    match state
                        .store
                        .enrollment(member.tenant, course, person.id)
                        .await
                    {
                        Ok(_) => {}
                        Err(StoreError::NotFound { .. }) => {
                            return Err(ApiError::NotFound(format!(
                                "{raw:?} is not enrolled in this course"
                            )));
                        }
                        Err(e) => return Err(e.into()),
                    }
                    let user = person.require()?;
                    let proof = state
                        .authorize(&member, Act::ManageAppAccess(user.id))
                        .await?;
                    check_app_access_grant(user.email.is_some())?;
                    Ok((proof, invitation(&state, &member, user, &template).await?))
                }
                .await,
            )
            .map_err(named)?;
        grants.push(AppAccessGrant {
            user: person.id,
            access: AppAccess {
                until,
                elearning: body.elearning,
            },
            invitation: Some(invitation),
        });
        by = Some(proof);
    }
    let users: Vec<String> = grants.iter().map(|g| g.user.to_string()).collect();
    let Some(by) = by else {
        return Ok(Json(users));
    };
    state
        .store
        .enable_app_access(&by.into(), member.tenant, grants)
        .await?;
    Ok(Json(users))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppCourseOut {
    pub course: String,
    pub title: String,
    /// The learner's enrollment status.
    pub status: &'static str,
}

/// What the caller's learner app shows: their courses switched on for the app, while their app
/// access is on and current. Courses they have no access to (waiting, suspended, overbooked)
/// are left out.
#[utoipa::path(get, path = "/api/v1/app/courses", tag = "learner app",
    responses((status = 200, body = Vec<AppCourseOut>), (status = 403, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn app_courses(
    State(state): State<AppState>,
    member: Member,
) -> ApiResult<Json<Vec<AppCourseOut>>> {
    let access = state
        .store
        .app_access(member.tenant, member.user.id)
        .await?;
    registrar_domain::lifecycle::may_use_app(access, today())?;
    let mut out = Vec::new();
    for e in state
        .store
        .user_enrollments(member.tenant, member.user.id)
        .await?
    {
        // The engine decides whether the learner may open the course (status, enrollment and
        // feature vetoes); the switch decides whether the app shows it.
        let course = super::courses::course_ref(e.course);
        if e.show_in_app && state.allows(&member, &Act::Take(course)) {
            out.push(AppCourseOut {
                course: e.course.to_string(),
                title: state
                    .store
                    .course(member.tenant, e.course)
                    .await?
                    .title
                    .to_string(),
                status: e.status.code(),
            });
        }
    }
    Ok(Json(out))
}
