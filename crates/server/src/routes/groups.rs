//! Groups of the caller's tenant and their direct members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use registrar_domain::access::Act;
use registrar_domain::ids::{GroupId, UserId};
use registrar_domain::text::Name;
use registrar_store::{GroupPatch, NewGroup};
use serde::Deserialize;
use utoipa::ToSchema;

use super::path_id;
use crate::dto::{GroupOut, GroupPage, PageQuery, UserPage, double_option};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Member, Query};
use crate::state::{AppState, today};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroupIn {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The group this one nests in.
    pub parent: Option<String>,
    /// Public groups are seen across the tenant, and a platform coach reaches their members;
    /// groups are private by default.
    #[serde(default)]
    pub public: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatchIn {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `null` makes it a top-level group.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub parent: Option<Option<String>>,
    /// Its confidentiality: public or private.
    pub public: Option<bool>,
}

fn description(s: String) -> ApiResult<String> {
    if s.chars().count() > 2000 {
        return Err(ApiError::invalid(
            "description",
            "must be at most 2000 characters",
        ));
    }
    Ok(s)
}

fn parent_ref(s: &str) -> ApiResult<GroupId> {
    GroupId::parse(s).map_err(|e| ApiError::invalid("parent", e.to_string()))
}

#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", request_body = NewGroupIn,
    responses((status = 201, body = GroupOut), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<NewGroupIn>,
) -> ApiResult<(StatusCode, Json<GroupOut>)> {
    let new = NewGroup {
        name: Name::parse("name", &body.name)?,
        description: description(body.description)?,
        parent: body.parent.as_deref().map(parent_ref).transpose()?,
        public: body.public,
    };
    if let Some(parent) = new.parent {
        // Named as a bad field rather than a missing page: the parent is part of the body.
        state
            .store
            .group(member.tenant, parent)
            .await
            .map_err(|e| match e {
                // An outage is a 5xx, never an answer about the parent.
                registrar_store::StoreError::NotFound { .. } => {
                    ApiError::invalid("parent", format!("parent {parent:?} does not exist"))
                }
                other => other.into(),
            })?;
    }
    // A nested group is created inside its parent, where the caller may hold the right.
    let by = state
        .authorize(&member, Act::CreateGroup { parent: new.parent })
        .await?;
    let group = state
        .store
        .create_group(&by.into(), member.tenant, new)
        .await?;
    Ok((StatusCode::CREATED, Json(group.into())))
}

#[utoipa::path(get, path = "/api/v1/groups", tag = "groups", params(PageQuery),
    responses((status = 200, body = GroupPage)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    member: Member,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<GroupPage>> {
    let tenant = member.tenant;
    let store = &state.store;
    let page = super::visible_page(
        page.request(),
        |request| async move { store.list_groups(tenant, &request).await },
        |g| state.allows(&member, &Act::ViewGroup(g.id)),
        |g| g.id.to_string(),
    )
    .await?;
    Ok(Json(GroupPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next: page.next,
    }))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "groups",
    responses((status = 200, body = GroupOut), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<GroupOut>> {
    let id = path_id(GroupId::parse, &id)?;
    state.authorize(&member, Act::ViewGroup(id)).await?;
    Ok(Json(state.store.group(member.tenant, id).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/groups/{id}", tag = "groups", request_body = GroupPatchIn,
    responses((status = 200, body = GroupOut), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<GroupPatchIn>,
) -> ApiResult<Json<GroupOut>> {
    let id = path_id(GroupId::parse, &id)?;
    let by = match &body.parent {
        Some(to) => {
            let to = to.as_deref().map(parent_ref).transpose()?;
            let by = state
                .authorize(&member, Act::MoveGroup { group: id, to })
                .await?;
            // Going under another hands the moved members what the new ancestors carry.
            if let Some(parent) = to {
                state.access.read(member.tenant, |m| {
                    m.validate_nesting(member.user.id, id, parent, today())
                })?;
            }
            by
        }
        None => state.authorize(&member, Act::EditGroup(id)).await?,
    };
    let patch = GroupPatch {
        name: body
            .name
            .as_deref()
            .map(|n| Name::parse("name", n))
            .transpose()?,
        description: body.description.map(description).transpose()?,
        parent: body
            .parent
            .map(|p| p.as_deref().map(parent_ref).transpose())
            .transpose()?,
        // Who reaches the members follows (a platform coach reaches those of public groups):
        // group administrators set it, as they edit the group.
        public: body.public,
    };
    let group = state
        .store
        .update_group(&by.into(), member.tenant, id, patch)
        .await?;
    Ok(Json(group.into()))
}

/// Direct members, by username.
#[utoipa::path(get, path = "/api/v1/groups/{id}/members", tag = "groups", params(PageQuery),
    responses((status = 200, body = UserPage), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn members(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<UserPage>> {
    let id = path_id(GroupId::parse, &id)?;
    state.authorize(&member, Act::ViewGroup(id)).await?;
    // Seeing a group is not seeing its people: members are cut by `users.view` like any list.
    let tenant = member.tenant;
    let store = &state.store;
    let page = super::visible_page(
        page.request(),
        |request| async move { store.group_members(tenant, id, &request).await },
        |u| state.sees(&member, u.id),
        |u| u.username.to_string(),
    )
    .await?;
    Ok(Json(UserPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next: page.next,
    }))
}

/// Adds a direct member; adding someone twice is not an error.
#[utoipa::path(put, path = "/api/v1/groups/{id}/members/{user_id}", tag = "groups",
    responses((status = 204), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn add_member(
    State(state): State<AppState>,
    member: Member,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let group = path_id(GroupId::parse, &id)?;
    let user = path_id(UserId::parse, &user)?;
    let by = state.authorize(&member, Act::ManageMembers(group)).await?;
    // Joining a group that carries grants or policies is a grant in all but name.
    state.access.read(member.tenant, |m| {
        m.validate_membership(member.user.id, user, group, today())
    })?;
    state
        .store
        .add_member(&by.into(), member.tenant, group, user)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}/members/{user_id}", tag = "groups",
    responses((status = 204), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn remove_member(
    State(state): State<AppState>,
    member: Member,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let group = path_id(GroupId::parse, &id)?;
    let user = path_id(UserId::parse, &user)?;
    let by = state.authorize(&member, Act::ManageMembers(group)).await?;
    if !state
        .store
        .remove_member(&by.into(), member.tenant, group, user)
        .await?
    {
        return Err(ApiError::NotFound(format!(
            "user {user} is not a direct member of group {group}"
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}
