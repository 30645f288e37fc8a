//! The HTTP surface: one module per resource, assembled here.

pub mod access;
pub mod audit;
pub mod courses;
pub mod groups;
pub mod health;
pub mod session;
pub mod tenants;
pub mod tokens;
pub mod users;

use registrar_domain::ValidationError;

use crate::error::ApiError;

/// Parses an id taken from the URL path, naming it when malformed.
pub(crate) fn path_id<T>(
    parse: fn(&str) -> Result<T, ValidationError>,
    raw: &str,
) -> Result<T, ApiError> {
    parse(raw).map_err(|e| ApiError::BadRequest(format!("{e} (in the URL path)")))
}
