//! Logging in and out, and "who am I".

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registrar_domain::ids::TokenId;
use registrar_domain::tenant::TenantSlug;
use registrar_domain::text::Username;
use registrar_domain::user::EffectiveStatus;
use registrar_store::{NewToken, StoreError, TokenKind};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::auth::{new_secret, secret_hash, verify_password};
use crate::dto::UserOut;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Member, SESSION_COOKIE};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The tenant's slug.
    pub tenant: String,
    pub username: String,
    pub password: String,
    /// Logging in to the learner app: refused when the account's app access is off or over.
    #[serde(default)]
    pub app: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Session secret: send as `Authorization: Bearer ...`, or rely on the cookie just set.
    pub token: String,
    /// Send in the `x-csrf-token` header on every state-changing request that uses the cookie.
    pub csrf_token: String,
    pub expires_at: String,
    pub user: UserOut,
}

fn wrong_credentials() -> ApiError {
    ApiError::Unauthenticated("wrong tenant, username or password".into())
}

/// Logs a user in. Unknown tenants, unknown users and wrong passwords all get the same answer
/// after the same work; only a right password learns that the account is deactivated or expired.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "session", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::error::Problem),
              (status = 403, description = "deactivated or expired account", body = crate::error::Problem),
              (status = 429, body = crate::error::Problem)))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Response> {
    let signed = sign_in(&state, &body, peer).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        cookie(&state, SESSION_COOKIE, &signed.secret)?,
    );
    let body = LoginResponse {
        token: signed.secret,
        csrf_token: signed.csrf,
        expires_at: signed
            .expires_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        user: signed.user.into(),
    };
    Ok((StatusCode::OK, headers, Json(body)).into_response())
}

/// A session just opened: its secret (the cookie), its CSRF secret and who it is for.
pub(crate) struct SignedIn {
    pub user: registrar_domain::user::User,
    pub secret: String,
    pub csrf: String,
    pub expires_at: OffsetDateTime,
}

/// A `Set-Cookie` value for a session-long, script-proof, same-site cookie.
pub(crate) fn cookie(state: &AppState, name: &str, value: &str) -> ApiResult<HeaderValue> {
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let max_age = state.settings.session_hours * 3600;
    let cookie =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Checks a login (throttled per account and address, the same answer for every wrong
/// credential) and opens a session: for the JSON API and the admin pages alike.
pub(crate) async fn sign_in(
    state: &AppState,
    body: &LoginRequest,
    peer: SocketAddr,
) -> ApiResult<SignedIn> {
    let account = format!(
        "{}/{}",
        body.tenant.trim(),
        registrar_domain::text::fold_identity(&body.username)
    );
    state
        .limiter
        .attempt(&account, &peer.ip().to_string())
        .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;

    let user = match (
        TenantSlug::parse(&body.tenant),
        Username::parse(&body.username),
    ) {
        (Ok(slug), Ok(username)) => match state.store.tenant_by_slug(&slug).await {
            Ok(tenant) => match state.store.user_by_username(tenant.id, &username).await {
                Ok(user) => Some(user),
                Err(StoreError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            },
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        },
        _ => None,
    };
    let hash = match &user {
        Some(u) => state.store.password_hash(u.tenant_id, u.id).await?,
        None => None,
    };
    let verified = verify_password(body.password.clone(), hash).await?;
    let user = match user {
        Some(u) if verified => u,
        _ => return Err(wrong_credentials()),
    };
    match user.effective_status(OffsetDateTime::now_utc().date()) {
        EffectiveStatus::Deactivated => {
            return Err(ApiError::Forbidden(
                "this account is deactivated: contact your administrator".into(),
            ));
        }
        EffectiveStatus::Expired => {
            return Err(ApiError::Forbidden(format!(
                "this account expired after {}: contact your administrator",
                user.expires_on.map(|d| d.to_string()).unwrap_or_default()
            )));
        }
        EffectiveStatus::Activated | EffectiveStatus::Active => {}
    }
    if body.app {
        let access = state.store.app_access(user.tenant_id, user.id).await?;
        registrar_domain::lifecycle::may_use_app(access, OffsetDateTime::now_utc().date())?;
    }
    state.limiter.succeeded(&account, &peer.ip().to_string());

    let (secret, csrf) = (new_secret(), new_secret());
    let hours = state.settings.session_hours;
    let expires_at = OffsetDateTime::now_utc() + time::Duration::hours(hours);
    state
        .store
        .create_token(
            &registrar_store::Actor::session_owner(user.id),
            NewToken {
                id: TokenId::new(),
                tenant: Some(user.tenant_id),
                user: Some(user.id),
                kind: TokenKind::Session,
                name: "browser session".into(),
                secret_hash: secret_hash(&secret),
                csrf_hash: Some(secret_hash(&csrf)),
                expires_at: Some(expires_at),
            },
        )
        .await?;
    Ok(SignedIn {
        user,
        secret,
        csrf,
        expires_at,
    })
}

/// Ends the session the request was made with (an API token is revoked through /tokens).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "session",
    responses((status = 204), (status = 401, body = crate::error::Problem)))]
pub async fn logout(State(state): State<AppState>, member: Member) -> ApiResult<Response> {
    sign_out(&state, &member).await?;
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// Ends the member's session, when they came with one.
pub(crate) async fn sign_out(state: &AppState, member: &Member) -> ApiResult<()> {
    if member.token.kind == TokenKind::Session {
        state
            .store
            .revoke_token(
                &registrar_store::Actor::session_owner(member.user.id),
                Some(member.tenant),
                member.token.id,
            )
            .await?;
    }
    Ok(())
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses((status = 200, body = UserOut), (status = 401, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn me(member: Member) -> Json<UserOut> {
    Json(member.user.into())
}
