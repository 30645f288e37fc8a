//! Engine-validated writes shared by the API, the command line and the demo data, so that a
//! grant made anywhere passes the same rules.

use registrar_domain::access::{
    AccessModel, Act, Authorized, Change, Explanation, Grant, GrantId, Principal, Role, RoleCode,
    RoleId, Scope,
};
use registrar_domain::ids::{TenantId, UserId};
use registrar_store::{Actor, LogEntry};

use crate::error::{ApiError, ApiResult};
use crate::readmodel::{ReadModel, Written};
use crate::state::today;

/// Grants `role` (code or id) to `principal` at `scope` on behalf of `granter`, after the engine
/// has checked scope kind, eligibility, prerequisite, holder limit, precondition, feature,
/// self-grant and the delegation rule.
pub async fn grant(
    access: &ReadModel,
    tenant: TenantId,
    granter: UserId,
    principal: Principal,
    role: &str,
    scope: Scope,
) -> ApiResult<Grant> {
    let id = GrantId::new();
    let (grant, _) = access
        .write(tenant, |m| {
            let role = m
                .role_by_code(role.trim())
                .or_else(|| {
                    registrar_domain::access::RoleId::parse(role)
                        .ok()
                        .and_then(|r| m.role(r))
                })
                .ok_or_else(|| ApiError::NotFound(format!("role {role:?} not found")))?;
            let grant = Grant {
                id,
                principal,
                role: role.id,
                scope,
            };
            let by = m.validate_grant(granter, &grant, today())?;
            let entries = vec![LogEntry {
                action: "grant.created",
                entity: "grant",
                entity_id: id.to_string(),
                before: None,
                after: Some(serde_json::json!({
                    "principal": principal.to_string(),
                    "role": role.code.to_string(),
                    "scope": scope.to_string(),
                })),
                access: vec![Change::UpsertGrant(grant)],
            }];
            Ok(Written {
                by: by.into(),
                entries,
                made: grant,
            })
        })
        .await?;
    Ok(grant)
}

/// A role to give a person as they are set up or sign up: a role code or id, at a scope.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleAtIn {
    pub role: String,
    /// `platform`, `public_groups` or an object such as `group:<uuid>`.
    pub scope: String,
}

/// What comes with a person being created: the grants of the roles they are given (checked,
/// all or nothing, by the delegation rule for `granter`), and the tenant's default group when
/// nothing else gives them a role. `field` names the list in errors (`roles[1]`).
pub(crate) struct NewPersonAccess {
    pub grants: Vec<LogEntry>,
    pub also_joins: Vec<registrar_domain::ids::GroupId>,
}

pub(crate) fn new_person_access(
    m: &AccessModel,
    granter: UserId,
    user: UserId,
    roles: &[RoleAtIn],
    joining: &[registrar_domain::ids::GroupId],
    field: &str,
) -> ApiResult<NewPersonAccess> {
    let at = |i: usize| format!("{field}[{i}]");
    let mut given = Vec::with_capacity(roles.len());
    let mut codes = Vec::with_capacity(roles.len());
    for (i, r) in roles.iter().enumerate() {
        let role = role_in(m, &r.role).map_err(|e| ApiError::invalid(at(i), e.to_string()))?;
        let scope = crate::routes::access::scope(&r.scope)
            .map_err(|e| ApiError::invalid(at(i), e.to_string()))?;
        given.push((role.id, scope));
        codes.push(role.code);
    }
    m.validate_grants_to_new(granter, user, &given, today())
        .map_err(|(i, e)| {
            let detail = e.to_string();
            match ApiError::from(e) {
                ApiError::Forbidden(_) => ApiError::Forbidden(format!("{}: {detail}", at(i))),
                _ => ApiError::invalid(at(i), detail),
            }
        })?;
    let grants = given
        .iter()
        .zip(codes)
        .map(|((role, scope), code)| {
            let grant = Grant::new(Principal::User(user), *role, *scope);
            LogEntry {
                action: "grant.created",
                entity: "grant",
                entity_id: grant.id.to_string(),
                before: None,
                after: Some(serde_json::json!({
                    "principal": grant.principal.to_string(),
                    "role": code.to_string(),
                    "scope": scope.to_string(),
                    "reason": "given as the person was set up",
                })),
                access: vec![Change::UpsertGrant(grant)],
            }
        })
        .collect();
    Ok(NewPersonAccess {
        grants,
        also_joins: m
            .default_group_for_new(&given, joining)
            .into_iter()
            .collect(),
    })
}

/// Appends one change the engine's plain-data rules accept (objects, enrollments, features),
/// as the command line's demo data does.
pub async fn record(
    access: &ReadModel,
    tenant: TenantId,
    actor: &Actor,
    action: &'static str,
    entity: &'static str,
    entity_id: String,
    change: Change,
) -> ApiResult<i64> {
    let ((), revision) = access
        .write(tenant, |m| {
            m.data().validate(&change)?;
            Ok(Written::entries(
                actor.clone(),
                vec![LogEntry {
                    action,
                    entity,
                    entity_id: entity_id.clone(),
                    before: None,
                    after: serde_json::to_value(&change).ok(),
                    access: vec![change.clone()],
                }],
            ))
        })
        .await?;
    Ok(revision)
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> Option<serde_json::Value> {
    serde_json::to_value(v).ok()
}

/// A role named by code or by id.
pub(crate) fn role_in(model: &AccessModel, input: &str) -> ApiResult<Role> {
    let by_code = model.role_by_code(input.trim()).cloned();
    let by_id = RoleId::parse(input)
        .ok()
        .and_then(|id| model.role(id).cloned());
    by_code
        .or(by_id)
        .ok_or_else(|| ApiError::NotFound(format!("role {input:?} not found")))
}

pub(crate) fn role_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "name",
            "a role name must be 1 to 100 characters",
        ));
    }
    Ok(name.to_owned())
}

/// Validates a role edit in the engine (roles.edit, data rules and the delegation rule for role
/// edits) and turns it into a log entry; the answer is the role as written.
pub(crate) fn role_entry(
    m: &AccessModel,
    editor: UserId,
    before: Option<&Role>,
    after: Role,
    action: &'static str,
) -> ApiResult<Written<Role>> {
    require(m, editor, &Act::EditRoles)?;
    let change = Change::UpsertRole(after.clone());
    m.data().validate(&change)?;
    let by = m.validate_role_edit(editor, before, &after)?;
    Ok(Written {
        by: by.into(),
        entries: vec![LogEntry {
            action,
            entity: "role",
            entity_id: after.id.to_string(),
            before: before.and_then(json),
            after: json(&after),
            access: vec![change],
        }],
        made: after,
    })
}

/// The engine's proof that `user` may do `act`, decided on the model a write is validated
/// against; a refusal carries its reason.
pub(crate) fn require(m: &AccessModel, user: UserId, act: &Act) -> ApiResult<Authorized> {
    let decision = m.decide(user, act, today())?;
    decision.authorized().ok_or_else(|| {
        let what = match decision.explanation() {
            Explanation::Denied(d) => format!("{} on {}", d.permission, d.object),
            Explanation::Allowed(a) => format!("{} on {}", a.permission, a.object),
        };
        ApiError::Forbidden(format!("may not {what}: {}", decision.explanation()))
    })
}

/// Copies a role under a new code and name; the copy is never an owner role.
pub async fn copy_role(
    access: &ReadModel,
    tenant: TenantId,
    editor: UserId,
    source: &str,
    code: &str,
    name: &str,
) -> ApiResult<Role> {
    let code = RoleCode::parse(code)?;
    let name = role_name(name)?;
    let id = RoleId::new();
    let (copy, _) = access
        .write(tenant, |m| {
            let copy = Role {
                id,
                code: code.clone(),
                name: name.clone(),
                // One owner role per tenant: a copy is an ordinary role.
                owner: false,
                ..role_in(m, source)?
            };
            role_entry(m, editor, None, copy, "role.copied")
        })
        .await?;
    Ok(copy)
}

/// Deletes a role nobody holds, no policy uses and no tenant setting names.
pub async fn delete_role(
    access: &ReadModel,
    tenant: TenantId,
    editor: UserId,
    role: &str,
) -> ApiResult<()> {
    access
        .write(tenant, |m| {
            let by = require(m, editor, &Act::EditRoles)?;
            let r = role_in(m, role)?;
            m.validate_role_deletion(r.id)?;
            Ok(Written::entries(
                by,
                vec![LogEntry {
                    action: "role.deleted",
                    entity: "role",
                    entity_id: r.id.to_string(),
                    before: json(&r),
                    after: None,
                    access: vec![Change::RemoveRole { role: r.id }],
                }],
            ))
        })
        .await?;
    Ok(())
}

/// Revokes a grant; needs `roles.assign` where it applies. The owner's grant is handed over
/// instead.
pub async fn revoke(
    access: &ReadModel,
    tenant: TenantId,
    revoker: UserId,
    id: GrantId,
) -> ApiResult<()> {
    access
        .write(tenant, |m| {
            let (grant, by) = m.validate_revoke(revoker, id, today())?;
            Ok(Written::entries(
                by,
                vec![LogEntry {
                    action: "grant.revoked",
                    entity: "grant",
                    entity_id: id.to_string(),
                    before: json(&grant),
                    after: None,
                    access: vec![Change::RemoveGrant { grant: id }],
                }],
            ))
        })
        .await?;
    Ok(())
}
