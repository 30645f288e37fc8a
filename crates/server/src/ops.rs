//! Engine-validated writes shared by the API, the command line and the demo data, so that a
//! grant made anywhere passes the same rules.

use registrar_domain::access::{Change, Grant, GrantId, Principal, Scope};
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
