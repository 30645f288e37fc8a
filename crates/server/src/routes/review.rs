//! The access review (SPEC 6): everyone who holds a permission with a risk flag, by role, scope
//! and how they got it (a grant to them, a grant to a group of theirs, a policy, the tenant's
//! default role, the HR feed), with when and by whom it was granted; as JSON or CSV.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use registrar_domain::access::{Act, Origin, ReviewLine, RiskFlag};
use registrar_domain::ids::{TenantId, UserId};
use registrar_store::{AuditCursor, AuditFilter, Store};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::dto::timestamp;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Member, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// Only holdings with this flag: `personal_data`, `config`, `data_loss` or `privilege`.
    pub risk: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewLineOut {
    pub user: String,
    pub username: String,
    pub display_name: String,
    pub status: String,
    pub superadmin: bool,
    /// The role's code (`null` for a superadmin, who holds everything through none).
    pub role: Option<String>,
    pub scope: Option<String>,
    /// `direct`, `group`, `policy`, `default_role`, `feed_manager` or `superadmin`.
    pub via: String,
    /// The group or principal it comes through, for `group` and `policy`.
    pub through: Option<String>,
    /// The risky permissions, each with its reach: `users.edit (tenant)`.
    pub permissions: Vec<String>,
    pub flags: Vec<String>,
    /// When and by whom the grant (or policy attachment) was made, from the audit log.
    pub granted_at: Option<String>,
    pub granted_by: Option<String>,
}

const CSV_HEADER: &[&str] = &[
    "user",
    "username",
    "display_name",
    "status",
    "role",
    "scope",
    "via",
    "through",
    "permissions",
    "flags",
    "granted_at",
    "granted_by",
];

fn via(line: &ReviewLine) -> (&'static str, Option<String>) {
    match line.basis.as_ref().map(|b| b.origin) {
        None => ("superadmin", None),
        Some(Origin::Grant { .. }) => ("direct", None),
        Some(Origin::GroupGrant { group, .. }) => ("group", Some(format!("group:{group}"))),
        Some(Origin::Policy { principal, .. }) => ("policy", Some(principal.to_string())),
        Some(Origin::DefaultRole) => ("default_role", None),
        Some(Origin::FeedManager) => ("feed_manager", None),
    }
}

/// When and by whom the basis of a line was granted: the grant's creation row, or the policy's
/// attachment to the principal.
async fn granted(
    store: &dyn Store,
    tenant: TenantId,
    line: &ReviewLine,
) -> ApiResult<Option<(String, String)>> {
    let (entity, id, action, principal) = match line.basis.as_ref().map(|b| b.origin) {
        Some(Origin::Grant { grant } | Origin::GroupGrant { grant, .. }) => {
            ("grant", grant.to_string(), "grant.created", None)
        }
        Some(Origin::Policy { policy, principal }) => (
            "policy",
            policy.to_string(),
            "policy.attached",
            Some(principal.to_string()),
        ),
        _ => return Ok(None),
    };
    let filter = AuditFilter {
        entity: Some(entity.to_owned()),
        entity_id: Some(id),
        action: Some(action.to_owned()),
        ..AuditFilter::default()
    };
    let rows = store
        .audit(tenant, &filter, AuditCursor::Before(None), 50)
        .await?;
    Ok(rows
        .into_iter()
        .find(|r| {
            principal.as_ref().is_none_or(|p| {
                r.after.as_ref().and_then(|a| a["principal"].as_str()) == Some(p.as_str())
            })
        })
        .map(|r| (timestamp(r.at), r.actor)))
}

/// The review as lines with people named and grants dated.
pub(crate) async fn review(
    state: &AppState,
    member: &Member,
    risk: Option<RiskFlag>,
) -> ApiResult<Vec<ReviewLineOut>> {
    state.authorize(member, Act::ReviewAccess).await?;
    let lines = state.access.read(member.tenant, |m| m.access_review(risk));
    let mut people: HashMap<UserId, registrar_domain::user::User> = HashMap::new();
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if let std::collections::hash_map::Entry::Vacant(slot) = people.entry(line.user) {
            slot.insert(state.store.user(member.tenant, line.user).await?);
        }
        let person = &people[&line.user];
        let (via, through) = via(&line);
        let when = granted(state.store.as_ref(), member.tenant, &line).await?;
        out.push(ReviewLineOut {
            user: line.user.to_string(),
            username: person.username.to_string(),
            display_name: person.display_name.to_string(),
            status: person.status.code().to_owned(),
            superadmin: line.superadmin,
            role: line.basis.as_ref().map(|b| b.role_code.to_string()),
            scope: line.basis.as_ref().map(|b| b.scope.to_string()),
            via: via.to_owned(),
            through,
            permissions: line
                .permissions
                .iter()
                .map(|(p, r)| format!("{} ({})", p.code(), r.code()))
                .collect(),
            flags: line.flags.iter().map(|f| f.code().to_owned()).collect(),
            granted_at: when.as_ref().map(|w| w.0.clone()),
            granted_by: when.map(|w| w.1),
        });
    }
    Ok(out)
}

pub(crate) fn risk_flag(raw: Option<&str>) -> ApiResult<Option<RiskFlag>> {
    raw.map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| {
            RiskFlag::parse(r).ok_or_else(|| {
                ApiError::invalid(
                    "risk",
                    format!("{r:?} is none of personal_data, config, data_loss, privilege"),
                )
            })
        })
        .transpose()
}

#[utoipa::path(get, path = "/api/v1/access-review", tag = "access", params(ReviewQuery),
    responses((status = 200, body = Vec<ReviewLineOut>), (status = 403, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    member: Member,
    Query(q): Query<ReviewQuery>,
) -> ApiResult<Response> {
    let risk = risk_flag(q.risk.as_deref())?;
    let lines = review(&state, &member, risk).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(lines).into_response()),
        "csv" => {
            let rows = lines.into_iter().map(|l| {
                vec![
                    l.user,
                    l.username,
                    l.display_name,
                    l.status,
                    l.role.unwrap_or_else(|| "superadmin".into()),
                    l.scope.unwrap_or_default(),
                    l.via,
                    l.through.unwrap_or_default(),
                    l.permissions.join("; "),
                    l.flags.join("; "),
                    l.granted_at.unwrap_or_default(),
                    l.granted_by.unwrap_or_default(),
                ]
            });
            let body = crate::export::table(CSV_HEADER, rows)?;
            Ok(crate::export::download("access-review.csv", body))
        }
        other => Err(ApiError::invalid(
            "format",
            format!("{other:?} is neither json nor csv"),
        )),
    }
}
