//! The audit log: every change to the tenant by revision, filtered by actor, entity, action and
//! time, oldest first (`after`) or newest first (`before`, `order=desc`).

use axum::extract::State;
use registrar_domain::access::Act;
use registrar_store::{AuditCursor, AuditFilter, ChangeRecord};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Member, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only changes after this revision, oldest first.
    pub after: Option<i64>,
    /// Only changes before this revision, newest first.
    pub before: Option<i64>,
    /// `asc` (default) or `desc`: newest first from the newest.
    pub order: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Who made the change: `user:<id>`, `operator:<token id>` or `cli`.
    pub actor: Option<String>,
    /// What changed: `user`, `group`, `grant`, `course`, `team`, ...
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// `user.created`, `grant.revoked`, `access.denied`, ...
    pub action: Option<String>,
    /// From this moment (RFC 3339) or day (`2026-12-01`), inclusive.
    pub from: Option<String>,
    /// Until this moment or day, exclusive (a day ends at midnight UTC).
    pub to: Option<String>,
}

impl AuditQuery {
    /// The store's filter and cursor, each field validated and named when it is not.
    pub fn parse(&self) -> ApiResult<(AuditFilter, AuditCursor)> {
        let text = |field: &str, v: &Option<String>| -> ApiResult<Option<String>> {
            match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                Some(v) if v.chars().count() > 200 => {
                    Err(ApiError::invalid(field, "must be at most 200 characters"))
                }
                other => Ok(other.map(str::to_owned)),
            }
        };
        let filter = AuditFilter {
            actor: text("actor", &self.actor)?,
            entity: text("entity", &self.entity)?,
            entity_id: text("entity_id", &self.entity_id)?,
            action: text("action", &self.action)?,
            from: self
                .from
                .as_deref()
                .map(|v| moment("from", v, false))
                .transpose()?,
            to: self
                .to
                .as_deref()
                .map(|v| moment("to", v, true))
                .transpose()?,
        };
        let cursor = match (self.after, self.before, self.order.as_deref()) {
            (Some(_), Some(_), _) => {
                return Err(ApiError::invalid(
                    "before",
                    "give after or before, not both",
                ));
            }
            (None, before, Some("desc")) | (None, before @ Some(_), None) => {
                AuditCursor::Before(before)
            }
            (after, None, None | Some("asc")) => AuditCursor::After(after.unwrap_or(0)),
            (_, _, Some(other)) => {
                return Err(ApiError::invalid(
                    "order",
                    format!("{other:?} is neither asc nor desc"),
                ));
            }
        };
        Ok((filter, cursor))
    }
}

/// A moment from a query: RFC 3339, or a day (its start; for an exclusive end, the next day's).
pub(crate) fn moment(field: &'static str, v: &str, end: bool) -> ApiResult<OffsetDateTime> {
    let v = v.trim();
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        return Ok(t);
    }
    let day = crate::dto::parse_date(field, v).map_err(|_| {
        ApiError::invalid(
            field,
            format!("{v:?} is neither a day (2026-12-01) nor an RFC 3339 time"),
        )
    })?;
    let day = if end {
        day.next_day().unwrap_or(day)
    } else {
        day
    };
    Ok(day.midnight().assume_utc())
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
    let (filter, cursor) = q.parse()?;
    let changes = state
        .store
        .audit(
            member.tenant,
            &filter,
            cursor,
            q.limit.unwrap_or(100).min(1000),
        )
        .await?;
    Ok(Json(changes.into_iter().map(Into::into).collect()))
}
