//! Users of the caller's tenant, their passwords, groups and line managers.

use registrar_domain::access::{Act, UserChange};
use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use registrar_domain::ids::{GroupId, UserId};
use registrar_domain::text::{Email, Labels, Name, Password, Username};
use registrar_domain::user::UserStatus;
use registrar_store::{ManagerLink, ManagerSource, NewUser, StoreError, UserPatch};
use serde::Deserialize;
use utoipa::ToSchema;

use super::path_id;
use crate::auth::{hash_password, verify_password};
use crate::dto::{
    GroupOut, ManagerLinkOut, PageQuery, UserOut, UserPage, double_option, parse_date,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{IfMatch, Json, Member, Query, Tagged, tagged};
use crate::state::{AppState, today};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserIn {
    /// Defaults to the email.
    pub username: Option<String>,
    pub email: Option<String>,
    pub display_name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `activated` (default) or `deactivated`; `active` follows from learning activity.
    pub status: Option<String>,
    /// Last valid day, e.g. `2027-03-31`.
    pub expires_on: Option<String>,
    pub primary_group: Option<String>,
    /// At least 12 characters; without one the user cannot log in with a password.
    pub password: Option<String>,
    #[serde(default)]
    pub superadmin: bool,
    /// Roles to give as the person is set up, each at its scope; each is checked by the
    /// delegation rule and none is given unless all may be. In a group-roles tenant, a person
    /// given no role (and no group that gives one) joins the tenant's default group (Learners).
    #[serde(default)]
    pub roles: Vec<crate::ops::RoleAtIn>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchIn {
    pub username: Option<String>,
    /// Make the (new) email the username too, so the person logs in with it.
    #[serde(default)]
    pub use_email_as_username: bool,
    /// `null` removes the email.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    pub display_name: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    /// `activated` or `deactivated`. Nobody changes their own status.
    pub status: Option<String>,
    /// `null` removes the expiry date.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub expires_on: Option<Option<String>>,
    /// `null` removes the primary group.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub primary_group: Option<Option<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordIn {
    pub password: String,
    /// Required when changing one's own password.
    pub current_password: Option<String>,
}

/// Statuses an administrator may set by hand.
fn settable_status(s: &str) -> ApiResult<UserStatus> {
    match UserStatus::parse(s)? {
        UserStatus::Active => Err(ApiError::invalid(
            "status",
            "status \"active\" cannot be set: it follows from the user's first learning activity",
        )),
        other => Ok(other),
    }
}

fn group_ref(s: &str) -> ApiResult<GroupId> {
    GroupId::parse(s).map_err(|e| ApiError::invalid("primary_group", e.to_string()))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserIn,
    responses((status = 201, body = UserOut), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<NewUserIn>,
) -> ApiResult<(StatusCode, Json<UserOut>)> {
    let by = state.authorize(&member, Act::CreateUser).await?;
    let email = body.email.as_deref().map(Email::parse).transpose()?;
    let username = match (body.username.as_deref(), &email) {
        (Some(u), _) => Username::parse(u)?,
        (None, Some(e)) => Username::from_email(e)?,
        (None, None) => {
            return Err(ApiError::invalid(
                "username",
                "a user needs a username or an email (the username defaults to the email)",
            ));
        }
    };
    let password_hash = match body.password.as_deref() {
        Some(p) => Some(hash_password(Password::parse(p)?).await?),
        None => None,
    };
    let new = NewUser {
        username,
        email,
        display_name: Name::parse("display name", &body.display_name)?,
        labels: Labels::parse(body.labels)?,
        status: body
            .status
            .as_deref()
            .map(settable_status)
            .transpose()?
            .unwrap_or(UserStatus::Activated),
        expires_on: body
            .expires_on
            .as_deref()
            .map(|d| parse_date("expires_on", d))
            .transpose()?,
        primary_group: body.primary_group.as_deref().map(group_ref).transpose()?,
        also_joins: Vec::new(),
        superadmin: body.superadmin,
        password_hash,
    };
    state.superadmin_guard(&member, None, new.superadmin)?;
    if let Some(group) = new.primary_group {
        may_join_primary_group(&state, &member, group, None).await?;
    }
    let actor: registrar_store::Actor = by.into();
    let id = UserId::new();
    let joining: Vec<_> = new.primary_group.into_iter().collect();
    let access = |m: &registrar_domain::access::AccessModel| {
        crate::ops::new_person_access(m, member.user.id, id, &body.roles, &joining, "roles")
    };
    if body.roles.is_empty() {
        // Nothing delegated: no revision to hold the write to.
        let also_joins = state.access.read(member.tenant, access)?.also_joins;
        let new = NewUser { also_joins, ..new };
        let user = state.store.create_user(&actor, member.tenant, new).await?;
        return Ok((StatusCode::CREATED, Json(user.into())));
    }
    for _ in 0..5 {
        state.access.sync().await?;
        let (access, expected) = state.access.read_at(member.tenant, access);
        let access = access?;
        let new = NewUser {
            also_joins: access.also_joins,
            ..new.clone()
        };
        match state
            .store
            .create_user_granted(&actor, member.tenant, id, new, expected, access.grants)
            .await
        {
            Ok(user) => return Ok((StatusCode::CREATED, Json(user.into()))),
            Err(StoreError::Stale { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict {
        field: "revision".into(),
        detail: "the tenant kept changing while the person's roles were validated; try again"
            .into(),
    })
}

/// A primary group is a membership (SPEC 1), so giving one is adding a member: the engine's
/// `ManageMembers` on the group and its membership rule, for a person who exists or one being
/// created (`user` is `None`).
async fn may_join_primary_group(
    state: &AppState,
    member: &Member,
    group: GroupId,
    user: Option<UserId>,
) -> ApiResult<()> {
    match state.authorize(member, Act::ManageMembers(group)).await {
        Err(ApiError::NotFound(_)) => {
            return Err(ApiError::invalid(
                "primary_group",
                format!("group {group} does not exist"),
            ));
        }
        other => other?,
    };
    state.access.read(member.tenant, |m| match user {
        Some(user) => m.validate_membership(member.user.id, user, group, today()),
        None => m.validate_membership_of_new(member.user.id, group),
    })?;
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(PageQuery),
    responses((status = 200, body = UserPage)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    member: Member,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<UserPage>> {
    let tenant = member.tenant;
    let store = &state.store;
    let page = super::visible_page(
        page.request(),
        |request| async move { store.list_users(tenant, &request).await },
        |u| state.sees(&member, u.id),
        |u| u.username.to_string(),
    )
    .await?;
    Ok(Json(UserPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next: page.next,
    }))
}

/// Reads a user: administrators any user of the tenant, everyone else only themselves. The
/// `ETag` is the user's version (the revision of their last change, as SCIM's `meta.version`).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users",
    responses((status = 200, body = UserOut,
               headers(("ETag" = String, description = "W/\"<revision>\": send it as If-Match to change only this version"))),
              (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Tagged<UserOut>> {
    let id = path_id(UserId::parse, &id)?;
    state.may_see_user(&member, id).await?;
    let (user, version) = state.store.versioned_user(member.tenant, id).await?;
    Ok(tagged(version, user.into()))
}

/// Changes a user. With `If-Match` (an `ETag` of `GET`), only while the user is still at that
/// version: otherwise 412 and nothing is written. Without it, the change applies as it is.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UserPatchIn,
    params(("If-Match" = Option<String>, Header, description = "the ETag the change was made against")),
    responses((status = 200, body = UserUpdateOut, headers(("ETag" = String, description = "the new version"))),
              (status = 403, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem),
              (status = 412, description = "the user changed since that ETag; nothing written", body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<UserPatchIn>,
) -> ApiResult<Tagged<UserUpdateOut>> {
    let id = path_id(UserId::parse, &id)?;
    let by = state.authorize(&member, Act::EditUser(id)).await?;
    let status = body.status.as_deref().map(settable_status).transpose()?;
    // Moving an expiry date changes whether the account may log in, so the status rule applies
    // to it too; it is also how an expired account gets its status back.
    let change = UserChange {
        login: body.username.is_some() || body.email.is_some(),
        status: status.is_some(),
        expiry: body.expires_on.is_some(),
    };
    state.access.read(member.tenant, |m| {
        m.validate_user_change(member.user.id, id, change, today())
    })?;
    let patch = UserPatch {
        username: match (&body.email, body.use_email_as_username) {
            (Some(Some(email)), true) => Some(Username::from_email(&Email::parse(email)?)?),
            (_, true) => {
                return Err(ApiError::invalid(
                    "use_email_as_username",
                    "give the new email in the same request",
                ));
            }
            (_, false) => body.username.as_deref().map(Username::parse).transpose()?,
        },
        email: body
            .email
            .map(|e| e.as_deref().map(Email::parse).transpose())
            .transpose()?,
        display_name: body
            .display_name
            .as_deref()
            .map(|n| Name::parse("display name", n))
            .transpose()?,
        labels: body.labels.map(Labels::parse).transpose()?,
        status,
        expires_on: body
            .expires_on
            .map(|d| {
                d.as_deref()
                    .map(|d| parse_date("expires_on", d))
                    .transpose()
            })
            .transpose()?,
        primary_group: body
            .primary_group
            .map(|g| g.as_deref().map(group_ref).transpose())
            .transpose()?,
    };
    let (before, version) = state.store.versioned_user(member.tenant, id).await?;
    if let Some(Some(group)) = patch.primary_group
        && before.primary_group != Some(group)
    {
        may_join_primary_group(&state, &member, group, Some(id)).await?;
    }
    // Checked here for a quick answer, and again inside the write's transaction.
    let expected = if_match.expect(version)?;
    let (user, version) = state
        .store
        .update_user_at(&by.into(), member.tenant, id, patch, expected)
        .await?;
    // SPEC 3.3: changing either the username or the email warns that the login changes.
    let mut warnings = vec![];
    if user.username != before.username {
        warnings.push(format!(
            "the login changes: {:?} now logs in as {:?}",
            before.username.as_str(),
            user.username.as_str()
        ));
    }
    if user.email != before.email {
        warnings.push(match &user.email {
            Some(e) => format!(
                "the email changes: login details and invitations now go to {:?}",
                e.as_str()
            ),
            None => "the email is removed: no login details or invitations can be sent".to_owned(),
        });
    }
    Ok(tagged(
        version,
        UserUpdateOut {
            user: user.into(),
            warnings,
        },
    ))
}

/// A user after an update, with what the change means for their login.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct UserUpdateOut {
    #[serde(flatten)]
    pub user: UserOut,
    pub warnings: Vec<String>,
}

/// Sets a password: one's own with the current one, anyone's as an administrator.
#[utoipa::path(put, path = "/api/v1/users/{id}/password", tag = "users", request_body = PasswordIn,
    responses((status = 204), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn set_password(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<PasswordIn>,
) -> ApiResult<StatusCode> {
    let id = path_id(UserId::parse, &id)?;
    // Changing one's own password proves one knows the current one (authentication); whether
    // one may set it is the engine's question either way.
    if id == member.user.id {
        let current = body.current_password.clone().ok_or_else(|| {
            ApiError::invalid(
                "current_password",
                "changing your own password needs the current one",
            )
        })?;
        let hash = state.store.password_hash(member.tenant, id).await?;
        if !verify_password(current, hash).await? {
            return Err(ApiError::invalid(
                "current_password",
                "the current password is wrong",
            ));
        }
    }
    let by = state.authorize(&member, Act::ChangePassword(id)).await?;
    let hash = hash_password(Password::parse(&body.password)?).await?;
    state
        .store
        .set_password_hash(&by.into(), member.tenant, id, hash)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/users/{id}/groups", tag = "users",
    responses((status = 200, body = Vec<GroupOut>)), security(("bearer" = [])))]
pub async fn groups(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<GroupOut>>> {
    let id = path_id(UserId::parse, &id)?;
    state.may_see_user(&member, id).await?;
    let groups = state.store.user_groups(member.tenant, id).await?;
    Ok(Json(groups.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/api/v1/users/{id}/managers", tag = "line management",
    responses((status = 200, body = Vec<ManagerLinkOut>)), security(("bearer" = [])))]
pub async fn managers(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ManagerLinkOut>>> {
    let id = path_id(UserId::parse, &id)?;
    state.may_see_user(&member, id).await?;
    state.store.user(member.tenant, id).await?;
    let links = state.store.managers_of(member.tenant, id).await?;
    let mut out: Vec<ManagerLinkOut> = links.into_iter().map(Into::into).collect();
    // Holding Group Manager on one of their groups makes a line manager too (SPEC 1).
    let through_groups = state.access.read(member.tenant, |m| m.group_managers(id));
    out.extend(
        through_groups
            .into_iter()
            .map(|(manager, group)| ManagerLinkOut {
                manager: manager.to_string(),
                managee: id.to_string(),
                source: "group".into(),
                group: Some(group.to_string()),
            }),
    );
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/v1/users/{id}/managees", tag = "line management",
    responses((status = 200, body = Vec<ManagerLinkOut>)), security(("bearer" = [])))]
pub async fn managees(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ManagerLinkOut>>> {
    let id = path_id(UserId::parse, &id)?;
    state.may_see_user(&member, id).await?;
    state.store.user(member.tenant, id).await?;
    let links = state.store.managees_of(member.tenant, id).await?;
    Ok(Json(links.into_iter().map(Into::into).collect()))
}

/// Makes `manager_id` a line manager of user `id`.
#[utoipa::path(put, path = "/api/v1/users/{id}/managers/{manager_id}", tag = "line management",
    responses((status = 204), (status = 404, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn add_manager(
    State(state): State<AppState>,
    member: Member,
    Path((id, manager)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let link = ManagerLink {
        managee: path_id(UserId::parse, &id)?,
        manager: path_id(UserId::parse, &manager)?,
        source: ManagerSource::Explicit,
    };
    let by = state
        .authorize(&member, Act::SetManager(link.managee))
        .await?;
    state.access.read(member.tenant, |m| {
        m.validate_manager(link.manager, link.managee, today())
    })?;
    state
        .store
        .add_manager(&by.into(), member.tenant, link)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/users/{id}/managers/{manager_id}", tag = "line management",
    responses((status = 204), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn remove_manager(
    State(state): State<AppState>,
    member: Member,
    Path((id, manager)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let managee = path_id(UserId::parse, &id)?;
    let manager = path_id(UserId::parse, &manager)?;
    let by = state.authorize(&member, Act::SetManager(managee)).await?;
    if !state
        .store
        .remove_manager(&by.into(), member.tenant, manager, managee)
        .await?
    {
        return Err(ApiError::NotFound(format!(
            "user {manager} is not a manager of user {managee}"
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkStatusIn {
    /// User ids or usernames; at most 1000.
    pub users: Vec<String>,
    /// `activated` or `deactivated`.
    pub status: String,
}

/// Activates or deactivates a selection of users: every one is checked by the engine first
/// (never oneself, never an expired account, `users.status` on each), then all change in one
/// transaction or none does.
#[utoipa::path(post, path = "/api/v1/users/status", tag = "users", request_body = BulkStatusIn,
    responses((status = 200, body = Vec<UserOut>), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn set_statuses(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<BulkStatusIn>,
) -> ApiResult<Json<Vec<UserOut>>> {
    let users = bulk_status(&state, &member, &body.users, &body.status).await?;
    Ok(Json(users.into_iter().map(Into::into).collect()))
}

/// Activates or deactivates people (by id or username), all or nothing: each is decided apart
/// by the engine's status rule (never oneself, never someone who holds more), and every proof
/// names the caller, who makes the one write. The JSON API and the people page both ask this.
pub(crate) async fn bulk_status(
    state: &AppState,
    member: &Member,
    users: &[String],
    status: &str,
) -> ApiResult<Vec<registrar_domain::user::User>> {
    if users.is_empty() || users.len() > 1000 {
        return Err(ApiError::invalid("users", "name 1 to 1000 users"));
    }
    let status = settable_status(status)?;
    let mut ids = Vec::with_capacity(users.len());
    let mut by = None;
    for (i, raw) in users.iter().enumerate() {
        let at = |e: ApiError| match e {
            ApiError::Invalid { detail, .. } | ApiError::NotFound(detail) => {
                ApiError::invalid(format!("users[{i}]"), detail)
            }
            ApiError::Forbidden(d) => ApiError::Forbidden(format!("users[{i}]: {d}")),
            other => other,
        };
        let person = super::person(state, member, raw).await.map_err(at)?;
        let id = person.id;
        let proof = person
            .conceal(
                member,
                state
                    .access
                    .read(member.tenant, |m| {
                        let change = UserChange {
                            login: false,
                            status: true,
                            expiry: false,
                        };
                        m.validate_user_change(member.user.id, id, change, today())
                    })
                    .map_err(ApiError::from),
            )
            .map_err(at)?;
        ids.push(id);
        by = Some(proof);
    }
    let by = by.ok_or_else(|| ApiError::invalid("users", "name 1 to 1000 users"))?;
    Ok(state
        .store
        .set_statuses(&by.into(), member.tenant, &ids, status)
        .await?)
}
