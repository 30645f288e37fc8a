//! Engine-validated writes shared by the API, the command line and the demo data, so that a
//! grant made anywhere passes the same rules.

use registrar_domain::access::{
    AccessModel, Change, Grant, GrantId, ObjectRef, Permission, Principal, Role, RoleCode, RoleId,
    Scope,
};
use registrar_domain::ids::{TenantId, UserId};
use registrar_store::{Actor, LogEntry};

use crate::error::{ApiError, ApiResult};
use crate::readmodel::ReadModel;
use crate::state::today;

/// Grants `role` (code or id) to `principal` at `scope` on behalf of `granter`, after the engine
/// has checked scope kind, eligibility, prerequisite, holder limit, precondition, feature,
/// self-grant and the delegation rule.
pub async fn grant(
    access: &ReadModel,
    tenant: TenantId,
    granter: UserId,
    actor: &Actor,
    principal: Principal,
    role: &str,
    scope: Scope,
) -> ApiResult<Grant> {
    let id = GrantId::new();
    let mut made = None;
    let slot = std::sync::Mutex::new(&mut made);
    access
        .write(tenant, actor, |m| {
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
            m.validate_grant(granter, &grant, today())?;
            if let Ok(mut s) = slot.lock() {
                **s = Some(grant);
            }
            Ok(vec![LogEntry {
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
            }])
        })
        .await?;
    made.ok_or_else(|| ApiError::Internal("grant not made".into()))
}

/// Appends one change the engine's plain-data rules accept (objects, enrollments, features).
pub async fn record(
    access: &ReadModel,
    tenant: TenantId,
    actor: &Actor,
    action: &'static str,
    entity: &'static str,
    entity_id: String,
    change: Change,
) -> ApiResult<i64> {
    access
        .write(tenant, actor, |m| {
            m.data().validate(&change)?;
            Ok(vec![LogEntry {
                action,
                entity,
                entity_id: entity_id.clone(),
                before: None,
                after: serde_json::to_value(&change).ok(),
                access: vec![change.clone()],
            }])
        })
        .await
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

/// Validates a role edit in the engine (data rules and the delegation rule for role edits) and
/// turns it into a log entry.
pub(crate) fn role_entry(
    m: &AccessModel,
    editor: UserId,
    before: Option<&Role>,
    after: Role,
    action: &'static str,
) -> ApiResult<Vec<LogEntry>> {
    let change = Change::UpsertRole(after.clone());
    m.data().validate(&change)?;
    m.validate_role_edit(editor, before, &after)?;
    Ok(vec![LogEntry {
        action,
        entity: "role",
        entity_id: after.id.to_string(),
        before: before.and_then(json),
        after: json(&after),
        access: vec![change],
    }])
}

/// Refuses unless the engine allows `user` to do `permission` to `object`, with its reason.
fn require(
    m: &AccessModel,
    user: UserId,
    permission: Permission,
    object: ObjectRef,
) -> ApiResult<()> {
    let decision = m.check(user, permission, &object, today())?;
    if decision.allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "may not {permission} on {object}: {}",
            decision.explanation
        )))
    }
}

/// Copies a role under a new code and name; the copy is never an owner role.
pub async fn copy_role(
    access: &ReadModel,
    tenant: TenantId,
    editor: UserId,
    actor: &Actor,
    source: &str,
    code: &str,
    name: &str,
) -> ApiResult<Role> {
    let code = RoleCode::parse(code)?;
    let name = role_name(name)?;
    let id = RoleId::new();
    let mut made = None;
    let slot = std::sync::Mutex::new(&mut made);
    access
        .write(tenant, actor, |m| {
            require(m, editor, Permission::RolesEdit, ObjectRef::tenant(tenant))?;
            let copy = Role {
                id,
                code: code.clone(),
                name: name.clone(),
                // One owner role per tenant: a copy is an ordinary role.
                owner: false,
                ..role_in(m, source)?
            };
            if let Ok(mut s) = slot.lock() {
                **s = Some(copy.clone());
            }
            role_entry(m, editor, None, copy, "role.copied")
        })
        .await?;
    made.ok_or_else(|| ApiError::Internal("role not copied".into()))
}

/// Deletes a role nobody holds, no policy uses and no tenant setting names.
pub async fn delete_role(
    access: &ReadModel,
    tenant: TenantId,
    actor: &Actor,
    role: &str,
) -> ApiResult<()> {
    access
        .write(tenant, actor, |m| {
            if let Actor::User(editor) = actor {
                require(m, *editor, Permission::RolesEdit, ObjectRef::tenant(tenant))?;
            }
            let r = role_in(m, role)?;
            m.validate_role_deletion(r.id)?;
            Ok(vec![LogEntry {
                action: "role.deleted",
                entity: "role",
                entity_id: r.id.to_string(),
                before: json(&r),
                after: None,
                access: vec![Change::RemoveRole { role: r.id }],
            }])
        })
        .await?;
    Ok(())
}

/// Revokes a grant; needs `roles.assign` where it applies. The owner's grant is handed over
/// instead.
pub async fn revoke(
    access: &ReadModel,
    tenant: TenantId,
    actor: &Actor,
    id: GrantId,
) -> ApiResult<()> {
    access
        .write(tenant, actor, |m| {
            let revoker = match actor {
                Actor::User(u) => Some(*u),
                _ => None,
            };
            let grant = m.validate_revoke(revoker, id, today())?;
            Ok(vec![LogEntry {
                action: "grant.revoked",
                entity: "grant",
                entity_id: id.to_string(),
                before: json(&grant),
                after: None,
                access: vec![Change::RemoveGrant { grant: id }],
            }])
        })
        .await?;
    Ok(())
}
