//! Request extractors that fail with the API's own problem bodies instead of axum's plain text:
//! JSON and query bodies, and the authenticated caller.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use registrar_domain::ids::{TenantId, TokenId};
use registrar_domain::user::User;
use registrar_store::{Actor, TokenKind, TokenRecord};
use serde::de::DeserializeOwned;

use crate::auth::secret_hash;
use crate::error::ApiError;
use crate::state::AppState;

/// The weak ETag of a resource at `version` (the revision of its last change), as the JSON API
/// and the SCIM feed send it.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// Whether an `If-Match` value (`*`, or entity tags, weak or strong, comma-separated) names
/// `version`.
pub fn if_match_names(value: &str, version: i64) -> bool {
    let current = etag(version);
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    value.trim() == "*" || value.split(',').any(|t| strip(t) == strip(&current))
}

/// A JSON body with the `ETag` of the version it shows.
pub type Tagged<T> = ([(header::HeaderName, String); 1], Json<T>);

pub fn tagged<T>(version: i64, body: T) -> Tagged<T> {
    ([(header::ETAG, etag(version))], Json(body))
}

/// The request's `If-Match` header, if it has one: the condition of a conditional write.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(IfMatch(parts.headers.get(header::IF_MATCH).map(|v| {
            // A value that is not text names no version: it can only fail.
            v.to_str().unwrap_or("\u{0}").to_owned()
        })))
    }
}

impl IfMatch {
    /// Whether the write is conditional (`*` is not: any version will do).
    fn is_conditional(&self) -> bool {
        self.0.as_deref().is_some_and(|v| v.trim() != "*")
    }

    /// The version a conditional write must still find, given the resource's `current` one:
    /// `None` without a condition, 412 when the header names another version.
    pub fn expect(&self, current: i64) -> Result<Option<i64>, ApiError> {
        match self.0.as_deref() {
            Some(wanted) if self.is_conditional() => {
                if if_match_names(wanted, current) {
                    Ok(Some(current))
                } else {
                    Err(ApiError::PreconditionFailed(format!(
                        "If-Match {wanted:?} does not match the current version {}: read it again",
                        etag(current)
                    )))
                }
            }
            _ => Ok(None),
        }
    }
}

pub const SESSION_COOKIE: &str = "registrar_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// `axum::Json` with rejections mapped to problem bodies that keep serde's line/column.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge("request body is larger than the server accepts".into())
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
            "expected a body with content-type application/json".into(),
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::Invalid {
            field: serde_field(&text),
            detail: text,
        },
        _ => ApiError::BadRequest(text),
    }
}

/// serde names the offending field in its message (`unknown field `x``, `missing field `x``);
/// lift it into the problem's `field` so clients need not parse prose.
fn serde_field(text: &str) -> Option<String> {
    ["unknown field `", "missing field `"]
        .iter()
        .find_map(|marker| {
            let rest = &text[text.find(marker)? + marker.len()..];
            Some(rest[..rest.find('`')?].to_owned())
        })
}

/// `axum::extract::Query` with rejections mapped to problem bodies.
#[derive(Debug, Clone, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| ApiError::BadRequest(e.body_text()))
    }
}

/// Whoever the request authenticates as.
#[derive(Debug, Clone)]
pub enum Principal {
    Member(Box<Member>),
    Operator(Operator),
}

/// A user of a tenant, through a session or an API token. Every tenant-owned read and write takes
/// its tenant from here, never from the request.
#[derive(Debug, Clone)]
pub struct Member {
    pub tenant: TenantId,
    pub user: User,
    pub token: TokenRecord,
}

/// An operator token: may create and manage tenants, and see nothing inside them.
#[derive(Debug, Clone)]
pub struct Operator {
    pub token: TokenId,
}

impl Operator {
    pub fn actor(&self) -> Actor {
        Actor::operator(self.token)
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The value of the cookie `name` in a request's headers.
pub(crate) fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

fn unauthenticated() -> ApiError {
    ApiError::Unauthenticated("missing, invalid or expired credentials".into())
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (secret, via_cookie) = match (bearer(parts), cookie(&parts.headers, SESSION_COOKIE)) {
            (Some(token), _) => (token, false),
            (None, Some(cookie)) => (cookie, true),
            (None, None) => return Err(unauthenticated()),
        };
        let token = state
            .store
            .token_by_secret_hash(&secret_hash(secret))
            .await?
            .ok_or_else(unauthenticated)?;
        // A cookie is sent by the browser on its own, so state-changing requests must also
        // prove they come from our page: the CSRF secret handed out at login, in a header.
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if via_cookie && !safe {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(secret_hash);
            if presented.is_none() || presented != token.csrf_hash {
                return Err(ApiError::Forbidden(format!(
                    "missing or wrong {CSRF_HEADER} header for a cookie-authenticated request"
                )));
            }
        }
        match (token.kind, token.tenant, token.user) {
            (TokenKind::Operator, None, None) => {
                Ok(Principal::Operator(Operator { token: token.id }))
            }
            (TokenKind::Session | TokenKind::Api, Some(_), Some(_)) => {
                Ok(Principal::Member(Box::new(member_of(state, token).await?)))
            }
            _ => Err(ApiError::Internal(format!(
                "token {} has an inconsistent owner",
                token.id
            ))),
        }
    }
}

/// The member a person's token stands for, while their account may log in: the API's
/// extractors and the admin pages' `Viewer` alike.
pub(crate) async fn member_of(state: &AppState, token: TokenRecord) -> Result<Member, ApiError> {
    let (Some(tenant), Some(user)) = (token.tenant, token.user) else {
        return Err(unauthenticated());
    };
    let user = state.store.user(tenant, user).await?;
    let today = time::OffsetDateTime::now_utc().date();
    if !user.effective_status(today).may_log_in() {
        return Err(ApiError::Unauthenticated(
            "this account is deactivated or expired; contact your administrator".into(),
        ));
    }
    Ok(Member {
        tenant,
        user,
        token,
    })
}

impl FromRequestParts<AppState> for Member {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Principal::from_request_parts(parts, state).await? {
            Principal::Member(m) => Ok(*m),
            Principal::Operator(_) => Err(ApiError::Forbidden(
                "operator tokens manage tenants only; use a token of a user of the tenant".into(),
            )),
        }
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Principal::from_request_parts(parts, state).await? {
            Principal::Operator(o) => Ok(o),
            Principal::Member(_) => Err(ApiError::Forbidden(
                "managing tenants needs an operator token".into(),
            )),
        }
    }
}
