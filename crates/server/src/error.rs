//! The one place where errors become HTTP: JSON problem bodies (RFC 9457) with a message that
//! says what was wrong and where. Server-side failures are logged in full and answered with a
//! generic body, so no SQL or internal detail reaches a client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registrar_domain::ValidationError;
use registrar_domain::access::AccessError;
use registrar_domain::lifecycle::LifecycleError;
use registrar_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Syntactically broken request (malformed JSON, bad query string).
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed but invalid input; names the field.
    #[error("{detail}")]
    Invalid {
        field: Option<String>,
        detail: String,
    },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{detail}")]
    Conflict { field: String, detail: String },
    /// `If-Match` named another version than the resource's current one; nothing was written.
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    /// A dependency is down (database unreachable); details are logged, not returned.
    #[error("service unavailable")]
    Unavailable(String),
    /// A bug or an unexpected failure; details are logged, not returned.
    #[error("internal error")]
    Internal(String),
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem, e.g. `Conflict`.
    pub title: String,
    pub status: u16,
    /// What was wrong, in words meant for the person who sent the request.
    pub detail: String,
    /// The request field the problem is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::Invalid {
            field: Some(field.into()),
            detail: detail.into(),
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            ApiError::Invalid { field, .. } => field.clone(),
            ApiError::Conflict { field, .. } => Some(field.clone()),
            ApiError::PreconditionFailed(_) => Some("If-Match".into()),
            _ => None,
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::Invalid {
            field: Some(e.field.replace(' ', "_")),
            detail: e.to_string(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => ApiError::NotFound(e.to_string()),
            StoreError::Conflict { field, .. } => ApiError::Conflict {
                field: field.to_owned(),
                detail: e.to_string(),
            },
            StoreError::MissingReference { field, .. } => ApiError::invalid(field, e.to_string()),
            StoreError::Rule(detail) => ApiError::Invalid {
                field: None,
                detail,
            },
            StoreError::Invalid(v) => v.into(),
            StoreError::Lifecycle(l) => l.into(),
            StoreError::Stale { .. } => ApiError::Conflict {
                field: "revision".into(),
                detail: e.to_string(),
            },
            StoreError::VersionMismatch { .. } => ApiError::PreconditionFailed(e.to_string()),
            StoreError::Database(ref db) => match db {
                DatabaseError::PoolTimedOut | DatabaseError::PoolClosed | DatabaseError::Io(_) => {
                    ApiError::Unavailable(e.to_string())
                }
                _ => ApiError::Internal(e.to_string()),
            },
            StoreError::Corrupt { .. } | StoreError::Migrate(_) => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> Self {
        let detail = e.to_string();
        match e {
            LifecycleError::Transition { .. }
            | LifecycleError::BookingNotAwaiting { .. }
            | LifecycleError::CannotAttend { .. } => ApiError::invalid("status", detail),
            LifecycleError::NotInstructorLed => ApiError::invalid("kind", detail),
            LifecycleError::EndsBeforeStart => ApiError::invalid("ends_at", detail),
            LifecycleError::Full { .. } => ApiError::Conflict {
                field: "capacity".into(),
                detail,
            },
            LifecycleError::NoAccess { .. }
            | LifecycleError::AppAccessOff
            | LifecycleError::AppAccessExpired { .. } => ApiError::Forbidden(detail),
            LifecycleError::AppAccessNeedsEmail => ApiError::invalid("email", detail),
            LifecycleError::NoInvitationTemplate => ApiError::Conflict {
                field: "invitation".into(),
                detail,
            },
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        use AccessError as A;
        let detail = e.to_string();
        match e {
            A::UnknownPermission(_) => ApiError::invalid("action", detail),
            A::UnknownReach(_) => ApiError::invalid("reach", detail),
            A::UnknownObjectKind(_) | A::BadObjectRef { .. } => {
                ApiError::invalid("resource", detail)
            }
            A::UnknownEnrollmentStatus(_) => ApiError::invalid("status", detail),
            A::BadRoleCode(_) => ApiError::invalid("code", detail),
            A::UnknownUser(_)
            | A::UnknownGroup(_)
            | A::UnknownObject(_)
            | A::UnknownRole(_)
            | A::UnknownGrant(_)
            | A::UnknownPolicy(_)
            | A::NotAttached { .. } => ApiError::NotFound(detail),
            A::DuplicateRoleCode(_) => ApiError::Conflict {
                field: "code".into(),
                detail,
            },
            A::RoleInUse { .. } => ApiError::Conflict {
                field: "role".into(),
                detail,
            },
            A::NotALearningObject { .. }
            | A::NotASession { .. }
            | A::BadParent { .. }
            | A::GroupCycle { .. }
            | A::NotApplicable { .. }
            | A::NotAScope { .. }
            | A::ScopeNotAllowed { .. }
            | A::Ineligible { .. }
            | A::PrerequisiteMissing { .. }
            | A::TooManyHolders { .. }
            | A::CourseNotPublished { .. }
            | A::FeatureOff { .. }
            | A::LimitedRoleToGroup { .. }
            | A::InactiveManagee { .. }
            | A::SelfManager(_)
            | A::NotOwner(_)
            | A::NoOwnerRole
            | A::OwnerGrantRevoke
            | A::OwnerAsSetting { .. }
            | A::NotACourseLevel { .. } => ApiError::Invalid {
                field: None,
                detail,
            },
            A::SelfGrant { .. }
            | A::SelfStatusChange { .. }
            | A::ExpiredStatusChange { .. }
            | A::OutrankedStatusChange { .. }
            | A::SelfEnrollmentStatus { .. }
            | A::MissingPermission { .. }
            | A::SuperadminOnly { .. }
            | A::NewMemberOfCarryingGroup { .. }
            | A::Delegation { .. } => ApiError::Forbidden(detail),
        }
    }
}

/// The store's database errors, named here only to tell an outage from a bug.
use registrar_store::DatabaseError;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::Internal(detail) => tracing::error!(%detail, "internal error"),
            ApiError::Unavailable(detail) => tracing::warn!(%detail, "dependency unavailable"),
            _ => {}
        }
        let problem = Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: self.to_string(),
            field: self.field(),
        };
        let mut response = (status, axum::Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let ApiError::TooManyRequests { retry_after_secs } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
