//! The decision API and what feeds it: checks (single and batch) with explanations, reverse
//! queries, the permission catalog, roles, grants, policies, learning objects and features.
//! Every rule lives in the engine; handlers parse, ask it, and append what it validated.

use crate::readmodel::Written;
use registrar_domain::access::{
    AccessSettings, Act, Capability, Change, Constraints, Feature, Grant, GrantId, LearningObject,
    ObjectId, ObjectKind, ObjectRef, Permission, Policy, PolicyId, PolicyItem, Principal, Risk,
    Role, Scope, ScopeKind,
};
use std::collections::BTreeSet;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use registrar_domain::ids::{GroupId, UserId};
use registrar_store::LogEntry;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::path_id;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Member, Query};
use crate::ops::{json, role_entry, role_in, role_name};
use crate::state::{AppState, today};

/// How long a check may wait for a revision it was asked to be at least as fresh as.
const FRESHNESS_WAIT: Duration = Duration::from_secs(2);
const MAX_BATCH: usize = 1000;

// ---- parsing helpers -----------------------------------------------------------------------

pub(crate) fn scope(input: &str) -> ApiResult<Scope> {
    match input.trim() {
        "platform" => Ok(Scope::Platform),
        "public_groups" => Ok(Scope::PublicGroups),
        other => Ok(Scope::Object(ObjectRef::parse(other).map_err(|e| {
            ApiError::invalid("scope", format!("{e}; or use platform or public_groups"))
        })?)),
    }
}

fn principal(input: &str) -> ApiResult<Principal> {
    let bad = || {
        ApiError::invalid(
            "principal",
            format!("invalid principal {input:?}: expected user:<uuid> or group:<uuid>"),
        )
    };
    match input.trim().split_once(':') {
        Some(("user", id)) => Ok(Principal::User(UserId::parse(id).map_err(|_| bad())?)),
        Some(("group", id)) => Ok(Principal::Group(GroupId::parse(id).map_err(|_| bad())?)),
        _ => Err(bad()),
    }
}

// ---- checks ----------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    /// User id or username.
    pub user: String,
    /// A permission code, e.g. `courses.edit`.
    pub action: String,
    /// `kind:uuid`, e.g. `course:0190...`.
    pub resource: String,
    /// Answer only from a model at least this fresh (a revision returned by an earlier write or
    /// check); waits up to 2 s, then refuses with 409.
    pub at_least_revision: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckOut {
    pub allowed: bool,
    /// The grant, role, permission, reach and relation chain that allowed it; or the vetoes, the
    /// closest grants and the missing link that denied it.
    #[schema(value_type = Object)]
    pub explanation: serde_json::Value,
    /// The explanation in one sentence.
    pub summary: String,
    /// The change-log revision the answer was given at.
    pub revision: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckItemIn {
    pub user: String,
    pub action: String,
    pub resource: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchIn {
    /// At most 1000.
    pub checks: Vec<CheckItemIn>,
    pub at_least_revision: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItemOut {
    pub allowed: bool,
    #[schema(value_type = Object)]
    pub explanation: serde_json::Value,
    pub summary: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchOut {
    /// In the order of the request.
    pub results: Vec<BatchItemOut>,
    pub revision: i64,
}

async fn decide(state: &AppState, member: &Member, item: &CheckItemIn) -> ApiResult<BatchItemOut> {
    let decision = decision(state, member, item).await?;
    Ok(BatchItemOut {
        allowed: decision.allowed(),
        summary: decision.explanation().to_string(),
        explanation: json(decision.explanation()).unwrap_or_default(),
    })
}

/// The engine's decision on a check, for whoever may ask it: what `/check` and the explain
/// page answer.
pub(crate) async fn decision(
    state: &AppState,
    member: &Member,
    item: &CheckItemIn,
) -> ApiResult<registrar_domain::access::Decision> {
    let permission = Permission::parse(&item.action)?;
    let resource = ObjectRef::parse(&item.resource)?;
    // The engine's explanation would name the user: to a caller who may not see them, say no
    // more than for nobody.
    let person = super::person(state, member, &item.user).await?;
    let user = person.id;
    let answer = state
        .require_then(member, |m, asker, today| {
            let a = m.decide_check(asker, user, permission, &resource, today)?;
            Ok((a.asking, a.answer))
        })
        .await;
    let (_, decision) = person.conceal(member, answer)?;
    decision.ok_or_else(|| ApiError::Internal("an allowed check came without its decision".into()))
}

async fn freshness(state: &AppState, at_least: Option<i64>) -> ApiResult<i64> {
    match at_least {
        Some(r) => state.access.at_least(r, FRESHNESS_WAIT).await,
        None => Ok(state.access.revision()),
    }
}

/// May this person do this to this object, and why (not)?
#[utoipa::path(post, path = "/api/v1/check", tag = "decisions", request_body = CheckIn,
    responses((status = 200, body = CheckOut), (status = 404, body = crate::error::Problem),
              (status = 409, description = "revision not reached", body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn check(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<CheckIn>,
) -> ApiResult<Json<CheckOut>> {
    let revision = freshness(&state, body.at_least_revision).await?;
    let item = CheckItemIn {
        user: body.user,
        action: body.action,
        resource: body.resource,
    };
    let out = decide(&state, &member, &item).await?;
    Ok(Json(CheckOut {
        allowed: out.allowed,
        explanation: out.explanation,
        summary: out.summary,
        revision,
    }))
}

/// Many checks at one revision. A bad item fails the whole batch, naming its index.
#[utoipa::path(post, path = "/api/v1/check/batch", tag = "decisions", request_body = BatchIn,
    responses((status = 200, body = BatchOut), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn check_batch(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<BatchIn>,
) -> ApiResult<Json<BatchOut>> {
    if body.checks.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "checks",
            format!(
                "at most {MAX_BATCH} checks per batch, got {}",
                body.checks.len()
            ),
        ));
    }
    let revision = freshness(&state, body.at_least_revision).await?;
    let mut results = Vec::with_capacity(body.checks.len());
    for (i, item) in body.checks.iter().enumerate() {
        let out = decide(&state, &member, item).await.map_err(|e| match e {
            ApiError::Invalid { field, detail } => ApiError::Invalid {
                field: Some(format!("checks[{i}].{}", field.unwrap_or_default())),
                detail: format!("checks[{i}]: {detail}"),
            },
            ApiError::NotFound(d) => ApiError::NotFound(format!("checks[{i}]: {d}")),
            ApiError::Forbidden(d) => ApiError::Forbidden(format!("checks[{i}]: {d}")),
            other => other,
        })?;
        results.push(out);
    }
    Ok(Json(BatchOut { results, revision }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ObjectsQuery {
    /// A permission code.
    pub action: String,
    /// An object kind, e.g. `course`.
    pub kind: String,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// 1 to 500, default 50.
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectPage {
    /// `kind:uuid` references, in id order.
    pub items: Vec<String>,
    pub next: Option<String>,
}

/// The objects of a kind a user may act on.
#[utoipa::path(get, path = "/api/v1/users/{id}/objects", tag = "decisions", params(ObjectsQuery),
    responses((status = 200, body = ObjectPage), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn objects_for(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Query(q): Query<ObjectsQuery>,
) -> ApiResult<Json<ObjectPage>> {
    let user = path_id(UserId::parse, &id)?;
    state.may_see_user(&member, user).await?;
    let permission = Permission::parse(&q.action)?;
    let kind = ObjectKind::parse(&q.kind).map_err(|e| ApiError::invalid("kind", e.to_string()))?;
    let after = q
        .after
        .as_deref()
        .map(|a| {
            uuid::Uuid::parse_str(a)
                .map(ObjectId::from_uuid)
                .map_err(|_| ApiError::invalid("after", format!("invalid cursor {a:?}")))
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let page = state.access.read(member.tenant, |m| {
        m.objects_for(user, permission, kind, after, limit, today())
    })?;
    Ok(Json(ObjectPage {
        items: page.items.iter().map(ToString::to_string).collect(),
        next: page.next.map(|n| n.to_string()),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HoldersQuery {
    pub action: String,
    pub resource: String,
}

/// Everyone who may do `action` to `resource` (needs `access.review`).
#[utoipa::path(get, path = "/api/v1/holders", tag = "decisions", params(HoldersQuery),
    responses((status = 200, body = Vec<String>)), security(("bearer" = [])))]
pub async fn holders(
    State(state): State<AppState>,
    member: Member,
    Query(q): Query<HoldersQuery>,
) -> ApiResult<Json<Vec<String>>> {
    state.authorize(&member, Act::ReviewAccess).await?;
    let permission = Permission::parse(&q.action)?;
    let resource = ObjectRef::parse(&q.resource)?;
    let users = state
        .access
        .read(member.tenant, |m| m.holders(permission, &resource, today()))?;
    Ok(Json(users.iter().map(ToString::to_string).collect()))
}

// ---- catalog and roles -----------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionOut {
    pub code: &'static str,
    pub description: &'static str,
    /// Object kinds the permission is checked against.
    pub applies_to: Vec<String>,
    #[schema(value_type = Object)]
    pub risk: Risk,
}

/// The permission catalog with risk flags.
#[utoipa::path(get, path = "/api/v1/permissions", tag = "roles",
    responses((status = 200, body = Vec<PermissionOut>)), security(("bearer" = [])))]
pub async fn permissions(_member: Member) -> Json<Vec<PermissionOut>> {
    Json(
        Permission::ALL
            .iter()
            .map(|p| PermissionOut {
                code: p.code(),
                description: p.describe(),
                applies_to: p.applies_to().iter().map(ToString::to_string).collect(),
                risk: p.risk(),
            })
            .collect(),
    )
}

#[utoipa::path(get, path = "/api/v1/roles", tag = "roles",
    responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn list_roles(
    State(state): State<AppState>,
    member: Member,
) -> ApiResult<Json<Vec<Role>>> {
    state.authorize(&member, Act::ViewRoles).await?;
    Ok(Json(state.access.read(member.tenant, |m| {
        m.data().roles.values().cloned().collect()
    })))
}

#[utoipa::path(get, path = "/api/v1/roles/{role}", tag = "roles",
    responses((status = 200, body = Object), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn get_role(
    State(state): State<AppState>,
    member: Member,
    Path(role): Path<String>,
) -> ApiResult<Json<Role>> {
    state.authorize(&member, Act::ViewRoles).await?;
    Ok(Json(
        state.access.read(member.tenant, |m| role_in(m, &role))?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleIn {
    /// 1 to 64 characters of a-z, 0-9, - and _.
    pub code: String,
    pub name: String,
    /// A platform role or level (what a person is in the tenant).
    #[serde(default)]
    pub level: bool,
    /// `{"permission": "courses.view", "reach": "assigned"}` pairs.
    #[schema(value_type = Vec<Object>)]
    pub capabilities: BTreeSet<Capability>,
    /// Where it may be granted: platform, public_groups, group, course, event, session, channel.
    #[schema(value_type = Vec<String>)]
    pub scopes: BTreeSet<ScopeKind>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub constraints: Constraints,
    /// Holding it at a scope puts that scope among the holder's assigned objects.
    #[serde(default)]
    pub assigns: bool,
    /// Holding it on a group makes the group's members the holder's team.
    #[serde(default)]
    pub makes_team: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePatchIn {
    pub name: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub capabilities: Option<BTreeSet<Capability>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub scopes: Option<BTreeSet<ScopeKind>>,
    #[schema(value_type = Option<Object>)]
    pub constraints: Option<Constraints>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyRoleIn {
    pub code: String,
    pub name: String,
}

/// Creates a role from scratch.
#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", request_body = RoleIn,
    responses((status = 201, body = Object), (status = 403, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn create_role(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<RoleIn>,
) -> ApiResult<(StatusCode, Json<Role>)> {
    state.authorize(&member, Act::EditRoles).await?;
    let mut role = Role::new(&body.code, &role_name(&body.name)?)?;
    role.level = body.level;
    role.capabilities = body.capabilities;
    role.scopes = body.scopes;
    role.constraints = body.constraints;
    role.assigns = body.assigns;
    role.makes_team = body.makes_team;
    if role.scopes.is_empty() {
        return Err(ApiError::invalid(
            "scopes",
            "a role needs at least one scope kind where it may be granted",
        ));
    }
    let (role, _) = state
        .access
        .write(member.tenant, |m| {
            role_entry(m, member.user.id, None, role.clone(), "role.created")
        })
        .await?;
    Ok((StatusCode::CREATED, Json(role)))
}

/// Copies a role (built-in or not) under a new code, to change it without touching the original.
#[utoipa::path(post, path = "/api/v1/roles/{role}/copy", tag = "roles", request_body = CopyRoleIn,
    responses((status = 201, body = Object), (status = 409, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn copy_role(
    State(state): State<AppState>,
    member: Member,
    Path(role): Path<String>,
    Json(body): Json<CopyRoleIn>,
) -> ApiResult<(StatusCode, Json<Role>)> {
    let copy = crate::ops::copy_role(
        &state.access,
        member.tenant,
        member.user.id,
        &role,
        &body.code,
        &body.name,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(copy)))
}

/// Changes a role's name, permission matrix, scopes or constraints.
#[utoipa::path(patch, path = "/api/v1/roles/{role}", tag = "roles", request_body = RolePatchIn,
    responses((status = 200, body = Object), (status = 403, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn update_role(
    State(state): State<AppState>,
    member: Member,
    Path(role): Path<String>,
    Json(body): Json<RolePatchIn>,
) -> ApiResult<Json<Role>> {
    Ok(Json(edit_role(&state, &member, &role, body).await?))
}

/// Edits a role under the delegation rule (nobody makes a role give more than they hold): the
/// JSON API's `PATCH` and the role page's matrix.
pub(crate) async fn edit_role(
    state: &AppState,
    member: &Member,
    role: &str,
    body: RolePatchIn,
) -> ApiResult<Role> {
    state.authorize(member, Act::EditRoles).await?;
    let name = body.name.as_deref().map(role_name).transpose()?;
    let (role, _) = state
        .access
        .write(member.tenant, |m| {
            let before = role_in(m, role)?;
            let mut after = before.clone();
            if let Some(n) = &name {
                after.name = n.clone();
            }
            if let Some(c) = &body.capabilities {
                after.capabilities = c.clone();
            }
            if let Some(s) = &body.scopes {
                after.scopes = s.clone();
            }
            if let Some(c) = &body.constraints {
                after.constraints = c.clone();
            }
            if after == before {
                let by = crate::ops::require(m, member.user.id, &Act::EditRoles)?;
                return Ok(Written {
                    by: by.into(),
                    entries: vec![],
                    made: after,
                });
            }
            role_entry(m, member.user.id, Some(&before), after, "role.updated")
        })
        .await?;
    Ok(role)
}

/// Deletes a role nobody holds.
#[utoipa::path(delete, path = "/api/v1/roles/{role}", tag = "roles",
    responses((status = 204), (status = 409, description = "still in use", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn delete_role(
    State(state): State<AppState>,
    member: Member,
    Path(role): Path<String>,
) -> ApiResult<StatusCode> {
    crate::ops::delete_role(&state.access, member.tenant, member.user.id, &role).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- grants and policies ---------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantIn {
    /// `user:<uuid>` or `group:<uuid>`.
    pub principal: String,
    /// Role code or id.
    pub role: String,
    /// `platform`, `public_groups` or `kind:uuid` (a group, course, event, session or channel).
    pub scope: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GrantsQuery {
    /// Only grants to this principal (`user:<uuid>` or `group:<uuid>`).
    pub principal: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/grants", tag = "grants", params(GrantsQuery),
    responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn list_grants(
    State(state): State<AppState>,
    member: Member,
    Query(q): Query<GrantsQuery>,
) -> ApiResult<Json<Vec<Grant>>> {
    state.authorize(&member, Act::ViewRoles).await?;
    let only = q.principal.as_deref().map(principal).transpose()?;
    Ok(Json(state.access.read(member.tenant, |m| {
        m.data()
            .grants
            .values()
            .filter(|g| only.is_none_or(|p| g.principal == p))
            .copied()
            .collect()
    })))
}

/// Grants a role at a scope. The engine checks the scope kind, eligibility, prerequisite,
/// holder limit, precondition, feature, self-grant and the delegation rule.
#[utoipa::path(post, path = "/api/v1/grants", tag = "grants", request_body = GrantIn,
    responses((status = 201, body = Object), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn create_grant(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<GrantIn>,
) -> ApiResult<(StatusCode, Json<Grant>)> {
    let who = principal(&body.principal)?;
    let at = scope(&body.scope)?;
    let grant = crate::ops::grant(
        &state.access,
        member.tenant,
        member.user.id,
        who,
        &body.role,
        at,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(grant)))
}

/// Revokes a grant; needs `roles.assign` where it applies. The owner's grant is handed over
/// instead (`POST /api/v1/ownership`).
#[utoipa::path(delete, path = "/api/v1/grants/{id}", tag = "grants",
    responses((status = 204), (status = 404, body = crate::error::Problem)), security(("bearer" = [])))]
pub async fn delete_grant(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id(GrantId::parse, &id)?;
    crate::ops::revoke(&state.access, member.tenant, member.user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyItemIn {
    pub role: String,
    pub scope: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyIn {
    pub name: String,
    pub items: Vec<PolicyItemIn>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentIn {
    /// `user:<uuid>` or `group:<uuid>`.
    pub principal: String,
}

#[utoipa::path(get, path = "/api/v1/policies", tag = "policies",
    responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn list_policies(
    State(state): State<AppState>,
    member: Member,
) -> ApiResult<Json<serde_json::Value>> {
    state.authorize(&member, Act::ViewRoles).await?;
    Ok(Json(state.access.read(member.tenant, |m| {
        let d = m.data();
        serde_json::Value::Array(
            d.policies
                .values()
                .map(|p| {
                    let attached: Vec<String> = d
                        .attachments
                        .iter()
                        .filter(|(id, _)| *id == p.id)
                        .map(|(_, who)| who.to_string())
                        .collect();
                    serde_json::json!({ "id": p.id, "name": p.name, "items": p.items, "attached_to": attached })
                })
                .collect(),
        )
    })))
}

/// Creates a named bundle of (role, scope) pairs.
#[utoipa::path(post, path = "/api/v1/policies", tag = "policies", request_body = PolicyIn,
    responses((status = 201, body = Object), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn create_policy(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<PolicyIn>,
) -> ApiResult<(StatusCode, Json<Policy>)> {
    let by = state.authorize(&member, Act::EditPolicies).await?;
    let name = role_name(&body.name)?;
    let id = PolicyId::new();
    let (policy, _) = state
        .access
        .write(member.tenant, |m| {
            let mut items = vec![];
            for (i, item) in body.items.iter().enumerate() {
                let role = role_in(m, &item.role)
                    .map_err(|e| ApiError::invalid(format!("items[{i}].role"), e.to_string()))?;
                items.push(PolicyItem {
                    role: role.id,
                    scope: scope(&item.scope).map_err(|e| {
                        ApiError::invalid(format!("items[{i}].scope"), e.to_string())
                    })?,
                });
            }
            let policy = Policy {
                id,
                name: name.clone(),
                items,
            };
            let change = Change::UpsertPolicy(policy.clone());
            m.data().validate(&change)?;
            Ok(Written {
                by: by.into(),
                entries: vec![LogEntry {
                    action: "policy.created",
                    entity: "policy",
                    entity_id: id.to_string(),
                    before: None,
                    after: json(&policy),
                    access: vec![change],
                }],
                made: policy,
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(policy)))
}

/// Attaches a policy to a user or group; every item is checked as if it were a grant.
#[utoipa::path(post, path = "/api/v1/policies/{id}/attachments", tag = "policies", request_body = AttachmentIn,
    responses((status = 204), (status = 403, body = crate::error::Problem)), security(("bearer" = [])))]
pub async fn attach_policy(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<AttachmentIn>,
) -> ApiResult<StatusCode> {
    state.authorize(&member, Act::EditPolicies).await?;
    let id = path_id(PolicyId::parse, &id)?;
    let who = principal(&body.principal)?;
    state
        .access
        .write(member.tenant, |m| {
            let policy = m
                .data()
                .policies
                .get(&id)
                .cloned()
                .ok_or_else(|| ApiError::NotFound(format!("policy {id} not found")))?;
            let by = m.validate_attachment(member.user.id, &policy, who, today())?;
            // Attaching twice changes nothing: no second audit row, like adding a member twice.
            if m.data().attachments.contains(&(id, who)) {
                return Ok(Written::entries(by, vec![]));
            }
            Ok(Written::entries(
                by,
                vec![LogEntry {
                    action: "policy.attached",
                    entity: "policy",
                    entity_id: id.to_string(),
                    before: None,
                    after: Some(serde_json::json!({ "principal": who.to_string() })),
                    access: vec![Change::AttachPolicy {
                        policy: id,
                        principal: who,
                    }],
                }],
            ))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/policies/{id}/attachments/{principal}", tag = "policies",
    responses((status = 204), (status = 404, body = crate::error::Problem)), security(("bearer" = [])))]
pub async fn detach_policy(
    State(state): State<AppState>,
    member: Member,
    Path((id, who)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = path_id(PolicyId::parse, &id)?;
    let who = principal(&who)?;
    state
        .access
        .write(member.tenant, |m| {
            let by = m.validate_detachment(member.user.id, id, who, today())?;
            Ok(Written::entries(
                by,
                vec![LogEntry {
                    action: "policy.detached",
                    entity: "policy",
                    entity_id: id.to_string(),
                    before: Some(serde_json::json!({ "principal": who.to_string() })),
                    after: None,
                    access: vec![Change::DetachPolicy {
                        policy: id,
                        principal: who,
                    }],
                }],
            ))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnershipIn {
    /// The user who becomes the owner.
    pub to: String,
}

/// Hands tenant ownership over; the old owner keeps the tenant's former-owner role (Admin).
#[utoipa::path(post, path = "/api/v1/ownership", tag = "grants", request_body = OwnershipIn,
    responses((status = 204), (status = 422, body = crate::error::Problem)), security(("bearer" = [])))]
pub async fn hand_over(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<OwnershipIn>,
) -> ApiResult<StatusCode> {
    let to = super::user_ref(&state, &member, &body.to).await?.id;
    state
        .access
        .write(member.tenant, |m| {
            let (changes, by) = m.hand_over_ownership(member.user.id, to, today())?;
            Ok(Written::entries(
                by,
                vec![LogEntry {
                    action: "ownership.handed_over",
                    entity: "user",
                    entity_id: to.to_string(),
                    before: Some(serde_json::json!({ "owner": member.user.id })),
                    after: Some(serde_json::json!({ "owner": to })),
                    access: changes,
                }],
            ))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- learning objects and features -----------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectIn {
    /// `kind:uuid`: a course, lesson, event, session, learning_plan, catalogue, channel, team or
    /// report.
    pub object: String,
    /// What it sits in: a lesson's or event's course, a course's group, ...
    pub parent: Option<String>,
    #[serde(default)]
    pub published: bool,
    #[serde(default)]
    pub instructor_led: bool,
}

/// Records a learning object the platform holds, with the relations decisions need. Creating
/// one needs the kind's create permission where it goes; changing one needs its edit permission.
#[utoipa::path(put, path = "/api/v1/objects", tag = "objects", request_body = ObjectIn,
    responses((status = 200, body = Object), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn put_object(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<ObjectIn>,
) -> ApiResult<Json<LearningObject>> {
    let object =
        ObjectRef::parse(&body.object).map_err(|e| ApiError::invalid("object", e.to_string()))?;
    let parent = body
        .parent
        .as_deref()
        .map(|p| ObjectRef::parse(p).map_err(|e| ApiError::invalid("parent", e.to_string())))
        .transpose()?;
    if matches!(
        object.kind,
        ObjectKind::Course | ObjectKind::Lesson | ObjectKind::LearningPlan
    ) {
        return Err(ApiError::invalid(
            "object",
            format!(
                "{} objects are managed through /api/v1/courses and /api/v1/learning-plans",
                object.kind
            ),
        ));
    }
    let existing = state
        .access
        .read(member.tenant, |m| m.data().objects.get(&object).cloned());
    let by = state
        .authorize(&member, Act::Put { object, parent })
        .await?;
    let value = LearningObject {
        object,
        parent,
        created_by: existing
            .as_ref()
            .map_or(Some(member.user.id), |e| e.created_by),
        published: body.published,
        instructor_led: body.instructor_led,
    };
    let made = value.clone();
    state
        .access
        .write(member.tenant, |m| {
            // Authorized against what existed a moment ago; a concurrent change means retry.
            if m.data().objects.get(&object) != existing.as_ref() {
                return Err(ApiError::Conflict {
                    field: "object".into(),
                    detail: format!("{object} changed meanwhile; send the request again"),
                });
            }
            let change = Change::UpsertObject(made.clone());
            m.data().validate(&change)?;
            Ok(Written::entries(
                by,
                vec![LogEntry {
                    action: if existing.is_some() {
                        "object.updated"
                    } else {
                        "object.created"
                    },
                    entity: "object",
                    entity_id: object.to_string(),
                    before: existing.as_ref().and_then(json),
                    after: json(&made),
                    access: vec![change],
                }],
            ))
        })
        .await?;
    Ok(Json(value))
}

/// A role a tenant setting names: the HR feed's managers' role (seed 001: the feed makes
/// Managers), or the default role.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedManagerRoleIo {
    /// A role code or id; `null` for none: a feed-given manager link then gives no role.
    pub role: Option<String>,
}

/// A tenant setting that names a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoleSetting {
    /// Held by whoever the HR feed names as someone's manager (seed 001).
    FeedManager,
    /// The platform role (a level) of anyone who holds none.
    Default,
}

impl RoleSetting {
    fn of(self, s: &AccessSettings) -> Option<registrar_domain::access::RoleId> {
        match self {
            RoleSetting::FeedManager => s.feed_manager_role,
            RoleSetting::Default => s.default_role,
        }
    }

    fn with(
        self,
        s: AccessSettings,
        role: Option<registrar_domain::access::RoleId>,
    ) -> AccessSettings {
        match self {
            RoleSetting::FeedManager => AccessSettings {
                feed_manager_role: role,
                ..s
            },
            RoleSetting::Default => AccessSettings {
                default_role: role,
                ..s
            },
        }
    }

    fn key(self) -> &'static str {
        match self {
            RoleSetting::FeedManager => "feed_manager_role",
            RoleSetting::Default => "default_role",
        }
    }
}

/// The role a setting names, as its code.
pub(crate) async fn role_setting(
    state: &AppState,
    member: &Member,
    setting: RoleSetting,
) -> ApiResult<Option<String>> {
    state.authorize(member, Act::ViewRoles).await?;
    Ok(state.access.read(member.tenant, |m| {
        setting
            .of(&m.data().settings)
            .and_then(|r| m.role(r))
            .map(|r| r.code.to_string())
    }))
}

/// Sets the role a setting names (`system.configure`). It is handed to people without a grant,
/// so whoever sets it must hold what it gives, as when creating such a role (the delegation
/// rule); a default role must be a level.
pub(crate) async fn set_role_setting(
    state: &AppState,
    member: &Member,
    setting: RoleSetting,
    role: Option<&str>,
) -> ApiResult<Option<String>> {
    let (role, _) = state
        .access
        .write(member.tenant, |m| {
            let by = crate::ops::require(m, member.user.id, &Act::Configure)?;
            let role = role.map(|r| role_in(m, r)).transpose()?;
            if let Some(role) = &role {
                if setting == RoleSetting::Default && !role.level {
                    return Err(ApiError::invalid(
                        "role",
                        format!(
                            "{:?} is not a level: the default role is what a person is in the tenant",
                            role.code.as_str()
                        ),
                    ));
                }
                m.validate_role_edit(member.user.id, None, role)?;
            }
            let change = Change::SetSettings(setting.with(m.data().settings, role.as_ref().map(|r| r.id)));
            m.data().validate(&change)?;
            Ok(Written {
                by: by.into(),
                entries: vec![LogEntry {
                    action: match setting {
                        RoleSetting::FeedManager => "tenant.feed_manager_role_set",
                        RoleSetting::Default => "tenant.default_role_set",
                    },
                    entity: "tenant",
                    entity_id: member.tenant.to_string(),
                    before: None,
                    after: Some(serde_json::json!({
                        setting.key(): role.as_ref().map(|r| r.code.to_string()),
                    })),
                    access: vec![change],
                }],
                made: role.map(|r| r.code.to_string()),
            })
        })
        .await?;
    Ok(role)
}

/// The role whoever the HR feed names as someone's manager holds, while they manage someone
/// through it.
#[utoipa::path(get, path = "/api/v1/tenant/feed-manager-role", tag = "grants",
    responses((status = 200, body = FeedManagerRoleIo)), security(("bearer" = [])))]
pub async fn feed_manager_role(
    State(state): State<AppState>,
    member: Member,
) -> ApiResult<Json<FeedManagerRoleIo>> {
    let role = role_setting(&state, &member, RoleSetting::FeedManager).await?;
    Ok(Json(FeedManagerRoleIo { role }))
}

/// Sets that role (`system.configure`). It is handed to people by the feed, so whoever sets it
/// must hold what it gives, as when creating such a role (the delegation rule).
#[utoipa::path(put, path = "/api/v1/tenant/feed-manager-role", tag = "grants",
    request_body = FeedManagerRoleIo,
    responses((status = 200, body = FeedManagerRoleIo), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn set_feed_manager_role(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<FeedManagerRoleIo>,
) -> ApiResult<Json<FeedManagerRoleIo>> {
    let role = set_role_setting(
        &state,
        &member,
        RoleSetting::FeedManager,
        body.role.as_deref(),
    )
    .await?;
    Ok(Json(FeedManagerRoleIo { role }))
}

/// The tenant's default role: the level of anyone who holds none (Student, User, Learner).
#[utoipa::path(get, path = "/api/v1/tenant/default-role", tag = "grants",
    responses((status = 200, body = FeedManagerRoleIo)), security(("bearer" = [])))]
pub async fn default_role(
    State(state): State<AppState>,
    member: Member,
) -> ApiResult<Json<FeedManagerRoleIo>> {
    let role = role_setting(&state, &member, RoleSetting::Default).await?;
    Ok(Json(FeedManagerRoleIo { role }))
}

/// Sets the default role (`system.configure`; a level, and only one whose every permission the
/// setter holds; `null` for none).
#[utoipa::path(put, path = "/api/v1/tenant/default-role", tag = "grants",
    request_body = FeedManagerRoleIo,
    responses((status = 200, body = FeedManagerRoleIo), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn set_default_role(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<FeedManagerRoleIo>,
) -> ApiResult<Json<FeedManagerRoleIo>> {
    let role =
        set_role_setting(&state, &member, RoleSetting::Default, body.role.as_deref()).await?;
    Ok(Json(FeedManagerRoleIo { role }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureIn {
    pub on: bool,
}

/// Switches a tenant feature (`social_learning`, `learner_app`).
#[utoipa::path(put, path = "/api/v1/features/{feature}", tag = "objects", request_body = FeatureIn,
    responses((status = 204), (status = 422, body = crate::error::Problem)), security(("bearer" = [])))]
pub async fn set_feature(
    State(state): State<AppState>,
    member: Member,
    Path(feature): Path<String>,
    Json(body): Json<FeatureIn>,
) -> ApiResult<StatusCode> {
    let by = state.authorize(&member, Act::Configure).await?;
    let feature = Feature::ALL
        .into_iter()
        .find(|f| f.code() == feature)
        .ok_or_else(|| {
            ApiError::invalid(
                "feature",
                format!("unknown feature {feature:?}: expected social_learning or learner_app"),
            )
        })?;
    state
        .access
        .write(member.tenant, |_| {
            Ok(Written::entries(
                by,
                vec![LogEntry {
                    action: "feature.set",
                    entity: "tenant",
                    entity_id: member.tenant.to_string(),
                    before: None,
                    after: Some(serde_json::json!({ "feature": feature.code(), "on": body.on })),
                    access: vec![Change::SetFeature {
                        feature,
                        on: body.on,
                    }],
                }],
            ))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
