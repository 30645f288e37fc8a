//! Tenants: operators create and list them; a tenant's own administrators read and rename theirs.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use registrar_domain::access::Act;
use registrar_domain::ids::TenantId;
use registrar_domain::tenant::{LegalRepresentative, Preset, TenantSlug};
use registrar_domain::text::{Email, Name, Password, Username};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::path_id;
use crate::bootstrap::{AdminSpec, create_tenant};
use crate::dto::{PageQuery, TenantOut, TenantPage, UserOut};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Member, Operator, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FirstAdminIn {
    /// Defaults to the email.
    pub username: Option<String>,
    pub email: Option<String>,
    pub display_name: String,
    /// At least 12 characters.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenantIn {
    pub slug: String,
    pub name: String,
    /// `classic-lms`, `levels`, `management-groups` or `group-roles`.
    pub preset: String,
    pub admin: Option<FirstAdminIn>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTenant {
    pub tenant: TenantOut,
    pub admin: Option<UserOut>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatchIn {
    pub name: Option<String>,
}

impl FirstAdminIn {
    fn parse(self) -> ApiResult<AdminSpec> {
        Ok(AdminSpec {
            username: self.username.as_deref().map(Username::parse).transpose()?,
            email: self.email.as_deref().map(Email::parse).transpose()?,
            display_name: Name::parse("display name", &self.display_name)?,
            password: Password::parse(&self.password)?,
        })
    }
}

/// Creates a tenant from a preset, with its first administrator in the same transaction.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = NewTenantIn,
    responses((status = 201, body = CreatedTenant), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    operator: Operator,
    Json(body): Json<NewTenantIn>,
) -> ApiResult<(StatusCode, Json<CreatedTenant>)> {
    let slug = TenantSlug::parse(&body.slug)?;
    let name = Name::parse("name", &body.name)?;
    let preset = Preset::parse(&body.preset)?;
    let admin = body.admin.map(FirstAdminIn::parse).transpose()?;
    let (tenant, admin) = create_tenant(
        state.store.as_ref(),
        &operator.actor(),
        slug,
        name,
        preset,
        admin,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTenant {
            tenant: tenant.into(),
            admin: admin.map(Into::into),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", params(PageQuery),
    responses((status = 200, body = TenantPage)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _operator: Operator,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<TenantPage>> {
    let page = state.store.list_tenants(&page.request()).await?;
    Ok(Json(TenantPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next: page.next,
    }))
}

#[utoipa::path(get, path = "/api/v1/tenants/{id}", tag = "tenants",
    responses((status = 200, body = TenantOut), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> ApiResult<Json<TenantOut>> {
    let id = path_id(TenantId::parse, &id)?;
    Ok(Json(state.store.tenant(id).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/tenants/{id}", tag = "tenants", request_body = TenantPatchIn,
    responses((status = 200, body = TenantOut), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    Json(body): Json<TenantPatchIn>,
) -> ApiResult<Json<TenantOut>> {
    let id = path_id(TenantId::parse, &id)?;
    rename(&state, &operator.actor(), id, body).await
}

async fn rename(
    state: &AppState,
    actor: &registrar_store::Actor,
    id: TenantId,
    body: TenantPatchIn,
) -> ApiResult<Json<TenantOut>> {
    let tenant = match body.name {
        Some(name) => {
            let name = Name::parse("name", &name)?;
            state.store.rename_tenant(actor, id, name).await?
        }
        None => state.store.tenant(id).await?,
    };
    Ok(Json(tenant.into()))
}

/// The caller's own tenant.
#[utoipa::path(get, path = "/api/v1/tenant", tag = "tenants",
    responses((status = 200, body = TenantOut)), security(("bearer" = [])))]
pub async fn current(State(state): State<AppState>, member: Member) -> ApiResult<Json<TenantOut>> {
    Ok(Json(state.store.tenant(member.tenant).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/tenant", tag = "tenants", request_body = TenantPatchIn,
    responses((status = 200, body = TenantOut), (status = 403, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn update_current(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<TenantPatchIn>,
) -> ApiResult<Json<TenantOut>> {
    let by = state.authorize(&member, Act::Configure).await?;
    rename(&state, &by.into(), member.tenant, body).await
}

/// The legal representative: not a role, the name (and address) on the tenant's invoices.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalRepresentativeIo {
    /// 1 to 200 characters.
    pub name: String,
    /// One line, up to 200 characters.
    pub address: Option<String>,
}

/// The tenant's legal representative, for holders of `billing.view`; 404 while none is named.
#[utoipa::path(get, path = "/api/v1/tenant/legal-representative", tag = "tenants",
    responses((status = 200, body = LegalRepresentativeIo), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn legal_representative(
    State(state): State<AppState>,
    member: Member,
) -> ApiResult<Json<LegalRepresentativeIo>> {
    state.authorize(&member, Act::ViewBilling).await?;
    let r = state
        .store
        .legal_representative(member.tenant)
        .await?
        .ok_or_else(|| ApiError::NotFound("no legal representative is named yet".into()))?;
    Ok(Json(LegalRepresentativeIo {
        name: r.name.to_string(),
        address: r.address.map(|a| a.to_string()),
    }))
}

/// Names the tenant's legal representative (`system.configure`).
#[utoipa::path(put, path = "/api/v1/tenant/legal-representative", tag = "tenants",
    request_body = LegalRepresentativeIo,
    responses((status = 200, body = LegalRepresentativeIo), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn set_legal_representative(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<LegalRepresentativeIo>,
) -> ApiResult<Json<LegalRepresentativeIo>> {
    let by = state.authorize(&member, Act::Configure).await?;
    let representative = LegalRepresentative {
        name: Name::parse("name", &body.name)?,
        address: body
            .address
            .as_deref()
            .map(|a| Name::parse("address", a))
            .transpose()?,
    };
    let out = LegalRepresentativeIo {
        name: representative.name.to_string(),
        address: representative.address.as_ref().map(ToString::to_string),
    };
    state
        .store
        .set_legal_representative(&by.into(), member.tenant, Some(representative))
        .await?;
    Ok(Json(out))
}

/// Removes the legal representative (`system.configure`).
#[utoipa::path(delete, path = "/api/v1/tenant/legal-representative", tag = "tenants",
    responses((status = 204), (status = 403, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn remove_legal_representative(
    State(state): State<AppState>,
    member: Member,
) -> ApiResult<StatusCode> {
    let by = state.authorize(&member, Act::Configure).await?;
    state
        .store
        .set_legal_representative(&by.into(), member.tenant, None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DigestQuery {
    /// Wait (up to 2 s) until this server holds at least this revision; else 409.
    pub at_least_revision: Option<i64>,
}

/// A fingerprint of the tenant's read model on this server (operator token): the revision it
/// holds and a SHA-256 over its access data and its answers. `registrar digest` prints the same
/// for a fresh replay of the change log, so the two can be compared; it reveals nothing of the
/// tenant's data.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/digest", tag = "tenants", params(DigestQuery),
    responses((status = 200, body = crate::readmodel::ModelDigest),
              (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn digest(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
    Query(q): Query<DigestQuery>,
) -> ApiResult<Json<crate::readmodel::ModelDigest>> {
    let id = path_id(TenantId::parse, &id)?;
    let tenant = state.store.tenant(id).await?;
    if let Some(revision) = q.at_least_revision {
        state
            .access
            .at_least(revision, std::time::Duration::from_secs(2))
            .await?;
    }
    Ok(Json(state.access.digest(tenant.id, crate::state::today())))
}
