//! The tenant's leaver policy: what a feed deactivation does besides deactivating (SPEC 4). Set
//! through the JSON API (`/api/v1/tenant/leaver-policy`), applied by the feed.

use axum::extract::State;
use registrar_domain::access::{AccessModel, Act, Change, Principal};
use registrar_domain::ids::UserId;
use registrar_store::{LeaverPolicy, LogEntry};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{Json, Member};
use crate::state::{AppState, today};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaverPolicyIo {
    /// `keep`, `suspend_enrollments` or `remove_grants`.
    pub leaver_policy: String,
}

#[utoipa::path(get, path = "/api/v1/tenant/leaver-policy", tag = "scim",
    responses((status = 200, body = LeaverPolicyIo)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, member: Member) -> ApiResult<Json<LeaverPolicyIo>> {
    state.authorize(&member, Act::Configure).await?;
    let policy = state.store.leaver_policy(member.tenant).await?;
    Ok(Json(LeaverPolicyIo {
        leaver_policy: policy.code().to_owned(),
    }))
}

#[utoipa::path(put, path = "/api/v1/tenant/leaver-policy", tag = "scim", request_body = LeaverPolicyIo,
    responses((status = 200, body = LeaverPolicyIo), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn set(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<LeaverPolicyIo>,
) -> ApiResult<Json<LeaverPolicyIo>> {
    let by = state.authorize(&member, Act::Configure).await?;
    let policy = LeaverPolicy::parse(&body.leaver_policy)?;
    state
        .store
        .set_leaver_policy(&by.into(), member.tenant, policy)
        .await?;
    Ok(Json(LeaverPolicyIo {
        leaver_policy: policy.code().to_owned(),
    }))
}

/// The engine changes that take a leaver's own grants and policy attachments away, each one
/// asked of the engine as revoking or detaching it by hand is (`validate_revoke`,
/// `validate_detachment`). The owner's grant stays: ownership is handed over, never dropped.
pub fn grant_removals(m: &AccessModel, actor: UserId, leaver: UserId) -> ApiResult<Vec<LogEntry>> {
    let principal = Principal::User(leaver);
    let mut entries = vec![];
    // The owner's grant stays: ownership is handed over, never dropped.
    for grant in m
        .data()
        .grants
        .values()
        .filter(|g| g.principal == principal && !m.role(g.role).is_some_and(|r| r.owner))
    {
        m.validate_revoke(actor, grant.id, today())?;
        entries.push(LogEntry {
            action: "grant.revoked",
            entity: "grant",
            entity_id: grant.id.to_string(),
            before: serde_json::to_value(grant).ok(),
            after: Some(serde_json::json!({ "reason": "leaver policy" })),
            access: vec![Change::RemoveGrant { grant: grant.id }],
        });
    }
    for (policy, _) in m.data().attachments.iter().filter(|(_, p)| *p == principal) {
        m.validate_detachment(actor, *policy, principal, today())?;
        entries.push(LogEntry {
            action: "policy.detached",
            entity: "policy",
            entity_id: policy.to_string(),
            before: Some(serde_json::json!({ "principal": principal.to_string() })),
            after: Some(serde_json::json!({ "reason": "leaver policy" })),
            access: vec![Change::DetachPolicy {
                policy: *policy,
                principal,
            }],
        });
    }
    Ok(entries)
}
