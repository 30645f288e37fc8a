//! The audit log: every change to the tenant, oldest first, by revision.

use axum::extract::State;
use registrar_domain::access::Act;
use registrar_store::ChangeRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiResult;
use crate::extract::{Json, Member, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only changes after this revision.
    pub after: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeOut {
    pub revision: i64,
    /// `user:<id>`, `operator:<token id>` or `cli`.
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub at: String,
}

impl From<ChangeRecord> for ChangeOut {
    fn from(c: ChangeRecord) -> Self {
        Self {
            revision: c.revision,
            actor: c.actor,
            action: c.action,
            entity: c.entity,
            entity_id: c.entity_id,
            before: c.before,
            after: c.after,
            at: c
                .at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Vec<ChangeOut>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    member: Member,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<ChangeOut>>> {
    state.authorize(&member, Act::ViewAudit).await?;
    let changes = state
        .store
        .changes(
            Some(member.tenant),
            q.after.unwrap_or(0),
            q.limit.unwrap_or(100).min(1000),
        )
        .await?;
    Ok(Json(changes.into_iter().map(Into::into).collect()))
}
