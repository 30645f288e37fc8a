//! The SCIM 2.0 people-data feed (RFC 7643/7644) at `/scim/v2`: Users (with the enterprise
//! extension's manager) and Groups, over the same store writes and engine decisions as the JSON
//! API. A feed token is an ordinary API token, so it is bound to one tenant and acts as one user,
//! whose permissions decide every feed write.
//!
//! Errors here are SCIM error bodies, not problem documents: identity providers parse `scimType`.

pub mod filter;
mod groups;
pub mod leaver;
pub mod patch;
pub mod schema;
mod users;

use axum::Router;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::Member;
use crate::state::AppState;

pub const CONTENT_TYPE: &str = "application/scim+json";

/// What went wrong, in the terms of RFC 7644 §3.12.
#[derive(Debug, thiserror::Error)]
pub enum ScimError {
    #[error("{0}")]
    InvalidFilter(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    NoTarget(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    InvalidSyntax(String),
    #[error("{0}")]
    Mutability(String),
    #[error("{0}")]
    Uniqueness(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    NotImplemented(String),
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<registrar_store::StoreError> for ScimError {
    fn from(e: registrar_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<registrar_domain::ValidationError> for ScimError {
    fn from(e: registrar_domain::ValidationError) -> Self {
        ScimError::InvalidValue(e.to_string())
    }
}

impl From<registrar_domain::access::AccessError> for ScimError {
    fn from(e: registrar_domain::access::AccessError) -> Self {
        ApiError::from(e).into()
    }
}

impl ScimError {
    pub fn status(&self) -> StatusCode {
        match self {
            ScimError::InvalidFilter(_)
            | ScimError::InvalidPath(_)
            | ScimError::NoTarget(_)
            | ScimError::InvalidValue(_)
            | ScimError::InvalidSyntax(_)
            | ScimError::Mutability(_) => StatusCode::BAD_REQUEST,
            ScimError::Uniqueness(_) => StatusCode::CONFLICT,
            ScimError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ScimError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            // SCIM has no 422: a well-formed but invalid value is a 400 `invalidValue`.
            ScimError::Api(ApiError::Invalid { .. }) => StatusCode::BAD_REQUEST,
            ScimError::Api(e) => e.status(),
        }
    }

    pub fn scim_type(&self) -> Option<&'static str> {
        match self {
            ScimError::InvalidFilter(_) => Some("invalidFilter"),
            ScimError::InvalidPath(_) => Some("invalidPath"),
            ScimError::NoTarget(_) => Some("noTarget"),
            ScimError::InvalidValue(_) | ScimError::Api(ApiError::Invalid { .. }) => {
                Some("invalidValue")
            }
            ScimError::InvalidSyntax(_) | ScimError::Api(ApiError::BadRequest(_)) => {
                Some("invalidSyntax")
            }
            ScimError::Mutability(_) => Some("mutability"),
            ScimError::Uniqueness(_) => Some("uniqueness"),
            ScimError::Api(ApiError::Conflict { field, .. }) if field != "revision" => {
                Some("uniqueness")
            }
            ScimError::PreconditionFailed(_) | ScimError::NotImplemented(_) | ScimError::Api(_) => {
                None
            }
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Server-side failures keep their detail in the log, as the JSON API does.
        let detail = match &self {
            ScimError::Api(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => {
                tracing::error!(error = ?e, "scim request failed");
                e.to_string()
            }
            other => other.to_string(),
        };
        let mut body = json!({
            "schemas": [schema::ERROR],
            "status": status.as_u16().to_string(),
            "detail": detail,
        });
        if let Some(t) = self.scim_type() {
            body["scimType"] = json!(t);
        }
        let mut response = (status, axum::Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        response
    }
}

pub type ScimResult<T> = Result<T, ScimError>;

/// The authenticated feed and the absolute base URL its resources are located under.
#[derive(Debug, Clone)]
pub struct Feed {
    pub member: Member,
    pub base: String,
}

impl FromRequestParts<AppState> for Feed {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ScimResult<Self> {
        let member = Member::from_request_parts(parts, state).await?;
        // The feed is for integrations: a browser session (cookie or its secret as a bearer)
        // is no identity provider, and a page must not be able to drive bulk provisioning.
        if member.token.kind != registrar_store::TokenKind::Api {
            return Err(ApiError::Forbidden(
                "the SCIM feed takes an API token (Authorization: Bearer); browser sessions \
                 are refused"
                    .into(),
            )
            .into());
        }
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let scheme = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .filter(|p| *p == "https")
            .unwrap_or("http");
        Ok(Feed {
            member,
            base: format!("{scheme}://{host}/scim/v2"),
        })
    }
}

/// Query parameters, with a malformed one answered as a SCIM error.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ScimResult<Self> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Params(q))
            .map_err(|e| ScimError::InvalidValue(e.body_text()))
    }
}

/// A JSON body, whatever SCIM or JSON content type it came with.
#[derive(Debug)]
pub struct Body(pub Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = ScimError;

    async fn from_request(req: axum::extract::Request, state: &S) -> ScimResult<Self> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ScimError::Api(ApiError::PayloadTooLarge(e.body_text())))?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ScimError::InvalidSyntax(format!("the body is not JSON: {e}")))?;
        if !value.is_object() {
            return Err(ScimError::InvalidSyntax(
                "the body must be a JSON object".into(),
            ));
        }
        Ok(Body(value))
    }
}

/// A SCIM answer: the JSON with its content type and, for one resource, its ETag and location.
pub fn resource_response(status: StatusCode, resource: Value) -> Response {
    let mut response = (status, axum::Json(&resource)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Some(v) = resource["meta"]["version"]
        .as_str()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        headers.insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Some(l) = resource["meta"]["location"]
            .as_str()
            .and_then(|l| HeaderValue::from_str(l).ok())
    {
        headers.insert(header::LOCATION, l);
    }
    response
}

pub(crate) use crate::dto::timestamp;

pub use crate::extract::etag;

/// Refuses a write when `If-Match` names another version than the current one. Returns the
/// version the write must still find when it commits (`None` without a condition or with `*`).
pub fn check_if_match(headers: &HeaderMap, version: i64) -> ScimResult<Option<i64>> {
    let Some(wanted) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let wanted = wanted.to_str().unwrap_or_default();
    let current = etag(version);
    if wanted.trim() == "*" {
        Ok(None)
    } else if crate::extract::if_match_names(wanted, version) {
        Ok(Some(version))
    } else {
        Err(ScimError::PreconditionFailed(format!(
            "If-Match {wanted:?} does not match the current version {current}"
        )))
    }
}

/// Whether `If-None-Match` already names the current version (the client's copy is fresh).
fn not_modified(headers: &HeaderMap, version: i64) -> bool {
    let current = etag(version);
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == current))
}

/// `GET` list parameters (RFC 7644 §3.4.2).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

impl ListQuery {
    /// The same parameters from a `POST .search` body (RFC 7644 §3.4.3).
    pub fn from_search(body: &Value) -> ScimResult<Self> {
        let listed = filter::field(body, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(schema::SEARCH)));
        if !listed {
            return Err(ScimError::InvalidSyntax(format!(
                "a search body names the schema {:?}",
                schema::SEARCH
            )));
        }
        let text = |name: &str| -> ScimResult<Option<String>> {
            match filter::field(body, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) => Ok(Some(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                )),
                Some(other) => Err(ScimError::InvalidValue(format!("{name} cannot be {other}"))),
            }
        };
        let number = |name: &str| -> ScimResult<Option<i64>> {
            match filter::field(body, name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                    ScimError::InvalidValue(format!("{name} must be an integer, not {v}"))
                }),
            }
        };
        Ok(ListQuery {
            filter: text("filter")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            start_index: number("startIndex")?,
            count: number("count")?,
            attributes: text("attributes")?,
            excluded_attributes: text("excludedAttributes")?,
        })
    }
}

/// `attributes` and `excludedAttributes` for single-resource answers.
/// The answer to a GET of one resource: 304 when the client already holds this version, else
/// the resource cut to the attributes asked for.
pub fn read_response(
    headers: &HeaderMap,
    version: i64,
    resource: Value,
    p: &Projection,
) -> Response {
    if not_modified(headers, version) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let cut = project(
        resource,
        p.attributes.as_deref(),
        p.excluded_attributes.as_deref(),
    );
    resource_response(StatusCode::OK, cut)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Projection {
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

fn split(list: Option<&str>) -> Vec<String> {
    list.unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Cuts a resource down to the attributes asked for; `id`, `schemas` and `meta` always stay.
fn project(resource: Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let Value::Object(mut map) = resource else {
        return resource;
    };
    let always = |k: &str| {
        ["id", "schemas", "meta"]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(k))
    };
    let name_of = |a: &str| {
        // A URN-qualified name keeps its last part: `urn:...:User:userName` is `userName`.
        let a = a.rsplit_once(':').map_or(a, |(uri, rest)| {
            if uri.starts_with("urn:") && !rest.contains('.') {
                rest
            } else {
                a
            }
        });
        a.split('.').next().unwrap_or(a).to_owned()
    };
    let wanted = split(attributes);
    if !wanted.is_empty() {
        let names: Vec<String> = wanted.iter().map(|a| name_of(a)).collect();
        map.retain(|k, _| {
            always(k)
                || names.iter().any(|n| n.eq_ignore_ascii_case(k))
                // `urn:...:User:manager` keeps the extension object it is in.
                || wanted.iter().any(|a| {
                    a.len() > k.len() && a.get(..k.len()).is_some_and(|p| p.eq_ignore_ascii_case(k))
                })
        });
    }
    for a in split(excluded) {
        let n = name_of(&a);
        map.retain(|k, _| always(k) || !k.eq_ignore_ascii_case(&n));
    }
    Value::Object(map)
}

/// Filters, sorts and pages resources already cut to what the caller may see.
pub fn list_response(mut resources: Vec<Value>, q: &ListQuery) -> ScimResult<Response> {
    if let Some(raw) = q.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        let f = filter::parse(raw)?;
        let mut kept = Vec::with_capacity(resources.len());
        for r in resources {
            if filter::matches(&r, &f)? {
                kept.push(r);
            }
        }
        resources = kept;
    }
    if let Some(by) = q.sort_by.as_deref().filter(|s| !s.trim().is_empty()) {
        let path = filter::parse_attr_path(by)?;
        let descending = match q.sort_order.as_deref() {
            None => false,
            Some(o) if o.eq_ignore_ascii_case("ascending") => false,
            Some(o) if o.eq_ignore_ascii_case("descending") => true,
            Some(o) => {
                return Err(ScimError::InvalidValue(format!(
                    "sortOrder {o:?} is not ascending or descending"
                )));
            }
        };
        filter::sort(&mut resources, &path, descending);
    }
    let total = resources.len();
    // RFC 7644 §3.4.2.4: a startIndex below 1 means 1, a negative count means 0.
    let start = q.start_index.unwrap_or(1).max(1);
    let count = q
        .count
        .unwrap_or(schema::MAX_RESULTS as i64)
        .clamp(0, schema::MAX_RESULTS as i64);
    let page: Vec<Value> = resources
        .into_iter()
        .skip(usize::try_from(start - 1).unwrap_or(usize::MAX))
        .take(usize::try_from(count).unwrap_or_default())
        .map(|r| project(r, q.attributes.as_deref(), q.excluded_attributes.as_deref()))
        .collect();
    Ok(resource_response(
        StatusCode::OK,
        json!({
            "schemas": [schema::LIST],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        }),
    ))
}

fn single(items: Vec<Value>, kind: &str, id: &str) -> ScimResult<Response> {
    items
        .into_iter()
        .find(|v| v["id"] == id)
        .map(|v| resource_response(StatusCode::OK, v))
        .ok_or_else(|| ApiError::NotFound(format!("{kind} {id:?} not found")).into())
}

async fn service_provider_config(feed: Feed) -> Response {
    resource_response(StatusCode::OK, schema::service_provider_config(&feed.base))
}

async fn schemas(feed: Feed, Params(q): Params<ListQuery>) -> ScimResult<Response> {
    list_response(schema::schemas(&feed.base), &q)
}

async fn schema_by_id(
    feed: Feed,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ScimResult<Response> {
    single(schema::schemas(&feed.base), "schema", &id)
}

async fn resource_types(feed: Feed, Params(q): Params<ListQuery>) -> ScimResult<Response> {
    list_response(schema::resource_types(&feed.base), &q)
}

async fn resource_type_by_id(
    feed: Feed,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ScimResult<Response> {
    single(schema::resource_types(&feed.base), "resource type", &id)
}

/// Searching Users and Groups in one request is optional (RFC 7644 §3.4.3); a feed asks one
/// resource type at a time.
async fn search_everything() -> ScimError {
    ScimError::NotImplemented(
        "search one resource type at a time: POST /Users/.search or /Groups/.search".into(),
    )
}

/// The feed's routes, to be nested at `/scim/v2`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema_by_id))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type_by_id))
        .route("/.search", axum::routing::post(search_everything))
        .route("/Users", get(users::list).post(users::create))
        .route("/Users/.search", axum::routing::post(users::search))
        .route(
            "/Users/{id}",
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route("/Groups", get(groups::list).post(groups::create))
        .route("/Groups/.search", axum::routing::post(groups::search))
        .route(
            "/Groups/{id}",
            get(groups::get)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .fallback(|| async { ScimError::Api(ApiError::NotFound("no such SCIM endpoint".into())) })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn projection_keeps_what_is_asked_and_the_always_returned() {
        let user = json!({
            "id": "1", "schemas": [], "meta": {}, "userName": "ann", "displayName": "Ann",
            "name": {"givenName": "Ann"},
            schema::ENTERPRISE_USER: {"manager": {"value": "2"}},
        });
        let asked = format!(
            "userName,name.givenName,{}:manager,é€x",
            schema::ENTERPRISE_USER
        );
        let cut = project(user.clone(), Some(&asked), None);
        let mut keys: Vec<&String> = cut.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "id",
                "meta",
                "name",
                "schemas",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "userName"
            ]
        );
        let cut = project(user, None, Some("displayName,NAME"));
        assert!(cut.get("displayName").is_none() && cut.get("name").is_none());
        assert_eq!(cut["userName"], "ann");
    }
}
