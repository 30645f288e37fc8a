//! API tokens for integrations: each acts as one user of the tenant.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use registrar_domain::access::Act;
use registrar_domain::ids::{TokenId, UserId};
use registrar_store::TokenKind;
use serde::Deserialize;
use utoipa::ToSchema;

use super::path_id;
use crate::bootstrap::issue_token;
use crate::dto::{NewTokenOut, TokenOut, parse_date};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Member};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenIn {
    /// What the token is for, e.g. `hr-feed`.
    pub name: String,
    /// The user the token acts as; defaults to the caller.
    pub user: Option<String>,
    /// Last valid day; without one the token lives until revoked.
    pub expires_on: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewTokenIn,
    responses((status = 201, body = NewTokenOut), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<NewTokenIn>,
) -> ApiResult<(StatusCode, Json<NewTokenOut>)> {
    let by = state.authorize(&member, Act::Configure).await?;
    let user = match body.user.as_deref() {
        Some(u) => UserId::parse(u).map_err(|e| ApiError::invalid("user", e.to_string()))?,
        None => member.user.id,
    };
    state.store.user(member.tenant, user).await?;
    // A token acts as its user: minting one hands over everything that user holds.
    state.takeover_guard(&member, user)?;
    let expires_at = body
        .expires_on
        .as_deref()
        .map(|d| parse_date("expires_on", d))
        .transpose()?
        .map(|d| d.next_day().unwrap_or(d).midnight().assume_utc());
    let (record, secret) = issue_token(
        state.store.as_ref(),
        &by.into(),
        Some((member.tenant, user)),
        TokenKind::Api,
        &body.name,
        expires_at,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewTokenOut {
            token: record.into(),
            secret,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<TokenOut>)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, member: Member) -> ApiResult<Json<Vec<TokenOut>>> {
    state.authorize(&member, Act::Configure).await?;
    let tokens = state.store.list_api_tokens(member.tenant).await?;
    Ok(Json(tokens.into_iter().map(Into::into).collect()))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    responses((status = 204), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let by = state.authorize(&member, Act::Configure).await?;
    let id = path_id(TokenId::parse, &id)?;
    state
        .store
        .revoke_token(&by.into(), Some(member.tenant), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
